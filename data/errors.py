"""Errors raised by the data layer. None carries an HTTP code; app maps them."""

from __future__ import annotations


class DataError(Exception):
    """Base class for every error the data layer raises on purpose."""


class IngestError(DataError, ValueError):
    """A file could not be ingested. Carries where: file, row (1-based, header = row 1), field."""

    def __init__(
        self, message: str, *, file: str, row: int | None = None, field: str | None = None
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.field = field
        where = [f"file {file}"]
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}")


class UnknownColumnError(IngestError, KeyError):
    """A required canonical column is absent from the file after mapping."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return Exception.__str__(self)


class MappingError(DataError, ValueError):
    """A column-mapping file is itself malformed."""


class StorageError(DataError):
    """The database refused an operation or is not at the expected schema."""
