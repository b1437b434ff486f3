"""Hypothesis-generated malformed exports: a clear IngestError or a clean load, never damage.

RELIABILITY.md #1: files tried, unhandled exceptions (0), partial writes (0: the digest of every
table is unchanged after a rejection), and every rejection names file and row (and the field,
unless the header row itself is what is missing).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from data.errors import IngestError
from data.ingestion import ingest_file
from data.records import RECORD_KINDS
from data.storage import database_digest, record_table

KINDS = ("ecm_visit", "care_note", "package")
CELL_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30
) | st.sampled_from(
    [
        "",
        " ",
        "2026-02-30 10:00",
        "25:61",
        "-1",
        "1e309",
        "nan",
        "V1",
        "completed",
        "\x00",
        '"',
        "a\nb",
    ]
)


@st.composite
def mutations(draw):
    """One to three edits: of cells, rows and columns, then of the raw bytes."""
    edits = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(
                [
                    "cell",
                    "huge",
                    "dup_row",
                    "drop_column",
                    "extra_cell",
                    "drop_cell",
                    "truncate",
                    "bytes",
                ]
            )
        )
        edits.append(
            (
                kind,
                draw(st.integers(0, 10_000)),
                draw(st.integers(0, 10_000)),
                draw(CELL_TEXT),
                draw(st.binary(min_size=1, max_size=4)),
            )
        )
    return edits


def _apply(table: list[list[str]], edits) -> tuple[list[list[str]], list]:
    byte_edits = []
    for kind, a, b, cell, raw in edits:
        row, column = a % len(table), b % len(table[0])
        if kind == "cell":
            table[row][column % len(table[row])] = cell
        elif kind == "huge":
            table[row][column % len(table[row])] = "x" * (4_000 + a * 30)
        elif kind == "dup_row" and len(table) > 1:
            table.append(list(table[1 + a % (len(table) - 1)]))
        elif kind == "drop_column":
            table = [r[:column] + r[column + 1 :] for r in table]
        elif kind == "extra_cell":
            table[row] = [*table[row], cell]
        elif kind == "drop_cell" and table[row]:
            table[row] = table[row][:-1]
        elif kind in ("truncate", "bytes"):
            byte_edits.append((kind, a, raw))
    return table, byte_edits


def _write(path: Path, table: list[list[str]], byte_edits, as_json: bool) -> None:
    if as_json:
        header = table[0]
        lines = [json.dumps(dict(zip(header, r, strict=False))) for r in table[1:]]
        content = ("\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass")
    else:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(table)
        content = buffer.getvalue().encode("utf-8", errors="surrogatepass")
    for kind, at, raw in byte_edits:
        cut = at % (len(content) + 1)
        content = content[:cut] if kind == "truncate" else content[:cut] + raw + content[cut:]
    path.write_bytes(content)


def _forget(engine, batch_id: int, kind: str) -> None:
    """Remove what a successful load wrote, so the next example starts from the same state."""
    with engine.begin() as conn:
        conn.execute(
            text(f"DELETE FROM {record_table(kind).name} WHERE import_batch_id = {batch_id}")
        )
        conn.execute(text(f"DELETE FROM import_batches WHERE id = {batch_id}"))


def _check_malformed(
    engine, folder: Path, rows: dict, kind: str, edits, as_json: bool, tally: dict
) -> None:
    columns = list(RECORD_KINDS[kind].column_names)
    table = [columns] + [[r.get(c, "") for c in columns] for r in rows[kind]]
    table, byte_edits = _apply([list(r) for r in table], edits)
    path = folder / (f"{kind}s.jsonl" if as_json else f"{kind}s.csv")
    _write(path, table, byte_edits, as_json)
    before = database_digest(engine)
    tally["tried"] += 1
    try:
        result = ingest_file(engine, path, kind=kind)
    except IngestError as error:
        tally["rejected"] += 1
        assert error.file == path.name
        assert error.row is not None and error.row >= 1, str(error)
        if error.field is None:
            # Only the header row, or a record too broken to name any column, lacks a field.
            tally["without_field"] += 1
            assert error.row == 1 or "JSON" in str(error), str(error)
        assert "Private" not in str(error)  # care-note text never quoted
        assert database_digest(engine) == before, f"partial write after: {error}"
    else:
        tally["loaded"] += 1
        if not result.already_imported:
            _forget(engine, result.batch_id, kind)


@pytest.fixture
def reference_data(engine, load_kinds):
    """Providers to calls stored, so visits, notes and packages can reference them."""
    load_kinds(engine, kinds=("provider", "carer", "service_user", "package", "call"))
    return engine


def _run(reference_data, tmp_path, two_providers_same_street, examples: int) -> dict:
    tally = {"tried": 0, "rejected": 0, "loaded": 0, "without_field": 0}

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(kind=st.sampled_from(KINDS), edits=mutations(), as_json=st.booleans())
    def property_(kind, edits, as_json):
        _check_malformed(
            reference_data, tmp_path, two_providers_same_street, kind, edits, as_json, tally
        )

    property_()
    return tally


def test_malformed_files_never_damage_the_database(
    reference_data, tmp_path, two_providers_same_street
):
    """~100 generated malformed files: IngestError naming file/row/field, or a clean load."""
    tally = _run(reference_data, tmp_path, two_providers_same_street, examples=100)
    assert tally["tried"] >= 100
    assert tally["rejected"] > tally["tried"] // 3


@pytest.mark.slow
def test_a_thousand_malformed_files(reference_data, tmp_path, two_providers_same_street, capsys):
    """RELIABILITY #1 at scale: >= 1,000 generated malformed files per database."""
    tally = _run(reference_data, tmp_path, two_providers_same_street, examples=1_000)
    with capsys.disabled():
        print(f"\nmalformed files on {reference_data.dialect.name}: {tally}")
    assert tally["tried"] >= 1_000
