"""Learning together, beside the quizzes: what each member explored, the names boards
show, members' review decks, and the threads opened on concepts and maps. ``Storage``
takes this part in as a mixin."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.models import ReviewCard, Session
from bot.storage.learning_sql import (
    COUNT_CARDS,
    COUNT_DUE,
    COUNT_EXPLORER,
    DECK_PAGE,
    DELETE_CARD,
    FIRST_DUE,
    INSERT_CARD,
    INSERT_EXPLORED,
    INSERT_REVIEW,
    MEMBER_MAPS,
    MEMBER_SCORE,
    NEXT_DUE,
    REVIEW_TIMES,
    SELECT_CARD,
    SELECT_CARD_OF_CONCEPT,
    SELECT_FORUM,
    SELECT_NAMES,
    SELECT_THREAD,
    THREAD_TARGET,
    TOP_EXPLORERS,
    TOP_SCORERS,
    UPDATE_CARD,
    UPSERT_FORUM,
    UPSERT_NAME,
    UPSERT_THREAD,
    WHOLE_DECK,
)
from bot.storage.records import Change, Changed

if TYPE_CHECKING:
    from bot.storage.base import Row, Transaction
    from bot.storage.changes import Note


@dataclass(frozen=True)
class MapProgress:
    """How much of one map a member explored."""

    map_id: int
    topic: str
    explored: int
    total: int


async def note_explorations(
    db: Transaction, opened: Sequence[tuple[Session, int]], now: float
) -> list[int]:
    """In a transaction of clicks: the member behind each session opened the concept
    beside it (counted once per member and concept; a member's first of a map makes them
    its explorer, once however many of its concepts the transaction holds). Returns the
    maps whose count of explorers changed."""
    if not opened:
        return []
    firsts: dict[tuple[int, int], tuple[int, int]] = {}
    explored: dict[tuple[int, int], tuple[int, int, float, int]] = {}
    for session, concept_id in opened:
        firsts.setdefault((session.map_id, session.owner_id), (concept_id, session.owner_id))
        explored[concept_id, session.owner_id] = (session.owner_id, session.scope, now, concept_id)
    # Every explorer counted before any of this transaction's explorations is inserted
    # (the statement returns the map's id when its count moved); maps in id order.
    counted = await db.fetchmany(COUNT_EXPLORER, [firsts[k] for k in sorted(firsts)])
    await db.executemany(INSERT_EXPLORED, sorted(explored.values(), key=lambda r: r[3]))
    return [row[0] for row in counted]


class LearningStore:
    """Explorations, names, review decks, threads."""

    if TYPE_CHECKING:  # supplied by Storage and its backend

        def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

        def _changing(self) -> AbstractAsyncContextManager[Note]: ...

        async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

        async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    # -- progress ---------------------------------------------------------------

    async def member_maps(self, scope: int, user_id: int, limit: int) -> list[MapProgress]:
        rows = await self._all(MEMBER_MAPS, (scope, user_id, limit))
        return [MapProgress(r[0], r[1], int(r[2]), int(r[3])) for r in rows]

    async def top_explorers(self, scope: int, since: float, limit: int) -> list[tuple[int, int]]:
        return [(r[0], int(r[1])) for r in await self._all(TOP_EXPLORERS, (scope, since, limit))]

    async def top_scorers(self, scope: int, since: float, limit: int) -> list[tuple[int, int]]:
        return [(r[0], int(r[1])) for r in await self._all(TOP_SCORERS, (scope, since, limit))]

    async def member_score(self, scope: int, user_id: int) -> tuple[int, int]:
        """(right answers, answers) of the member's quizzes in the scope."""
        row = await self._one(MEMBER_SCORE, (scope, user_id))
        assert row is not None
        return int(row[0]), int(row[1])

    async def save_name(self, scope: int, user_id: int, name: str) -> None:
        async with self.transaction() as db:
            await db.execute(UPSERT_NAME, (scope, user_id, name))

    async def names(self, scope: int, user_ids: Collection[int]) -> dict[int, str]:
        if not user_ids:
            return {}
        ids = list(user_ids)
        sql = SELECT_NAMES.format(ids=", ".join("?" * len(ids)))
        return {r[0]: r[1] for r in await self._all(sql, (scope, *ids))}

    # -- review decks -------------------------------------------------------------

    async def add_card(
        self,
        *,
        user_id: int,
        concept_id: int,
        topic: str,
        title: str,
        prompt: str,
        answer: str,
        fsrs: str,
        due: float,
        now: float,
    ) -> tuple[ReviewCard, bool]:
        """Add a concept to the member's deck; (the card, whether it is new)."""
        async with self.transaction() as db:
            added = await db.execute(
                INSERT_CARD, (user_id, concept_id, topic, title, prompt, answer, fsrs, due, now)
            )
        row = await self._one(SELECT_CARD_OF_CONCEPT, (user_id, concept_id))
        assert row is not None
        return ReviewCard.model_validate(dict(row)), bool(added)

    async def get_card(self, card_id: int) -> ReviewCard | None:
        row = await self._one(SELECT_CARD, (card_id,))
        return ReviewCard.model_validate(dict(row)) if row else None

    async def first_due(self, user_id: int, now: float) -> ReviewCard | None:
        row = await self._one(FIRST_DUE, (user_id, now))
        return ReviewCard.model_validate(dict(row)) if row else None

    async def count_due(self, user_id: int, now: float) -> int:
        row = await self._one(COUNT_DUE, (user_id, now))
        assert row is not None
        return int(row[0])

    async def next_due(self, user_id: int, now: float) -> float | None:
        row = await self._one(NEXT_DUE, (user_id, now))
        return row[0] if row else None

    async def count_cards(self, user_id: int) -> int:
        row = await self._one(COUNT_CARDS, (user_id,))
        assert row is not None
        return int(row[0])

    async def deck_page(self, user_id: int, limit: int, offset: int) -> list[ReviewCard]:
        rows = await self._all(DECK_PAGE, (user_id, limit, offset))
        return [ReviewCard.model_validate(dict(r)) for r in rows]

    async def whole_deck(self, user_id: int) -> list[ReviewCard]:
        return [ReviewCard.model_validate(dict(r)) for r in await self._all(WHOLE_DECK, (user_id,))]

    async def review_card(
        self, card_id: int, user_id: int, *, fsrs: str, due: float, rating: int, now: float
    ) -> bool:
        """Store a review's new schedule and log it, in one transaction; False if the card
        is not the member's (or was removed)."""
        async with self.transaction() as db:
            if not await db.execute(UPDATE_CARD, (fsrs, due, card_id, user_id)):
                return False
            await db.execute(INSERT_REVIEW, (user_id, card_id, rating, now))
        return True

    async def remove_card(self, card_id: int, user_id: int) -> bool:
        async with self.transaction() as db:
            return await db.execute(DELETE_CARD, (card_id, user_id)) > 0

    async def review_times(self, user_id: int, since: float) -> list[float]:
        """When the member reviewed since ``since``, newest first."""
        return [r[0] for r in await self._all(REVIEW_TIMES, (user_id, since))]

    # -- threads and the forum ----------------------------------------------------

    async def find_thread(self, kind: str, target: int, channel_id: int) -> int | None:
        row = await self._one(SELECT_THREAD, (kind, target, channel_id))
        return row[0] if row else None

    async def save_thread(
        self, *, scope: int, kind: str, target: int, channel_id: int, thread_id: int, now: float
    ) -> None:
        async with self.transaction() as db:
            await db.execute(UPSERT_THREAD, (scope, kind, target, channel_id, thread_id, now))

    async def thread_target(self, thread_id: int) -> tuple[str, int] | None:
        """What a thread the bot opened is about: (kind, concept or map id)."""
        row = await self._one(THREAD_TARGET, (thread_id,))
        return (row[0], row[1]) if row else None

    async def forum_channel(self, scope: int) -> int | None:
        row = await self._one(SELECT_FORUM, (scope,))
        return row[0] if row else None

    async def set_forum_channel(self, scope: int, channel_id: int | None) -> None:
        async with self._changing() as note, self.transaction() as db:
            await db.execute(UPSERT_FORUM, (scope, channel_id))
            await note(db, Change(Changed.SETTINGS, scope=scope))  # readers holding it drop it
