"""The identity graph's vocabulary as plain data: no I/O, no framework.

Times are ISO-8601 UTC strings with microseconds (``2026-11-23T10:00:00.000000Z``): they sort
as text, travel through JSON and both stores unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar


def utc_now() -> str:
    return format_time(datetime.now(UTC))


def format_time(moment: datetime) -> str:
    """``moment`` as a stored time: UTC, microseconds, the year in four digits (``%Y`` writes
    year 999 as ``999``, which would sort after ``2026``). OverflowError for a moment that is
    not in years 1 to 9999 in UTC (``9999-12-31T23:59:59-01:00``)."""
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return f"{utc.isoformat(timespec='microseconds')}Z"


def just_before(at: str) -> str:
    """The instant one microsecond before ``at``: what was there before a change at ``at``."""
    moment = datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return format_time(moment - timedelta(microseconds=1))


def identifier_key(type_: str, value: str) -> str:
    """The key of an identifier inside its namespace; ``type_`` and ``value`` are already
    normalized (graph/normalize.py).

    The key is unambiguous because of the rule of type names: a type holds no colon except
    ``ext:<system>``, and a bare ``ext`` is refused. So the type is everything up to the first
    colon of the key, or up to the second when the key starts with ``ext:``; the value is the
    rest, colons and all. ``ext`` + ``crm:u1`` and ``email:work`` + ``erin@x.io`` cannot be
    written, and cannot forge the keys of ``ext:crm`` + ``u1`` or ``email`` + ``work:erin@x.io``.
    Nothing is checked here: identifiers read back from a store keep whatever type they were
    written with."""
    return f"{type_}:{value}"


@dataclass(frozen=True, slots=True)
class Identifier:
    type: str
    value: str
    key: str = field(init=False, repr=False, compare=False)  # computed once: read very often

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", identifier_key(self.type, self.value))

    def __reduce__(self) -> tuple[type[Identifier], tuple[str, str]]:
        # pickled as its two fields: a tenth of the cost of dataclass's slots state (an import
        # sends a chunk's identifiers between processes, app/cli/ahead.py)
        return Identifier, (self.type, self.value)


@dataclass(frozen=True, slots=True)
class Provenance:
    """Who wrote, when, and through which operation; shared by every change of one request."""

    request_id: str
    at: str
    operation: str = "native"
    source: str | None = None


@dataclass(frozen=True, slots=True)
class LinkItem:
    """One normalized item of a batch: identifiers seen together, attributes written through
    the first of them (the item's anchor). ``on_create`` joins only if the item creates a new
    profile (a generated uuid)."""

    identifiers: tuple[Identifier, ...]
    attributes: Mapping[str, Any] = field(default_factory=dict)
    on_create: tuple[Identifier, ...] = ()

    def __reduce__(self) -> tuple[type[LinkItem], tuple[Any, ...]]:
        return LinkItem, (self.identifiers, self.attributes, self.on_create)


@dataclass(frozen=True, slots=True)
class Attribute:
    """The current value of one profile attribute and the write it came from."""

    value: Any
    via: str | None  # identifier key it was written through; None for profile-level writes
    at: str
    request_id: str


# --- Loaded state: what a store hands the planner -------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredIdentifier:
    key: str
    type: str
    value: str
    profile_id: int | None  # None: in no profile (replaced, retired by an explicit merge)
    created_at: str


@dataclass(frozen=True, slots=True)
class StoredProfile:
    id: int
    created_at: str
    recognized: bool


@dataclass(frozen=True, slots=True)
class ProfileRecord:
    """A profile row, live or absorbed (``merged_into`` names its live survivor)."""

    id: int
    created_at: str
    updated_at: str
    recognized: bool
    merged_into: int | None


@dataclass(frozen=True, slots=True)
class ActiveLink:
    id: int
    a: str
    b: str


@dataclass(frozen=True, slots=True)
class Sequences:
    """Next free ids. Read inside the write transaction, so the planner can allocate ids."""

    profile: int = 1
    link: int = 1
    merge: int = 1
    ban: int = 1


@dataclass(frozen=True, slots=True)
class Ban:
    """Do not link ``a`` with ``b``, or with any identifier of type ``b_type``: the planner
    refuses an item that would join them in one profile (reason ``banned``)."""

    id: int
    a: str
    b: str | None
    b_type: str | None
    reason: str
    created_by: str | None
    created_at: str
    link_id: int | None = None  # the link whose end asked for it

    def forbids(self, key: str, type_: str) -> bool:
        """Whether joining ``a`` with this identifier breaks the ban."""
        return key != self.a and (key == self.b or type_ == self.b_type)


@dataclass(slots=True)
class GraphState:
    """Every identifier of every profile a batch touches, with their active links and
    attributes. Loaded in one round trip per batch; bounded by the per-profile size cap."""

    identifiers: dict[str, StoredIdentifier] = field(default_factory=dict)
    profiles: dict[int, StoredProfile] = field(default_factory=dict)
    links: list[ActiveLink] = field(default_factory=list)
    attributes: dict[int, dict[str, Attribute]] = field(default_factory=dict)
    sequences: Sequences = field(default_factory=Sequences)
    bans: list[Ban] = field(default_factory=list)  # every ban naming one of the keys
    # attribute writes through these identifiers: loaded only for a split (end, undo), so
    # each part can take back the values written through it
    history: list[AttributeHistory] = field(default_factory=list)


# --- Outcomes: what the planner decided for one item, and why -------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: ClassVar[str]
    profile_id: int | None


@dataclass(frozen=True, slots=True)
class Created(Outcome):
    kind: ClassVar[str] = "created"


@dataclass(frozen=True, slots=True)
class Linked(Outcome):
    kind: ClassVar[str] = "linked"
    replaced: tuple[str, ...] = ()  # keys of identifiers a new one of their type replaced


@dataclass(frozen=True, slots=True)
class Merged(Outcome):
    kind: ClassVar[str] = "merged"
    absorbed: tuple[int, ...] = ()
    replaced: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Moved(Outcome):
    kind: ClassVar[str] = "moved"
    moved_from: tuple[int, ...] = ()
    absorbed: tuple[int, ...] = ()  # profiles the item's other identifiers merged


@dataclass(frozen=True, slots=True)
class Noop(Outcome):
    """The graph already says this; attributes sent with the item are still written."""

    kind: ClassVar[str] = "noop"


@dataclass(frozen=True, slots=True)
class Holder:
    """What a refused item runs into: another profile holding one of its identifiers (the one
    at ``position`` in the item), named by its own identifier of the type of the item's first
    one (Omnidesk: the other customer's primary id)."""

    profile_id: int
    position: int
    identifier: Identifier
    named_by: Identifier


@dataclass(frozen=True, slots=True)
class Conflict(Outcome):
    """The rules refused the item: nothing of it is written, its attributes included."""

    kind: ClassVar[str] = "conflict"
    reason: str = ""
    profiles: tuple[int, ...] = ()
    # derived from the state, for a caller to say who holds what (not part of the decision)
    holder: Holder | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What became of one item of a request: its position in the request, its outcome, and
    the namespace it was decided in (one request may span namespaces: Adnuntius folders)."""

    index: int
    outcome: Outcome
    namespace: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request the graph's state does not allow now, decided by the planner: nothing is
    planned. ``code`` names the case; ``details`` say what would let it through (ids)."""

    code: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)


# --- The change set: the final state of everything a plan touched ---------------------------


@dataclass(frozen=True, slots=True)
class NewIdentifier:
    key: str
    type: str
    value: str
    profile_id: int | None  # None: replaced within the same request, kept for its history


@dataclass(frozen=True, slots=True)
class ProfileRow:
    id: int
    created_at: str
    updated_at: str
    recognized: bool
    parent_id: int | None = None  # the profile this one was split from


@dataclass(frozen=True, slots=True)
class NewLink:
    id: int
    a: str
    b: str
    item_index: int | None
    merge_id: int | None = None
    ended_reason: str | None = None  # ended again later in the same request


@dataclass(frozen=True, slots=True)
class MergeRow:
    id: int
    survivor: int
    absorbed: int
    item_index: int | None
    # an identifier of each side, joined by the merge: what an undo separates again
    survivor_key: str | None = None
    absorbed_key: str | None = None


@dataclass(frozen=True, slots=True)
class AttributeWrite:
    profile_id: int
    via: str | None
    name: str
    value: Any  # None records a deletion


@dataclass(frozen=True, slots=True)
class ConflictRow:
    item_index: int
    rule: str
    profiles: tuple[int, ...]
    identifiers: tuple[Identifier, ...]


@dataclass(slots=True)
class ChangeSet:
    """Everything one request writes, applied by a store in one transaction.

    Rows are final: a profile created and absorbed within the same request is inserted and
    then recorded as merged; a link created and ended in the same request carries its end.
    ``merges`` are in the order they happened, because aliases are flattened in that order.
    """

    provenance: Provenance
    new_identifiers: list[NewIdentifier] = field(default_factory=list)
    relabels: list[tuple[str, int]] = field(default_factory=list)  # (key, new profile id)
    new_profiles: list[ProfileRow] = field(default_factory=list)
    updated_profiles: list[ProfileRow] = field(default_factory=list)
    new_links: list[NewLink] = field(default_factory=list)
    ended_links: list[tuple[int, str]] = field(default_factory=list)  # (link id, reason)
    merges: list[MergeRow] = field(default_factory=list)
    attributes: dict[int, dict[str, Attribute]] = field(default_factory=dict)  # replaced maps
    attribute_writes: list[AttributeWrite] = field(default_factory=list)
    conflicts: list[ConflictRow] = field(default_factory=list)
    sequences: Sequences = field(default_factory=Sequences)
    restored: list[int] = field(default_factory=list)  # absorbed ids that are live again
    repointed: list[tuple[int, int]] = field(default_factory=list)  # (alias, its live profile)
    undone_merges: list[int] = field(default_factory=list)
    new_bans: list[Ban] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (
            self.new_identifiers
            or self.relabels
            or self.new_profiles
            or self.updated_profiles
            or self.new_links
            or self.ended_links
            or self.merges
            or self.attributes
            or self.attribute_writes
            or self.conflicts
            or self.restored
            or self.repointed
            or self.undone_merges
            or self.new_bans
        )


# --- Read models ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProfileView:
    id: int
    recognized: bool
    identifiers: tuple[Identifier, ...]
    attributes: Mapping[str, Any]
    aliases: tuple[int, ...]
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class ConflictRecord:
    id: int
    at: str
    request_id: str
    item_index: int
    rule: str
    profiles: tuple[int, ...]
    identifiers: tuple[Identifier, ...]


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """A link with its provenance, active (``ended_at`` None) or ended."""

    id: int
    a: str
    b: str
    operation: str
    source: str | None
    request_id: str
    item_index: int | None
    merge_id: int | None
    created_at: str
    ended_at: str | None = None
    end_reason: str | None = None
    ended_request_id: str | None = None

    def as_of(self, at: str | None) -> LinkRecord | None:
        """The link as it was at ``at``: None before it existed; active if it ended later."""
        if at is None:
            return self
        if self.created_at > at:
            return None
        if self.ended_at is not None and self.ended_at > at:
            return replace(self, ended_at=None, end_reason=None, ended_request_id=None)
        return self


@dataclass(frozen=True, slots=True)
class MergeRecord:
    id: int
    survivor: int
    absorbed: int
    request_id: str
    item_index: int | None
    at: str
    survivor_key: str | None = None
    absorbed_key: str | None = None
    undone_at: str | None = None
    undone_request_id: str | None = None

    def active_at(self, at: str | None) -> bool:
        """Whether the merge held at ``at`` (now, for None): made by then, not yet undone."""
        if at is None:
            return self.undone_at is None
        return self.at <= at and (self.undone_at is None or self.undone_at > at)

    def as_of(self, at: str | None) -> MergeRecord | None:
        """The merge as it was at ``at``: None before it was made; not undone if it was
        undone later."""
        if at is None:
            return self
        if self.at > at:
            return None
        if self.undone_at is not None and self.undone_at > at:
            return replace(self, undone_at=None, undone_request_id=None)
        return self


@dataclass(frozen=True, slots=True)
class AttributeHistory:
    """One attribute write as kept in the history; ``value`` None records a deletion."""

    profile_id: int
    via: str | None
    name: str
    value: Any
    at: str
    request_id: str


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """An applied request kept for idempotent replay."""

    request_id: str
    digest: str
    response: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PurgeRecord:
    """One erasure in the audit log: which profile of which namespace, when, by whom, and how
    many identifiers went with it. Never what was erased."""

    id: int
    namespace: str
    profile_id: int
    purged_at: str
    purged_by: str
    identifiers_erased: int
