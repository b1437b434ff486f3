"""Schemathesis against the live OpenAPI: every operation, each role; no 5xx, no schema drift."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

from tests.app.api.conftest import auth

pytestmark = pytest.mark.slow

schemathesis = pytest.importorskip("schemathesis")
from schemathesis import checks  # noqa: E402

# ~30 operations × 40 examples ≈ 1,100 cases per role (RELIABILITY.md test 2: ≥ 1,000).
EXAMPLES_PER_OPERATION = int(os.environ.get("CAREROUNDS_FUZZ_EXAMPLES", "40"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
# Revoking tokens by fuzzed id would revoke the fuzzer's own token; tested in the matrix.
SKIPPED = {"POST /api/admin/tokens/{token_id}/revoke"}


@pytest.fixture
def database_url(tmp_path) -> str:
    """The fuzz runs on SQLite (the matrix and API tests cover PostgreSQL)."""
    return f"sqlite:///{tmp_path / 'fuzz.sqlite'}"


@pytest.mark.parametrize(
    "role", ["broker", "contract_manager", "analyst", "admin", "service_account", "anonymous"]
)
def test_every_operation_holds_its_contract(app, tokens, two_providers_same_street, role):
    """Generated requests get no server error and responses match the documented schemas."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {} if role == "anonymous" else auth(tokens.by_role[role])
    cases = 0
    failures: list[str] = []

    def fuzz(operation, label: str):  # type: ignore[no-untyped-def]
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case) -> None:  # type: ignore[no-untyped-def]
            nonlocal cases
            cases += 1
            try:
                case.call_and_validate(headers=headers, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:  # collect every failing operation
                failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:400]}")

        run()

    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if label not in SKIPPED:
            fuzz(operation, label)
    print(f"schemathesis {role}: {cases} cases, {len(failures)} failures")
    assert cases >= 1000 or EXAMPLES_PER_OPERATION < 40
    assert sorted(set(failures))[:10] == []
