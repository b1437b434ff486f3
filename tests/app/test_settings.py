"""Settings: environment overrides and refusal of placeholder secrets."""

import pytest
from pydantic import ValidationError

from app.settings import Settings


def test_placeholder_secret_refused_in_production():
    """Production settings with the placeholder secret fail with a message naming the variable."""
    with pytest.raises(ValidationError, match="CAREROUNDS_SECRET_KEY"):
        Settings(environment="production")


def test_nested_audit_tolerance_from_environment(monkeypatch):
    """CAREROUNDS_AUDIT__TOLERANCES__SHORT_CALL_RATIO reaches the audit tolerances."""
    monkeypatch.setenv("CAREROUNDS_AUDIT__TOLERANCES__SHORT_CALL_RATIO", "0.8")
    tolerances = Settings().audit.tolerances
    assert tolerances.short_call_ratio == 0.8
    assert tolerances.short_call_min == 15.0  # the rest keep their defaults


def test_invalid_tolerance_refused(monkeypatch):
    """A tolerance outside its range is refused when settings are read, naming the field."""
    monkeypatch.setenv("CAREROUNDS_AUDIT__TOLERANCES__SHORT_CALL_RATIO", "1.5")
    with pytest.raises(ValidationError, match="short_call_ratio"):
        Settings()


def test_default_database_is_embedded_sqlite():
    """With no environment, the database is the embedded SQLite file."""
    assert Settings().database_url.startswith("sqlite:///")
