"""Progress, together: what a member explored, scored and reviewed, and the server's
leaderboard of explorers and quiz scores (weekly and all time). Only members who used the
bot are counted: the bot reads its own records, never the member list."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.explore.reviews import Reviews
from bot.storage import Storage
from bot.storage.learning import MapProgress

MAPS_SHOWN = 10
BOARD_SIZE = 10


@dataclass(frozen=True)
class MemberProgress:
    maps: list[MapProgress]
    right: int  # quiz answers right, in this scope
    answered: int
    streak: int  # days in a row with a review
    deck: int  # cards in the member's deck
    due: int


@dataclass(frozen=True)
class Board:
    """Top explorers (concepts opened) and quiz scores (right answers), as (user, count)."""

    explorers: list[tuple[int, int]]
    scorers: list[tuple[int, int]]
    since: float | None  # None: all time


class Progress:
    def __init__(self, storage: Storage, reviews: Reviews, clock: Callable[[], float]) -> None:
        self.storage = storage
        self.reviews = reviews
        self.clock = clock

    async def of_member(self, scope: int, user_id: int) -> MemberProgress:
        right, answered = await self.storage.member_score(scope, user_id)
        return MemberProgress(
            maps=await self.storage.member_maps(scope, user_id, MAPS_SHOWN),
            right=right,
            answered=answered,
            streak=await self.reviews.streak(user_id),
            deck=await self.storage.count_cards(user_id),
            due=await self.storage.count_due(user_id, self.clock()),
        )

    async def board(self, scope: int, *, weekly: bool) -> Board:
        since = week_start(self.clock()) if weekly else None
        start = since if since is not None else 0.0
        return Board(
            explorers=await self.storage.top_explorers(scope, start, BOARD_SIZE),
            scorers=await self.storage.top_scorers(scope, start, BOARD_SIZE),
            since=since,
        )

    async def names(self, scope: int, user_ids: Collection[int]) -> dict[int, str]:
        """The display names the bot was last shown for these members in the scope."""
        return await self.storage.names(scope, user_ids)

    async def seen(self, scope: int, user_id: int, name: str) -> None:
        """Remember the name a member goes by in the scope, for boards."""
        await self.storage.save_name(scope, user_id, name)


def week_start(now: float) -> float:
    """Monday 00:00 UTC of the week ``now`` falls in."""
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day - timedelta(days=day.weekday())).timestamp()
