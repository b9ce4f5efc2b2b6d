"""Rows with fixed columns, written as a table for people, CSV for spreadsheets or JSON Lines
for programs: the `--format` of the reading commands (`events`, `list`, `diff`, `mutuals`,
`history`, ...).

    from watcher.output_formats import format_option, write_rows

    @cli.command()
    @format_option()
    def members(fmt: str) -> None:
        rows = ((m.id, m.handle, m.follower_count) for m in ...)   # any iterable, lazily
        written = write_rows(rows, ("id", "handle", "follower_count"), fmt, sys.stdout)
        if not written:
            click.echo("no members", err=True)   # the empty state is the command's to word

Rows are sequences of values in the order of `columns` (tuples: a million of them cost far
less than dicts). Every format streams: rows are consumed as they come and written in
chunks, so a million-row export holds one chunk in memory.

* `table`: a header of the column names (upper case, `_` as a space), then the rows, aligned.
  A table cannot be aligned to its widest cell without holding every row, so widths are
  settled a chunk (`CHUNK` rows) at a time and only ever grow: the first chunk's rows align
  exactly, and a wider cell later widens its column from its chunk on. A cell is cut at
  `CELL_MAX` characters (`…`). Every cell passes through `printable`: a stranger's name
  cannot drive the terminal or break a row. None shows as `-`, booleans as `yes` / `no`.
* `csv`: exactly one header row of `columns`, then one record per row (RFC 4180: commas,
  double quotes where needed, CRLF line ends). None is an empty cell, booleans `true` /
  `false`. Text cells a spreadsheet would run as a formula (starting with `=`, `+`, `-`,
  `@`, a tab or a carriage return) get a leading `'`, as OWASP recommends against CSV
  injection; control characters are written as visible escapes (`\\n`, `\\x1b`), so a record
  is always one line. Numbers are written as they are (a negative count stays a number).
* `json`: one object per line with exactly the keys of `columns` (JSON Lines); None is
  `null`. Characters a terminal acts on are escaped (`printable.json_line`): same value.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any, Literal, Protocol, TypeVar, cast, get_args

import click

from watcher.printable import json_line, printable

Format = Literal["table", "csv", "json"]
FORMATS: tuple[str, ...] = get_args(Format)
# Rows consumed and written at a time: the memory an export holds, whatever its length.
CHUNK = 1000
# The longest cell a table shows (a hostile 10,000-character name must not make every row of
# the table that wide).
CELL_MAX = 120
# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

F = TypeVar("F", bound=Callable[..., Any])
Row = Sequence[Any]


class Output(Protocol):
    """Where rows go: `sys.stdout`, an open file, a `StringIO`."""

    def write(self, text: str, /) -> int: ...


def format_option(default: Format = "table", help_extra: str = "") -> Callable[[F], F]:
    """The `--format table|csv|json` option (passed to the command as `fmt`)."""
    text = "table: aligned, for people; csv: a spreadsheet's; json: one object per line."
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default=default,
        show_default=True,
        help=f"{text} {help_extra}".strip(),
    )


def write_rows(rows: Iterable[Row], columns: Sequence[str], fmt: str, out: Output) -> int:
    """Write `rows` (each the values of `columns`, in order) to `out` as `fmt`; returns how
    many rows were written. Nothing but the CSV header is written for no rows: the caller
    says on stderr that there were none."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")
    writer = {"table": write_table, "csv": write_csv, "json": write_json}[cast(Format, fmt)]
    return writer(rows, columns, out)


def write_table(rows: Iterable[Row], columns: Sequence[str], out: Output) -> int:
    """An aligned table; widths settle per chunk and only grow (see the module's doc)."""
    headers = [column.upper().replace("_", " ") for column in columns]
    widths = [len(header) for header in headers]
    written = 0
    source = iter(rows)
    while chunk := list(islice(source, CHUNK)):
        cells = [[table_cell(value) for value in row] for row in chunk]
        for line in cells:
            for index, cell in enumerate(line):
                widths[index] = max(widths[index], len(cell))
        if not written:
            out.write(_aligned(headers, widths))
        out.write("".join(_aligned(line, widths) for line in cells))
        written += len(chunk)
    return written


def _aligned(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip() + "\n"


def table_cell(value: Any) -> str:
    """One value as a table shows it: one safe line of at most CELL_MAX characters."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = printable(str(value))
    return text if len(text) <= CELL_MAX else text[: CELL_MAX - 1] + "…"


def write_csv(rows: Iterable[Row], columns: Sequence[str], out: Output) -> int:
    """RFC 4180 CSV: the header row, then one record a row, formulas defused."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    written = 0
    source = iter(rows)
    while chunk := list(islice(source, CHUNK)):
        plain = io.StringIO()
        csv.writer(plain, lineterminator="\r\n").writerows(chunk)
        text = plain.getvalue()
        if _inert(text, len(chunk)):
            out.write(text)  # what the cell-by-cell path below would write, cheaper
        else:
            writer.writerows([csv_cell(value) for value in row] for row in chunk)
        written += len(chunk)
    return written


# Printable ASCII: what a chunk of plain CSV holds besides its line ends.
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))


def _inert(text: str, rows: int) -> bool:
    """Whether a chunk written as it is (`text`, `rows` records) is what `csv_cell` would make
    of it: no boolean (the writer's `True` would be `true`), nothing to escape, no formula.

    A check of the whole chunk at C speed, so that a million-row export costs little more than
    the writer: most chunks pass, and one that does not is written cell by cell."""
    if "True" in text or "False" in text:
        return False
    if text.isascii():
        if text.encode("ascii").translate(None, _PRINTABLE_ASCII) != b"\r\n" * rows:
            return False
    elif text.count("\r\n") != rows or not text.replace("\r\n", "").isprintable():
        return False
    if text.startswith(FORMULA_STARTS) or text.startswith('"'):
        return False
    # A cell starts after a comma or a line end, or inside the quote that opens it (a quote
    # inside a cell also matches: that chunk merely goes cell by cell).
    return not any(
        c in text and ("," + c in text or "\n" + c in text or '"' + c in text) for c in "=+-@"
    )


def csv_cell(value: Any) -> Any:
    """One value as a CSV cell: text made one safe line and defused; numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return ("'" if text.startswith(FORMULA_STARTS) else "") + printable(text)


def write_json(rows: Iterable[Row], columns: Sequence[str], out: Output) -> int:
    """JSON Lines: one object per row with exactly the keys of `columns`."""
    keys = list(columns)
    written = 0
    source = iter(rows)
    while chunk := list(islice(source, CHUNK)):
        out.write(
            "".join(
                json_line(json.dumps(dict(zip(keys, row, strict=True)), ensure_ascii=False)) + "\n"
                for row in chunk
            )
        )
        written += len(chunk)
    return written
