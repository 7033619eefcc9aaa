"""Sessions held by the process and written behind, on a real Storage (both backends): read
from storage once, batched under load, a bad click costing no other its write, bounded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.config import PROJECT_ROOT, Settings
from bot.explore import Explorer
from bot.explore.sessions import Sessions
from bot.maps import BundledMaps
from bot.models import ConceptMap, Session
from bot.storage import Storage

SCOPE = 111111111111111111
ALICE, BOB = 444444444444444444, 555555555555555555


@pytest.fixture
async def explorer(storage: Storage) -> AsyncIterator[Explorer]:
    explorer = Explorer(storage, BundledMaps.load(PROJECT_ROOT / "maps"), Settings())
    yield explorer
    await explorer.aclose()


async def agents(explorer: Explorer) -> ConceptMap:
    found = await explorer.topics.lookup(SCOPE, "AI Agents")
    assert found is not None
    return found


def card(message_id: int, found: ConceptMap, concept_id: int | None = None) -> Session:
    return Session(
        message_id=message_id, owner_id=ALICE, scope=SCOPE, map_id=found.id, concept_id=concept_id
    )


def counting(storage: Storage, monkeypatch: pytest.MonkeyPatch, name: str) -> list[Any]:
    """Every call of the storage's ``name``, as it happens."""
    calls: list[Any] = []
    real = getattr(storage, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(storage, name, counted)
    return calls


async def test_a_card_is_read_from_storage_once_then_held(
    explorer: Explorer, storage: Storage, monkeypatch: pytest.MonkeyPatch
):
    found = await agents(explorer)
    await storage.save_session(card(7, found), now=1.0)  # as a previous run left it
    reads = counting(storage, monkeypatch, "get_session")

    first = await explorer.sessions.get(7)
    moved = explorer.sessions.moved(
        first, (await explorer.concepts.map_view(found.id)).concepts[0].id
    )
    explorer.sessions.record(moved)

    assert await explorer.sessions.get(7) == moved  # before its write lands, and after
    await explorer.sessions.flush()
    assert await explorer.sessions.get(7) == moved
    assert len(reads) == 1
    assert await storage.get_session(7) == moved


async def test_clicks_answered_while_a_batch_is_written_go_in_one_transaction(
    explorer: Explorer, storage: Storage, monkeypatch: pytest.MonkeyPatch
):
    found = await agents(explorer)
    first = (await explorer.concepts.map_view(found.id)).concepts[0].id
    batches: list[int] = []
    gate = asyncio.Event()
    real = storage.save_clicks

    async def slow_first(clicks: Any, *, now: float) -> None:
        batches.append(len(clicks))
        if len(batches) == 1:
            await gate.wait()
        await real(clicks, now=now)

    monkeypatch.setattr(storage, "save_clicks", slow_first)
    explorer.sessions.record(card(1, found))
    await asyncio.sleep(0)  # the first batch is being written
    for message_id in range(2, 52):
        explorer.sessions.record(card(message_id, found, first), opened=first)
    gate.set()
    await explorer.sessions.flush()

    assert batches == [1, 50]
    assert await storage.get_session(51) == card(51, found, first)
    stored = await storage.find_map(SCOPE, "ai agents")
    assert stored is not None and stored.opened == 1  # the concept's first open, once
    row = await storage._one("SELECT open_count FROM concepts WHERE id = ?", (first,))
    assert row is not None and row[0] == 50  # and every open


async def test_a_click_that_cannot_be_written_costs_no_other_its_write(
    explorer: Explorer, storage: Storage, caplog: pytest.LogCaptureFixture
):
    found = await agents(explorer)
    other = await explorer.topics.lookup(SCOPE, "Macroeconomics")
    assert other is not None
    # Its map deleted between the answer and the write: that session's row cannot go in.
    await storage.delete_map(SCOPE, "macroeconomics")
    for session in (card(1, found), card(2, other), card(3, found), card(4, found)):
        explorer.sessions.record(session)
    await explorer.sessions.flush()

    assert await storage.get_session(1) == card(1, found)
    assert await storage.get_session(3) == card(3, found)
    assert await storage.get_session(4) == card(4, found)
    assert await storage.get_session(2) is None
    assert "Could not save a click" in caplog.text


async def test_the_cards_held_are_bounded_but_an_unwritten_move_is_never_dropped(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
):
    explorer = Explorer(storage, BundledMaps.load(PROJECT_ROOT / "maps"), Settings())
    explorer.sessions = Sessions(storage, explorer.concepts, explorer.clock, held=2)
    found = await agents(explorer)
    reads = counting(storage, monkeypatch, "get_session")
    gate = asyncio.Event()
    real = storage.save_clicks

    async def held_back(clicks: Any, *, now: float) -> None:
        await gate.wait()
        await real(clicks, now=now)

    monkeypatch.setattr(storage, "save_clicks", held_back)
    for message_id in range(1, 6):
        explorer.sessions.record(card(message_id, found))

    # Five cards past a bound of two, none written: each is still where it was left.
    for message_id in range(1, 6):
        assert await explorer.sessions.get(message_id) == card(message_id, found)
    assert reads == []
    gate.set()
    await explorer.aclose()
    # Written now: the oldest are dropped from memory and read back from storage.
    assert await explorer.sessions.get(1) == card(1, found)
    assert len(reads) == 1


async def test_a_press_waits_for_its_cards_last_move_only_while_it_is_unwritten(
    explorer: Explorer, storage: Storage, monkeypatch: pytest.MonkeyPatch
):
    found = await agents(explorer)
    gate = asyncio.Event()
    real = storage.save_clicks

    async def held_back(clicks: Any, *, now: float) -> None:
        await gate.wait()
        await real(clicks, now=now)

    monkeypatch.setattr(storage, "save_clicks", held_back)
    explorer.sessions.record(card(1, found))
    ready = asyncio.ensure_future(explorer.sessions.ready(1))
    other = asyncio.ensure_future(explorer.sessions.ready(2))  # a card with nothing unwritten
    await asyncio.sleep(0.05)
    assert other.done() and not ready.done()
    gate.set()
    await asyncio.wait_for(ready, 5)
    assert await storage.get_session(1) == card(1, found)


async def test_one_members_presses_on_a_card_take_turns_others_do_not_wait(
    explorer: Explorer,
):
    order: list[str] = []

    async def press(name: str, user: int, hold: float) -> None:
        async with explorer.sessions.turn(9, user):
            order.append(f"{name} in")
            await asyncio.sleep(hold)
            order.append(f"{name} out")

    await asyncio.gather(
        press("first", ALICE, 0.05), press("second", ALICE, 0), press("bob", BOB, 0)
    )
    assert order.index("first out") < order.index("second in")
    assert order.index("bob out") < order.index("first out")  # Bob's copy is not held up
