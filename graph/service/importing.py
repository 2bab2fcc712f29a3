"""Importing: a backfill of link items read from a file (``idgraph import``), decided and
applied as ``POST /v1/{ns}/links`` decides them, in file order, a chunk of lines per
transaction.

A face (app/cli/importing.py) reads the file into numbered ``Line``s: an item, or the reason
the line is not one. ``chunked`` groups them and normalizes each line's item under the
namespace's rules (pure, so the face runs it in a second process, a chunk ahead);
``Importing.apply`` plans the items of a chunk together on the state they touch
(``plan_links`` decides them one by one, each seeing the ones before, so chunking changes no
outcome) and writes them in bulk.

Provenance names the file and the line: operation ``import``, the source given (the file's
name by default), each link's and conflict's item index is its line number, and the request id
is the chunk's id.

Exactly once. A chunk commits in one transaction with a marker: a kept request whose id is
``import~`` and a digest of the import's options, the chunk's line numbers and their bytes
(``~`` is not a character a client's request id can hold). Before a chunk is planned its
marker is looked for, and a chunk already applied is skipped, its outcomes counted as
``already imported``. So an import killed midway and run again goes on after the last chunk
it committed, and no line is applied twice; the same file imported twice changes nothing the
second time. A marker keeps counts only, never an identifier.

A line fixed in place. A chunk that had bad lines is applied without them, so its text
changes when they are fixed, and with it its marker. Each chunk written therefore also keeps a
record of its line numbers (``import~`` and a digest of the options and of the chunk's first
and last line numbers, then a generation: records are never rewritten) naming the lines it
left unapplied. A run that finds no marker for a chunk but such a record for its lines applies
only the lines the record names, and writes the next generation: fixing a bad line and running
the same command again applies that line alone, never the lines around it a second time
(which would write their attributes again over what later lines set). A line edited after it
was applied is not applied again. A chunk is known by its lines' numbers, so this holds while
lines are fixed in place, not added or removed.

Markers follow chunk boundaries, so a run that goes on must cut its chunks where the first run
did. The first chunk written also keeps a header (``import~`` and a digest of the options
alone) with the chunking used: ``Importing.resumed`` gives a later run of the same import that
chunking, whatever ``--chunk`` it was given (imports begun before headers existed have none,
and go on with the chunking they are given).

A run that goes on reads the chunks an earlier run applied without a bad line as fast as
it can read them: ``chunked`` asks ``applied`` for each chunk's marker before it parses or
normalizes a line, and a chunk applied is passed on unparsed (``Chunk.applied``) and counted
from its marker. Lines are not checked again under today's rules once applied. A chunk that
had bad lines is parsed again, so that they are listed again.

A chunk ends at ``ImportOptions.chunk`` lines, or earlier once its lines hold
``chunk_bytes``, so that the memory a chunk takes is bounded by bytes as well as lines (a line
may be up to 1 MiB; the read-ahead holds about three chunks at once).

Bad lines are skipped and counted, the first ``LISTED`` listed with their reason; a strict
import stops at the first, before its chunk is written (the chunks before it stay applied).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from graph.errors import IdgraphError
from graph.items import LinkRequest, normalize_each
from graph.model import LinkItem, Outcome
from graph.planner import plan_links
from graph.rules import Rules
from graph.service.base import UseCase
from graph.store.base import ReadTx, WriteTx

LISTED = 1_000  # bad lines kept with their reason; the rest are counted
OUTCOMES = ("created", "linked", "merged", "moved", "noop", "conflict")
MARKER_PREFIX = "import~"


@dataclass(frozen=True, slots=True)
class Line:
    """Line ``number`` of the file (1 is the first), as read: ``text`` is what identifies
    it in a chunk's digest; ``request`` its item, or ``problem`` why it is none."""

    number: int
    text: bytes
    request: LinkRequest | None = None
    problem: str | None = None


Parse = Callable[[Line], Line]  # a line with its item, or the reason it has none


@dataclass
class ImportReport:
    lines: int = 0  # read, bad ones included
    links: int = 0  # of the items applied now: identifiers minus one each, conflicts too
    outcomes: Counter[str] = field(default_factory=Counter)  # of the items applied now
    already: int = 0  # lines of chunks an earlier run applied
    bad: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, reason), LISTED

    def refuse(self, number: int, reason: str) -> None:
        self.bad += 1
        if len(self.problems) < LISTED:
            self.problems.append((number, reason))


class BadLine(IdgraphError):
    """A strict import met a line that is no item; the chunks before it are applied."""

    def __init__(self, number: int, reason: str, applied_through: int | None) -> None:
        done = (
            "nothing was written (a dry run)"
            if applied_through is None
            else f"lines up to {applied_through} are applied: fix the line and run the same "
            "command again"
        )
        super().__init__(f"line {number}: {reason}; stopped there (--strict), {done}")
        self.number = number


@dataclass(frozen=True, slots=True)
class ImportOptions:
    namespace: str
    source: str
    fingerprint: str = ""  # what else makes two imports of one file different (format, columns)
    min_identifiers: int = 2
    chunk: int = 1_000  # lines per transaction (the command's default depends on the store)
    chunk_bytes: int = 16 << 20  # a chunk ends earlier once its lines hold this many bytes
    # a digest of what decides how every line reads besides the options (a CSV file's
    # header): kept with the chunking, and a run that goes on under another one is refused
    layout: str = ""
    strict: bool = False
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class Chunk:
    """Lines read and normalized, that ``Importing.apply`` applies in one transaction: how
    many (bad ones included), the numbers of the first and the last, the marker of their
    text, the items by line number, and the bad lines with their reason, in file order. A
    chunk an earlier run applied is passed on ``applied``, neither parsed nor normalized: no
    items, no problems."""

    lines: int
    first: int
    last: int
    marker: str
    items: dict[int, LinkItem]
    problems: list[tuple[int, str]]
    applied: bool = False


def chunked(
    lines: Iterable[Line],
    options: ImportOptions,
    rules: Rules,
    *,
    parse: Parse | None = None,
    applied: Callable[[str], bool] | None = None,
) -> Iterator[Chunk]:
    """``lines`` in chunks, each line ``parse``d (when the face reads its items lazily) and
    normalized under the namespace's ``rules``, unless ``applied(marker)`` says an earlier
    run applied the chunk without a bad line (``Importing.applied_before``). No I/O but
    reading ``lines`` and ``applied``'s: a face may run it in another process, ahead of
    ``Importing.apply``."""
    for chunk in _chunks(lines, options.chunk, options.chunk_bytes):
        marker = _marker_id(options, chunk)
        if applied is not None and applied(marker):
            yield Chunk(len(chunk), chunk[0].number, chunk[-1].number, marker, {}, [], True)
            continue
        if parse is not None:
            chunk = [parse(line) for line in chunk]
        items, problems = _items(chunk, rules, options.min_identifiers)
        yield Chunk(len(chunk), chunk[0].number, chunk[-1].number, marker, items, problems)


class Importing(UseCase):
    def resumed(self, options: ImportOptions) -> ImportOptions | None:
        """``options`` with the chunking an earlier run of the same import began with, if
        one did: its markers follow that run's chunk boundaries. None if none did (or it
        began before headers were kept). An IdgraphError if that run read its lines by
        another layout (a CSV header since changed): markers would call its lines applied
        that were read otherwise."""
        header = _header_id(options)
        kept = self.store.read(lambda tx: tx.find_request(options.namespace, header))
        if kept is None or kept.digest != header or "chunk_bytes" not in kept.response:
            return None
        chunking = kept.response
        if chunking.get("layout", options.layout) != options.layout:
            raise IdgraphError(
                "the file's header is not the one this import began with, and the lines "
                "applied were read by that one: put the header back to go on, or import the "
                "file under another --source to apply every line again as it reads now"
            )
        return replace(
            options, chunk=int(chunking["chunk"]), chunk_bytes=int(chunking["chunk_bytes"])
        )

    def applied_before(self, options: ImportOptions) -> Callable[[str], bool | None]:
        """Whether an earlier run applied the chunk of a marker: True when it had no bad line,
        False when it had some (or its marker is older than the count of them: it says
        nothing), None when it is not applied. ``chunked`` reads again only chunks not True."""

        def applied(marker: str) -> bool | None:
            kept = self.store.read(lambda tx: _marker(tx, options, marker))
            return None if kept is None else kept.get("bad") == 0

        return applied

    def apply(
        self,
        chunks: Iterable[Chunk],
        options: ImportOptions,
        *,
        on_chunk: Callable[[ImportReport], None] | None = None,
    ) -> ImportReport:
        """Apply the items of ``chunks`` in order, a chunk per transaction, skipping the chunks
        an earlier run applied. With ``dry_run`` lines are read and checked, and applied chunks
        found, but nothing is decided or written: an item's outcome depends on the lines
        before it."""
        report = ImportReport()
        rules = self.rules(options.namespace)
        applied_through = 0
        for chunk in chunks:
            report.lines += chunk.lines
            kept = self.store.read(lambda tx, marker=chunk.marker: _marker(tx, options, marker))
            if chunk.applied and kept is None:  # its marker went since it was read
                raise IdgraphError(
                    f"lines {chunk.first}-{chunk.last} were applied when "
                    "they were read and are not now: run the same command again"
                )
            for number, reason in chunk.problems:
                if options.strict and kept is None:
                    raise BadLine(number, reason, None if options.dry_run else applied_through)
                report.refuse(number, reason)
            if kept is not None:
                report.already += int(kept["lines"]) if chunk.applied else len(chunk.items)
            elif chunk.items and not options.dry_run:
                outcomes, applied = self.store.write(
                    lambda tx, chunk=chunk: self._apply(tx, options, rules, chunk)
                )
                report.outcomes.update(outcomes)
                report.already += len(chunk.items) - len(applied)
                report.links += sum(len(chunk.items[n].identifiers) - 1 for n in applied)
            applied_through = chunk.last
            if on_chunk:
                on_chunk(report)
        return report

    def _apply(
        self,
        tx: WriteTx,
        options: ImportOptions,
        rules: Rules,
        chunk: Chunk,
    ) -> tuple[Counter[str], list[int]]:
        """The outcomes of the lines applied now, and their numbers: the chunk's items, or
        those an earlier run of its lines left unapplied."""
        marker = chunk.marker
        kept = _marker(tx, options, marker)  # another run of the same file got there first
        if kept is not None:
            return Counter(kept["outcomes"]), []
        namespace = options.namespace
        generation, unapplied = _lines_record(tx, options, chunk)
        items = {n: item for n, item in chunk.items.items() if unapplied is None or n in unapplied}
        keys = {identifier.key for item in items.values() for identifier in item.identifiers}
        provenance = self._provenance("import", options.source, marker)
        state = tx.load_state(namespace, keys)
        plan = plan_links(list(items.values()), state, rules, provenance, list(items))
        tx.apply(namespace, plan.changes)
        outcomes = _counted(plan.outcomes)
        bad = {number for number, _ in chunk.problems}
        left = sorted(bad if unapplied is None else bad & unapplied)
        record = {
            "import": options.source,
            "lines": len(chunk.items),
            "bad": len(left),
            "outcomes": dict(outcomes),
        }
        tx.save_request(namespace, marker, marker, record)
        lines_id = _lines_id(options, chunk, generation)
        tx.save_request(
            namespace, lines_id, lines_id, {"import": options.source, "unapplied": left}
        )
        header = _header_id(options)
        if tx.find_request(namespace, header) is None:  # the first chunk written
            chunking = {
                "import": options.source,
                "chunk": options.chunk,
                "chunk_bytes": options.chunk_bytes,
                **({"layout": options.layout} if options.layout else {}),
            }
            tx.save_request(namespace, header, header, chunking)
        return outcomes, list(items)


def _chunks(lines: Iterable[Line], size: int, byte_limit: int) -> Iterator[list[Line]]:
    chunk: list[Line] = []
    held = 0
    for line in lines:
        chunk.append(line)
        held += len(line.text)
        if len(chunk) == size or held >= byte_limit:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


def _options_digest(options: ImportOptions) -> Any:
    digest = hashlib.sha256()
    for part in (options.namespace, options.source, options.fingerprint):
        digest.update(part.encode() + b"\0")
    return digest


def _header_id(options: ImportOptions) -> str:
    return MARKER_PREFIX + _options_digest(options).hexdigest()[:40]


def _marker_id(options: ImportOptions, chunk: list[Line]) -> str:
    digest = _options_digest(options)
    for line in chunk:
        digest.update(b"%d\0%d\0" % (line.number, len(line.text)))
        digest.update(line.text)
    return MARKER_PREFIX + digest.hexdigest()[:40]


def _lines_id(options: ImportOptions, chunk: Chunk, generation: int) -> str:
    digest = _options_digest(options)
    digest.update(b"lines %d-%d\0%d" % (chunk.first, chunk.last, generation))
    return MARKER_PREFIX + digest.hexdigest()[:40]


def _lines_record(tx: ReadTx, options: ImportOptions, chunk: Chunk) -> tuple[int, set[int] | None]:
    """The next generation of the record of the chunk's lines, and the lines the latest one
    left unapplied (None if no run applied these lines: all of them are to be applied)."""
    generation, unapplied = 0, None
    while (kept := _marker(tx, options, _lines_id(options, chunk, generation))) is not None:
        generation, unapplied = generation + 1, set(kept["unapplied"])
    return generation, unapplied


def _marker(tx: ReadTx, options: ImportOptions, marker: str) -> dict[str, Any] | None:
    kept = tx.find_request(options.namespace, marker)
    if kept is None or kept.digest != marker or "import" not in kept.response:
        return None
    return dict(kept.response)


def _items(
    chunk: list[Line], rules: Rules, min_identifiers: int
) -> tuple[dict[int, LinkItem], list[tuple[int, str]]]:
    """The chunk's items by line number, and its bad lines with their reason, in file order."""
    requests = {line.number: line.request for line in chunk if line.request is not None}
    items, errors = normalize_each(requests, rules, min_identifiers=min_identifiers)
    problems = [
        (line.number, line.problem or reason(errors[line.number]))
        for line in chunk
        if line.number not in items
    ]
    return items, problems


def reason(fields: Mapping[str, list[str]]) -> str:
    """Why a line is no item, from its errors by field: ``field: message; field: message``."""
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())


def _counted(outcomes: Iterable[Outcome]) -> Counter[str]:
    return Counter(outcome.kind for outcome in outcomes)
