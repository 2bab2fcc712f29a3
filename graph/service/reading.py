"""Reading: a profile by id or by one of its identifiers, pages of profiles, and the log of
refused links."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from graph.model import ConflictRecord, ProfileView
from graph.service.base import UseCase
from graph.service.lookups import cursor_position, live_profile, lookup_identifier, view_of_holder
from graph.store.base import ReadTx


@dataclass(frozen=True, slots=True)
class ConflictPage:
    conflicts: tuple[ConflictRecord, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class ProfilePage:
    profiles: tuple[ProfileView, ...]
    next_cursor: str | None


class Reading(UseCase):
    def profile(self, namespace: str, profile_id: int) -> ProfileView:
        """A profile by id; an absorbed id answers its survivor."""

        def work(tx: ReadTx) -> ProfileView:
            return tx.profile_view(namespace, live_profile(tx, namespace, profile_id))

        return self.store.read(work)

    def profile_by_identifier(
        self, namespace: str, type_: str, value: str, *, dialect: str = "native"
    ) -> ProfileView:
        identifier = lookup_identifier(type_, value, self.rules(namespace, dialect))

        return self.store.read(lambda tx: view_of_holder(tx, namespace, identifier))

    def list_profiles(
        self,
        namespace: str,
        *,
        having: Iterable[str] = (),
        updated_from: str | None = None,
        updated_before: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> ProfilePage:
        """Live profiles in id order, holding an identifier of every type in ``having``."""
        after_id = cursor_position(cursor)
        views = self.store.read(
            lambda tx: tx.list_profiles(
                namespace,
                having=having,
                updated_from=updated_from,
                updated_before=updated_before,
                after_id=after_id,
                limit=limit,
            )
        )
        next_cursor = str(views[-1].id) if len(views) == limit else None
        return ProfilePage(tuple(views), next_cursor)

    def conflicts(
        self,
        namespace: str,
        *,
        profile_id: int | None = None,
        since: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> ConflictPage:
        """Refused links, oldest first, at or after ``since``. With ``profile_id``, those
        naming the profile or one of its aliases (a refusal named an alias while it was a
        profile of its own); an absorbed id answers its survivor's, as ``profile`` does.
        NotFound for an unknown profile."""
        after_id = cursor_position(cursor)

        def work(tx: ReadTx) -> list[ConflictRecord]:
            named = None
            if profile_id is not None:
                view = tx.profile_view(namespace, live_profile(tx, namespace, profile_id))
                named = (view.id, *view.aliases) if view else ()
            return tx.conflicts(
                namespace, since=since, after_id=after_id, limit=limit, profiles=named
            )

        records = self.store.read(work)
        next_cursor = str(records[-1].id) if len(records) == limit else None
        return ConflictPage(tuple(records), next_cursor)
