"""Settings: environment overrides and refusal of placeholder secrets."""

import pytest
from pydantic import ValidationError

from app.settings import Settings


def test_placeholder_secret_refused_in_production():
    """Production settings with the placeholder secret fail with a message naming the variable."""
    with pytest.raises(ValidationError, match="CAREROUNDS_SECRET_KEY"):
        Settings(environment="production")


def test_nested_audit_tolerance_from_environment(monkeypatch):
    """CAREROUNDS_AUDIT__SHORT_CALL_RATIO reaches the audit tolerances."""
    monkeypatch.setenv("CAREROUNDS_AUDIT__SHORT_CALL_RATIO", "0.8")
    assert Settings().audit.tolerances().short_call_ratio == 0.8


def test_default_database_is_embedded_sqlite():
    """With no environment, the database is the embedded SQLite file."""
    assert Settings().database_url.startswith("sqlite:///")
