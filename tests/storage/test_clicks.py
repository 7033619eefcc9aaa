"""A batch of clicks written in one transaction (``Storage.save_clicks``): the counts it
stores, the changes it reports to this process's readers, and on PostgreSQL what another
process hears of it (one NOTIFY for many changes, split where a payload would be too long)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bot.models import ConceptMap, Session, Source
from bot.storage import Change, Changed, Storage, open_storage, postgres
from bot.storage.migrations import Dialect
from tests.support.fakes import draft

GUILD = 1001
ALICE, BOB = 11, 22


async def stored_map(storage: Storage, key: str) -> tuple[ConceptMap, list[int]]:
    created = await storage.create_map(
        scope=GUILD,
        key=key,
        topic=key.title(),
        language="en",
        overview="An overview. It has three key concepts.",
        source=Source.GENERATED,
        model="m",
        concepts=[draft(f"{key} {n}") for n in range(1, 4)],
        now=0.0,
    )
    return created, [c.id for c in await storage.key_concepts(created.id)]


def at(member: int, message: int, found: ConceptMap, concept: int) -> Session:
    return Session(
        message_id=message, owner_id=member, scope=GUILD, map_id=found.id, concept_id=concept
    )


async def test_a_batch_counts_each_first_open_and_explorer_once_and_reports_them(
    storage: Storage,
):
    tides, (t1, t2, _) = await stored_map(storage, "tides")
    winds, (w1, _, _) = await stored_map(storage, "winds")
    heard: list[Change] = []
    storage.watch(heard.append)
    # Bob explored the winds before this batch: his next open there makes him no newcomer.
    await storage.save_clicks([(at(BOB, 9, winds, w1), w1)], now=1.0)
    # Heard at once, and on PostgreSQL again by its own listener: that one awaited.
    echoes = 2 if storage.dialect is Dialect.POSTGRES else 1
    async with asyncio.timeout(10):
        while heard.count(Change(Changed.OPENED, winds.id, w1)) < echoes:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    heard.clear()

    await storage.save_clicks(
        [
            (at(ALICE, 1, tides, t1), t1),
            (at(ALICE, 1, tides, t2), t2),  # the same card, later: this session stands
            (at(BOB, 2, tides, t1), t1),
            (at(BOB, 9, winds, w1), w1),
            (None, t2),  # an open without a session (a private copy's count)
        ],
        now=2.0,
    )

    tides_now, winds_now = await storage.get_map(tides.id), await storage.get_map(winds.id)
    assert tides_now is not None and winds_now is not None
    assert (tides_now.opened, tides_now.explorers) == (2, 2)  # t1 and t2; Alice and Bob
    assert (winds_now.opened, winds_now.explorers) == (1, 1)  # as before the batch
    session = await storage.get_session(1)
    assert session is not None and session.concept_id == t2
    # (PostgreSQL: its own NOTIFY may bring them again; a change heard twice drops nothing more.)
    assert set(heard) == {
        Change(Changed.COUNTED, tides.id),
        Change(Changed.OPENED, tides.id, t1),
        Change(Changed.OPENED, tides.id, t2),
    }


async def test_another_process_hears_every_change_of_a_batch(postgres_url: str):
    async with open_storage(postgres_url) as here, open_storage(postgres_url) as there:
        tides, (t1, t2, t3) = await stored_map(here, "tides")
        heard: list[Change] = []
        there.watch(heard.append)
        clicks = [(at(ALICE, n, tides, c), c) for n, c in enumerate((t1, t2, t3), start=1)]

        await here.save_clicks(clicks, now=1.0)

        expected = {Change(Changed.OPENED, tides.id, c) for c in (t1, t2, t3)}
        expected.add(Change(Changed.COUNTED, tides.id))
        async with asyncio.timeout(10):
            while not expected <= set(heard):  # noqa: ASYNC110 (NOTIFY from another process)
                await asyncio.sleep(0.02)


async def test_changes_past_one_notifys_payload_go_out_in_several(postgres_url: str):
    many = [Change(Changed.OPENED, 10**15 + n, 10**16 + n) for n in range(600)]
    assert len("\n".join(c.payload() for c in many).encode()) > 3 * postgres.NOTIFY_PAYLOAD_MAX
    async with open_storage(postgres_url) as here, open_storage(postgres_url) as there:
        heard: list[Change] = []
        there.watch(heard.append)

        async with here._changing() as note, here.transaction() as db:
            await note(db, *many)

        async with asyncio.timeout(10):
            while len(heard) < len(many):  # noqa: ASYNC110 (NOTIFY from another process)
                await asyncio.sleep(0.02)
        assert heard == many  # every one, in order, none unreadable (EVERYTHING)


async def test_a_batch_and_an_expansion_of_its_concept_do_not_deadlock(postgres_url: str):
    """Storing sub-concepts locks the concept's row, then its map's (the map's total); a
    batch that counts an open of that concept meanwhile must take them in that order too,
    or each waits on the other's row until PostgreSQL kills one (the click lost)."""
    async with open_storage(postgres_url) as storage:
        tides, (t1, _, _) = await stored_map(storage, "tides")
        expansion = await asyncpg.connect(postgres_url)
        try:
            async with expansion.transaction():
                await expansion.execute("UPDATE concepts SET state = 'pending' WHERE id = $1", t1)
                clicks = asyncio.ensure_future(
                    storage.save_clicks([(at(ALICE, 1, tides, t1), t1)], now=1.0)
                )
                await asyncio.sleep(0.3)  # the batch is waiting for the concept's row
                assert not clicks.done()
                await expansion.execute("UPDATE maps SET total = total WHERE id = $1", tides.id)
            await asyncio.wait_for(clicks, 10)
        finally:
            await expansion.close()
        counted = await storage.get_map(tides.id)
        assert counted is not None and (counted.opened, counted.explorers) == (1, 1)
        assert await storage.get_session(1) == at(ALICE, 1, tides, t1)


@pytest.mark.parametrize("lines", [1, 50, 400])
def test_notify_payloads_hold_whole_lines_within_the_limit(lines: int):
    payloads = list(postgres._payloads(f"opened {n} {10**17 + n} 0 " for n in range(lines)))
    assert all(len(p.encode()) <= postgres.NOTIFY_PAYLOAD_MAX for p in payloads)
    assert "\n".join(payloads).split("\n") == [f"opened {n} {10**17 + n} 0 " for n in range(lines)]
