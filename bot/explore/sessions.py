"""Sessions: where the reader of each card stands, and where they were (for Back).

A card's session is keyed by its message, and the process that answers a message
owns its session (Discord sends every interaction of a message to the one shard
that answers it). So this process holds the newest session of each card it
answered in memory and reads storage only for a card it does not hold (after a
restart, or once the card fell out of the bound): a press never reads an older
card than the last answer on its message showed, and never waits for a write
to learn it.

A press takes its card's ``turn`` (one member's presses on one message run one
after another), reads the session, answers, then ``record``s where it left the
card: in memory at once, in storage behind the answer (``bot.explore.behind``).
Before answering, a press waits for its card's previous move only while that move
is still unwritten (``ready``): a crash loses at most a card's last move.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.explore.behind import Click, WriteBehind
from bot.explore.concepts import Concepts
from bot.explore.views import View
from bot.models import Session
from bot.storage import SESSION_HISTORY_MAX, Storage

# Cards whose newest session this process keeps in memory, the least recently used
# dropped first (a dropped card's next press reads its session from storage). About
# half a kilobyte each.
SESSIONS_HELD = 20_000


@dataclass
class _Turn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    presses: int = 0  # presses holding or waiting for the lock


class Sessions:
    """The sessions of cards: held, moved, recorded, written behind."""

    def __init__(
        self,
        storage: Storage,
        concepts: Concepts,
        clock: Callable[[], float],
        *,
        held: int = SESSIONS_HELD,
    ) -> None:
        self.storage = storage
        self.concepts = concepts
        self.clock = clock
        self._limit = held
        self._held: OrderedDict[int, Session] = OrderedDict()
        # The last move of each card whose write has not landed: held here until it has,
        # whatever the bound does, so that no read goes to storage for an older one.
        self._unwritten: dict[int, Click] = {}
        self._turns: dict[tuple[int, int], _Turn] = {}
        self._behind = WriteBehind(storage, clock, self._written)

    async def get(self, message_id: int) -> Session | None:
        """The session of the card on message ``message_id``, if it has one."""
        session = self._held.get(message_id)
        if session is not None:
            self._held.move_to_end(message_id)
            return session
        unwritten = self._unwritten.get(message_id)
        if unwritten is not None and unwritten.session is not None:
            return unwritten.session
        stored = await self.storage.get_session(message_id)
        if stored is None or message_id in self._held:
            # Recorded while storage was read: the newer one stands.
            return self._held.get(message_id, stored)
        self._hold(stored)
        return stored

    @asynccontextmanager
    async def turn(self, message_id: int, user_id: int) -> AsyncIterator[None]:
        """Hold the turn of ``user_id``'s presses on message ``message_id``: the next one
        starts once this one has answered and recorded where it left the card."""
        key = (message_id, user_id)
        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = _Turn()
        turn.presses += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.presses -= 1
            if not turn.presses:
                del self._turns[key]

    async def ready(self, message_id: int) -> None:
        """Before a press on the card answers: wait until the card's previous move is
        written, if it is not yet (rare: a write takes milliseconds, a reader longer),
        so that a crash can lose this move at most, never two."""
        while message_id in self._unwritten:
            await self._behind.wait()

    def record(self, session: Session | None, *, opened: int | None = None) -> None:
        """After an answer: where the member stands now (at once) and the concept they
        opened, counted; both are written behind, in order. Every card counts the open
        from now on (``Concepts.counted``), before its write lands."""
        if opened is not None:
            self.concepts.counted(opened)
        click = self._behind.put(session, opened)
        if session is not None:
            self._hold(session)
            self._unwritten[session.message_id] = click

    def _written(self, batch: list[Click]) -> None:
        """A batch was written, or given up on: storage counts the opens that landed."""
        self.concepts.written(c.opened for c in batch if c.opened is not None)
        for click in batch:
            if click.session is not None:
                message_id = click.session.message_id
                if self._unwritten.get(message_id) is click:
                    del self._unwritten[message_id]

    async def flush(self) -> None:
        """Return once every move recorded so far is written."""
        await self._behind.flush()

    def _hold(self, session: Session) -> None:
        self._held[session.message_id] = session
        self._held.move_to_end(session.message_id)
        while len(self._held) > self._limit:
            self._held.popitem(last=False)

    def start(
        self,
        *,
        message_id: int,
        owner_id: int,
        scope: int,
        map_id: int,
        concept_id: int | None,
        history: list[int | None] | None = None,
    ) -> Session:
        """A new card's session, recorded (its card was just sent)."""
        session = Session(
            message_id=message_id,
            owner_id=owner_id,
            scope=scope,
            map_id=map_id,
            concept_id=concept_id,
            history=history or [],
        )
        self.record(session)
        return session

    def moved(self, session: Session, concept_id: int | None) -> Session:
        """The session moved to a card, remembering where it was for Back."""
        if concept_id == session.concept_id:
            return session
        history = [*session.history, session.concept_id][-SESSION_HISTORY_MAX:]
        return session.model_copy(update={"concept_id": concept_id, "history": history})

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

    # A press in one call (its answer aside): moved, ready, recorded.

    async def go(self, session: Session, concept_id: int | None) -> Session:
        return await self._recorded(session, self.moved(session, concept_id))

    async def back(self, session: Session) -> Session:
        return await self._recorded(session, await self.went_back(session))

    async def up(self, session: Session) -> Session:
        return await self._recorded(session, await self.went_up(session))

    async def _recorded(self, before: Session, after: Session) -> Session:
        if after != before:
            await self.ready(after.message_id)
            self.record(after)
        return after

    async def view_of(self, session: Session) -> View:
        """The card the session stands on, within the session's scope."""
        if session.concept_id is None:
            return await self.concepts.map_view(session.map_id, session.scope)
        return await self.concepts.concept_view(session.concept_id, session.scope)
