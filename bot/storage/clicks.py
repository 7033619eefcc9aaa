"""Clicks written behind their answers, many to one transaction: where each member stands,
the concepts they opened (each concept's count and its map's), and each member's own
progress. A few statements whatever the number of clicks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.models import Session
from bot.storage.learning import note_explorations
from bot.storage.records import _session_row
from bot.storage.sql import COUNT_FIRST_OPEN, COUNT_OPENS, UPSERT_SESSION

if TYPE_CHECKING:
    from bot.storage.base import Transaction

Click = tuple[Session | None, int | None]  # where a member stands now, the concept opened


def has_work(clicks: Sequence[Click]) -> bool:
    return any(session is not None or opened is not None for session, opened in clicks)


async def write_clicks(db: Transaction, clicks: Sequence[Click], now: float) -> None:
    """In ``db``: every click's session (a message's later session wins) and open."""
    sessions = {s.message_id: s for s, _ in clicks if s is not None}
    opens = Counter(opened for _, opened in clicks if opened is not None)
    # Rows in id order: two processes' batches lock the rows they share in the same order.
    if sessions:
        rows = [_session_row(sessions[m], now) for m in sorted(sessions)]
        await db.executemany(UPSERT_SESSION, rows)
    if opens:
        concepts = sorted(opens)
        # Each concept's first open counts on its map before its own count moves.
        await db.executemany(COUNT_FIRST_OPEN, [(c,) for c in concepts])
        await db.executemany(COUNT_OPENS, [(opens[c], c) for c in concepts])
        # The members who opened them: their own progress.
        opened = [(s, o) for s, o in clicks if s is not None and o is not None]
        await note_explorations(db, opened, now)
