"""Reading an import's file (``idgraph import``, app/cli/importing.py) into numbered
``Line``s: each an item, or the reason the line is none.

JSON Lines: one item a line in the native shape, checked by the API's own schema
(``{"identifiers": [{"type", "value"}, ...], "attributes": {...}}``) and read as the API reads
a body (app/api/jsonbody.py: no deep nesting, no huge numbers, no key sent twice). CSV: a
header, then one item a row; ``--column COL=TYPE`` names each identifier column, in the order
given (the first is the item's anchor); the other columns are attributes named by their
header. Empty cells are left out, so a row of one identifier is a create-or-update. Either may
be gzipped (found by its first bytes), or standard input (``-``).
"""

from __future__ import annotations

import csv
import errno
import functools
import gzip
import hashlib
import io
import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from graph.items import LinkRequest

if TYPE_CHECKING:
    from graph.service.importing import Line

MAX_LINE = 1 << 20  # bytes: a longer line is reported, not read
TOO_LONG = f"longer than {MAX_LINE:,} bytes"
_GZIP = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"


class opened:
    """The file (or standard input) as bytes, ungzipped if it is gzip; and its size in bytes,
    None for standard input. The raw file's position is read for progress."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> tuple[IO[bytes], int | None]:
        stdin = str(self.path) == "-"
        self.raw: Any = _open_raw(self.path)
        size = None if stdin else self.path.stat().st_size
        stream: IO[bytes] = self.raw
        head = self.raw.peek(len(_GZIP))[: len(_GZIP)]
        if len(head) < len(_GZIP):  # a pipe's first read may bring a single byte
            head = self.raw.read(len(_GZIP))  # waits for the next, or the end
            stream = io.BufferedReader(_GivenBack(head, self.raw))
        if head == _GZIP:
            stream = gzip.GzipFile(fileobj=stream, mode="rb")
        return stream, size

    def __exit__(self, *exc: object) -> None:
        self.raw.close()


def _open_raw(path: Path) -> IO[bytes]:
    """The file, or a file of its own on standard input (the process reading ahead is forked,
    and multiprocessing closes sys.stdin in it). A file that cannot be opened is a usage
    error (exit 2), not a bad line."""
    try:
        if str(path) != "-":
            return open(path, "rb")  # noqa: SIM115 (closed by opened.__exit__)
        if sys.stdin is None:  # what Python makes of a standard input closed at start
            raise OSError(errno.EBADF, "it is closed")
        return open(os.dup(sys.stdin.fileno()), "rb")  # noqa: SIM115
    except OSError as error:
        name = "standard input" if str(path) == "-" else str(path)
        problem = f"cannot read {name}: {error.strerror}"
        raise click.BadParameter(problem, param_hint="PATH") from error


class _GivenBack(io.RawIOBase):
    """``raw`` with ``head``, the bytes read from it already, given back first."""

    def __init__(self, head: bytes, raw: IO[bytes]) -> None:
        self._head, self._raw = head, raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._head:
            return self._raw.readinto(buffer)  # type: ignore[attr-defined]
        size = min(len(buffer), len(self._head))
        buffer[:size], self._head = self._head[:size], self._head[size:]
        return size


def jsonl_lines(stream: IO[bytes]) -> Iterator[Line]:
    """Each non-blank line of ``stream``, its item not read yet (``parsed``); a UTF-8 byte
    order mark before the first is left out, as CSV's is."""
    from graph.service.importing import Line

    for number, text in _numbered(stream):
        if text is None:
            yield Line(number, b"", problem=TOO_LONG)
            continue
        if number == 1:
            text = text.removeprefix(_BOM)
        if (text := text.rstrip(b"\r\n")).strip():
            yield Line(number, text)


def parsed(line: Line) -> Line:
    """A line of ``jsonl_lines`` with its item, or the reason it is none."""
    if line.problem is not None or line.request is not None:
        return line
    request, problem = _json_item(line.text)
    return replace(line, request=request, problem=problem)


class CsvFile:
    """A CSV file's header, read when it is opened: it decides how every row reads, so an
    import keeps a digest of it (``layout``) and a run that goes on under another header is
    refused. Then its rows, as ``lines`` says."""

    def __init__(self, stream: IO[bytes], columns: list[tuple[str, str]]) -> None:
        self._undecodable: dict[int, str] = {}
        self._reader = csv.reader(_decoded(_numbered(stream), self._undecodable), strict=True)
        with _field_limit(MAX_LINE):
            self.header = _header(self._reader)
        self._positions = [] if self.header is None else _positions(self.header, columns)

    @property
    def layout(self) -> str:
        header = "\x1f".join(self.header or ()).encode("utf-8", "surrogatepass")
        return hashlib.sha256(header).hexdigest()[:32]

    def lines(self) -> Iterator[Line]:
        """Each row after the header as an item, or the reason it is none; blank rows are
        left out. A row's number is the line it ends on (a quoted cell may hold line breaks),
        a bad row's the line it begins on.

        Rows are read strictly: a quote that is not closed where CSV closes one makes its row
        bad, with every line up to where that showed (at worst, the end of the file): they
        are listed as that row's, and none is read as a row of its own, since whether they
        are rows or the cell's text cannot be told."""
        if self.header is None:
            return
        with _field_limit(MAX_LINE):
            yield from _rows(self._reader, self.header, self._positions, self._undecodable)


def _rows(
    reader: Any, header: list[str], positions: list[tuple[int, str]], undecodable: dict[int, str]
) -> Iterator[Line]:
    """The rows after the header, read as ``CsvFile.lines`` says."""
    from graph.service.importing import Line

    while True:
        first = reader.line_num + 1  # a row begins on the line after the last one read
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            _undecodable_in(undecodable, first, reader.line_num)  # forgets its lines' problems
            yield Line(first, b"", problem=_not_csv(error, first, reader.line_num))
            continue
        number = reader.line_num
        text = "\x1f".join(row).encode("utf-8", "surrogatepass")
        if problem := _undecodable_in(undecodable, first, number):
            yield Line(number, text, problem=problem)
        elif not any(cell.strip() for cell in row):
            continue  # a blank line, or cells of nothing but white space
        elif len(row) != len(header):
            problem = f"{len(row)} cells where the header has {len(header)}"
            yield Line(number, text, problem=problem)
        else:
            yield Line(number, text, _request(row, header, positions))


def _request(row: list[str], header: list[str], positions: list[tuple[int, str]]) -> LinkRequest:
    """A row's item: its identifiers in the order of ``--column``, its other cells that are
    not empty as attributes."""
    identifiers = [(type_, row[p]) for p, type_ in positions if row[p].strip()]
    identifier_positions = {p for p, _ in positions}
    attributes = {
        header[p]: cell for p, cell in enumerate(row) if p not in identifier_positions and cell
    }
    return LinkRequest(identifiers, attributes)


@contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    """csv's limit on a cell's size, ``limit`` meanwhile. It is the process's, not a
    reader's (csv has no other), so it is put back after; the process that sets it is the
    one reading ahead, which reads nothing else."""
    before = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(before)


def _header(reader: Any) -> list[str] | None:
    """The header row, None for an empty file."""
    try:
        return next(reader, None)
    except csv.Error as error:
        raise click.UsageError(f"the header (line 1) is not CSV idgraph reads: {error}") from None


def _positions(header: list[str], columns: list[tuple[str, str]]) -> list[tuple[int, str]]:
    """(position in the header, type) of each identifier column. A header that names a
    column twice is refused, as a JSON line with a key sent twice is: which of the two cells
    is meant cannot be told."""
    twice = [name for name, count in Counter(header).items() if count > 1]
    if twice:
        raise click.UsageError(
            f"the header names {', '.join(map(repr, twice))} twice: name each column once"
        )
    missing = [name for name, _ in columns if name not in header]
    if missing:
        raise click.UsageError(f"--column {', '.join(missing)}: not in the header {header}")
    return [(header.index(name), type_) for name, type_ in columns]


def _undecodable_in(undecodable: dict[int, str], first: int, last: int) -> str | None:
    """Why one of the lines ``first`` to ``last`` could not be read, if one could not."""
    problems = [undecodable.pop(n) for n in range(first, last + 1) if n in undecodable]
    return problems[0] if problems else None


def _not_csv(error: csv.Error, first: int, last: int) -> str:
    """Why the row of lines ``first`` to ``last`` is bad; a row over several lines is one
    whose quote is not closed where it should have been."""
    if first == last:
        return f"not CSV idgraph reads: {error}"
    return (
        f"not CSV idgraph reads: {error} on line {last}; lines {first}-{last} were read as "
        "one row, as a quote in it is not closed, and none of them is imported"
    )


def _numbered(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """(number, line with its line break) of each line; None for a line longer than MAX_LINE,
    which is skipped unread."""
    number = 0
    while line := stream.readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            while (rest := stream.readline(MAX_LINE)) and not rest.endswith(b"\n"):
                pass
            yield number, None
        else:
            yield number, line


def _decoded(
    lines: Iterator[tuple[int, bytes | None]], undecodable: dict[int, str]
) -> Iterator[str]:
    """The lines as text for csv.reader; an empty one in place of a line that is too long or
    not UTF-8, whose reason goes to ``undecodable`` by line number."""
    for number, text in lines:
        try:
            decoded = "" if text is None else text.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            undecodable[number] = f"not UTF-8 at byte {error.start + 1}"
            decoded = ""
        if text is None:
            undecodable[number] = TOO_LONG
        yield decoded


def _json_item(text: bytes) -> tuple[LinkRequest | None, str | None]:
    """A JSON line read as the API reads a link item, or why it cannot be."""
    import marshmallow as ma

    from app.api.errors import flattened
    from app.api.jsonbody import TOO_DEEP, loads, nested_too_deeply, problem_paths
    from app.api.schemas import link_request, plain_item
    from graph.service.importing import reason

    if nested_too_deeply(text):
        return None, TOO_DEEP
    try:
        decoded = text.decode("utf-8")
        body = loads(decoded)
    except UnicodeDecodeError as error:
        return None, f"not UTF-8 at byte {error.start + 1}"
    except ValueError as error:  # json's, and jsonbody.Unreadable
        return None, f"not JSON: {error}"
    problems = problem_paths(body, decoded)
    if problems:
        return None, reason(problems)
    if not isinstance(body, dict):
        return None, 'not an item: expected {"identifiers": [...], "attributes": {...}}'
    if plain_item(body):  # a tenth of the schema's cost on a backfill's millions of lines
        return link_request({**body, "attributes": body.get("attributes", {})}), None
    try:
        return link_request(_item_schema().load(body)), None
    except ma.ValidationError as error:
        problems = {path or "item": why for path, why in flattened(error.messages).items()}
        return None, reason(problems)


@functools.cache
def _item_schema() -> Any:
    from app.api.schemas import LinkItemSchema

    return LinkItemSchema()
