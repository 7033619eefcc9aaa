"""Sessions: where the reader of each card stands, and where they were (for Back).

A card's session is keyed by its message. Each move has a pure form (the
session moved, nothing written: the answer goes out first) and ``save``, which
stores it after the answer, counting the concept it opened in the same write.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.explore.concepts import Concepts
from bot.explore.views import View
from bot.models import Session
from bot.storage import Storage


class Sessions:
    """The sessions of cards: read, moved, saved."""

    def __init__(self, storage: Storage, concepts: Concepts, clock: Callable[[], float]) -> None:
        self.storage = storage
        self.concepts = concepts
        self.clock = clock

    async def get(self, message_id: int) -> Session | None:
        """The session of the card on message ``message_id``, if it has one."""
        return await self.storage.get_session(message_id)

    async def start(
        self,
        *,
        message_id: int,
        owner_id: int,
        scope: int,
        map_id: int,
        concept_id: int | None,
        history: list[int | None] | None = None,
    ) -> Session:
        """A new card's session, saved at once."""
        session = Session(
            message_id=message_id,
            owner_id=owner_id,
            scope=scope,
            map_id=map_id,
            concept_id=concept_id,
            history=history or [],
        )
        await self.save(session)
        return session

    async def save(self, session: Session | None, *, opened: int | None = None) -> None:
        """After an answer: save where the member stands and count the concept they opened,
        in one write transaction."""
        await self.storage.save_click(session, opened, now=self.clock())

    def moved(self, session: Session, concept_id: int | None) -> Session:
        """The session moved to a card, remembering where it was for Back."""
        if concept_id == session.concept_id:
            return session
        return session.model_copy(
            update={"concept_id": concept_id, "history": [*session.history, session.concept_id]}
        )

    async def went_back(self, session: Session) -> Session:
        """The session back on the previous card; with no history, up."""
        if not session.history:
            return await self.went_up(session)
        return session.model_copy(
            update={"concept_id": session.history[-1], "history": session.history[:-1]}
        )

    async def went_up(self, session: Session) -> Session:
        """The session on the parent of its card (the overview above a key concept)."""
        if session.concept_id is None:
            return session
        concept = await self.concepts.get(session.concept_id)
        return self.moved(session, concept.parent_id if concept else None)

    async def go(self, session: Session, concept_id: int | None) -> Session:
        return await self._saved(session, self.moved(session, concept_id))

    async def back(self, session: Session) -> Session:
        return await self._saved(session, await self.went_back(session))

    async def up(self, session: Session) -> Session:
        return await self._saved(session, await self.went_up(session))

    async def _saved(self, before: Session, after: Session) -> Session:
        if after != before:
            await self.save(after)
        return after

    async def view_of(self, session: Session) -> View:
        """The card the session stands on, within the session's scope."""
        if session.concept_id is None:
            return await self.concepts.map_view(session.map_id, session.scope)
        return await self.concepts.concept_view(session.concept_id, session.scope)
