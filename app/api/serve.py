"""Run the service: uvicorn with job workers beside it, or a worker on its own."""

from __future__ import annotations

import logging
import signal
import threading

from app.settings import Settings
from data.storage import upgrade_schema

log = logging.getLogger(__name__)


def serve(settings: Settings, *, host: str, port: int, workers: int | None = None) -> None:
    """Migrate the schema, start the job workers, and serve until interrupted."""
    import uvicorn

    from app.api import create_app
    from app.jobs.runner import Worker

    upgrade_schema(settings.database_url)
    app = create_app(settings)
    count = settings.api.serve_workers if workers is None else workers
    job_workers = [Worker(settings) for _ in range(max(0, count))]
    threads = [w.start_thread() for w in job_workers]
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
    finally:
        for w in job_workers:
            w.stop_event.set()
        for t in threads:
            t.join(timeout=15)


def run_worker(settings: Settings) -> None:
    """Run one job worker in the foreground until SIGINT or SIGTERM."""
    from app.jobs.runner import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    upgrade_schema(settings.database_url)
    worker = Worker(settings)

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping after the current step", signum)
        worker.stop_event.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
    worker.run_forever()
