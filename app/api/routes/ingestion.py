"""Upload export files and see import batches."""

from __future__ import annotations

import re
import uuid
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile

from app.api.deps import PageDep, SessionDep, SettingsDep, require
from app.api.errors import NotFound, PayloadTooLarge, Unavailable
from app.api.schemas import ERROR_RESPONSES, ImportBatchOut, ImportOut, Page, RecordKindName
from app.auth import Permission, Principal
from data.storage import ImportBatch
from data.storage import reads as q

router = APIRouter(prefix="/api/imports", tags=["ingestion"], responses=ERROR_RESPONSES)

CHUNK = 1024 * 1024
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


async def _save(upload: UploadFile, directory: FilePath, *, limit: int) -> FilePath:
    name = SAFE_NAME.sub("_", FilePath(upload.filename or "upload.csv").name)[:120] or "upload.csv"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    written = 0
    with path.open("wb") as out:
        while chunk := await upload.read(CHUNK):
            written += len(chunk)
            if written > limit:
                out.close()
                path.unlink(missing_ok=True)
                raise PayloadTooLarge(limit)
            out.write(chunk)
    return path


@router.post("", response_model=ImportOut, status_code=201)
async def upload_file(
    request: Request,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require(Permission.INGEST))],
    file: Annotated[UploadFile, File(description="CSV, XLSX or JSON export.")],
    kind: Annotated[
        RecordKindName | None, Form(description="Record kind; detected from headers if absent.")
    ] = None,
    mapping: Annotated[
        UploadFile | None, File(description="Optional column-mapping file (JSON or TOML).")
    ] = None,
) -> ImportOut:
    """Load one export file (all-or-nothing; a file already imported loads nothing)."""
    from starlette.concurrency import run_in_threadpool

    try:
        from data import ingest_file
    except ImportError as exc:
        raise Unavailable("Ingestion is not installed in this build.") from exc
    limit = settings.api.max_upload_bytes
    directory = settings.work_dir / "uploads" / uuid.uuid4().hex
    path = await _save(file, directory, limit=limit)
    mapping_path = await _save(mapping, directory / "mapping", limit=limit) if mapping else None
    result = await run_in_threadpool(
        ingest_file,
        request.app.state.engine,
        path,
        kind=kind,
        mapping=mapping_path,
        progress=None,
        record_failure=True,
    )
    return ImportOut(
        batch_id=getattr(result, "batch_id", None),
        file_name=path.name,
        kind=str(getattr(result, "kind", kind or "")),
        rows=int(getattr(result, "rows", 0)),
        already_imported=bool(getattr(result, "already_imported", False)),
    )


@router.get("", response_model=Page[ImportBatchOut])
def list_batches(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.IMPORTS_READ))],
    page: PageDep,
    status: Annotated[str | None, Query(pattern="^(importing|imported|failed)$")] = None,
    kind: Annotated[RecordKindName | None, Query()] = None,
) -> Page[ImportBatchOut]:
    """Import batches, newest first, with their outcome and error."""
    rows, total = q.paged(
        session,
        q.import_batches(session, status=status, kind=kind),
        limit=page.limit,
        offset=page.offset,
    )
    return Page[ImportBatchOut](
        items=[ImportBatchOut.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{batch_id}", response_model=ImportBatchOut)
def get_batch(
    batch_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.IMPORTS_READ))],
) -> ImportBatchOut:
    """One import batch and, when it failed, what was wrong and where."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound(f"No import batch {batch_id}.")
    return ImportBatchOut.model_validate(batch)
