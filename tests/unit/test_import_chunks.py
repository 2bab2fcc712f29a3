"""How `idgraph import` cuts a file into chunks (graph/service/importing.py ``chunked``): at
``chunk`` lines, or earlier once the lines hold ``chunk_bytes``, so that a file of long lines
cannot fill the memory; lines are never split, and a file of short lines is cut where it always
was (the markers of imports already under way follow those cuts)."""

from __future__ import annotations

from graph.items import LinkRequest
from graph.rules import Rules
from graph.service.importing import ImportOptions, Line, chunked


def lines(*sizes: int) -> list[Line]:
    """A line of each size in bytes, each a valid item."""
    request = LinkRequest(identifiers=(("deviceId", "d1"), ("browserId", "b1")), attributes={})
    return [Line(n, b"x" * size, request) for n, size in enumerate(sizes, start=1)]


def cuts(options: ImportOptions, file: list[Line]) -> list[tuple[int, int]]:
    """(lines, last line number) of each chunk."""
    return [(chunk.lines, chunk.last) for chunk in chunked(file, options, Rules())]


def test_a_chunk_ends_at_its_line_count_when_its_lines_are_short():
    options = ImportOptions("shop", "f.jsonl", chunk=3, chunk_bytes=1_000)
    assert cuts(options, lines(*[100] * 7)) == [(3, 3), (3, 6), (1, 7)]


def test_a_chunk_ends_earlier_once_its_lines_hold_chunk_bytes():
    options = ImportOptions("shop", "f.jsonl", chunk=100, chunk_bytes=1_000)
    assert cuts(options, lines(400, 400, 400, 50, 2_000, 10)) == [(3, 3), (2, 5), (1, 6)]


def test_the_default_cuts_a_file_of_1_mib_lines_into_chunks_of_16_mib():
    options = ImportOptions("shop", "f.jsonl", chunk=20_000)
    assert cuts(options, lines(*[1 << 20] * 40)) == [(16, 16), (16, 32), (8, 40)]
