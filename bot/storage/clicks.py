"""Clicks written behind their answers, many to one transaction: where each member stands,
the concepts they opened (each concept's count and its map's), and each member's own
progress. A few statements whatever the number of clicks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.models import Session
from bot.storage.learning import note_explorations
from bot.storage.records import Change, Changed, _session_row
from bot.storage.sql import COUNT_FIRST_OPENS, COUNT_OPENS, UPSERT_SESSION

if TYPE_CHECKING:
    from bot.storage.base import Transaction
    from bot.storage.changes import Note

Click = tuple[Session | None, int | None]  # where a member stands now, the concept opened


def has_work(clicks: Sequence[Click]) -> bool:
    return any(session is not None or opened is not None for session, opened in clicks)


async def write_clicks(db: Transaction, clicks: Sequence[Click], now: float, note: Note) -> None:
    """In ``db``: every click's session (a message's later session wins) and open, and
    what changed of the maps and concepts noted for their readers (``changes.py``)."""
    sessions = {s.message_id: s for s, _ in clicks if s is not None}
    opens = Counter(opened for _, opened in clicks if opened is not None)
    # Rows in id order: two processes' batches lock the rows they share in the same order.
    if sessions:
        rows = [_session_row(sessions[m], now) for m in sorted(sessions)]
        await db.executemany(UPSERT_SESSION, rows)
    if not opens:
        return
    # The concepts' rows before their maps', as storing sub-concepts locks them: two
    # transactions never wait on each other's second row (PostgreSQL's deadlock).
    counted = await db.fetchmany(COUNT_OPENS, [(opens[c], c) for c in sorted(opens)])
    # A concept whose count is now this batch's opens had none: its map's first open.
    firsts = [(map_id, c) for map_id, c, count in counted if count == opens[c]]
    per_map = Counter(map_id for map_id, _ in firsts)
    if per_map:
        await db.executemany(COUNT_FIRST_OPENS, [(per_map[m], m) for m in sorted(per_map)])
    changes = [Change(Changed.OPENED, map_id, concept_id) for map_id, concept_id in firsts]
    # The members who opened them: their own progress, and the maps' explorers.
    opened = [(s, o) for s, o in clicks if s is not None and o is not None]
    explored = sorted(set(await note_explorations(db, opened, now)))  # maps, once each
    changes += [Change(Changed.COUNTED, map_id) for map_id in explored]
    await note(db, *changes)  # one notice for the whole batch
