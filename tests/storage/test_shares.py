"""Who asked for an answer, and the one time they share it, on both backends."""

from __future__ import annotations

import asyncio

from bot.storage import Storage
from tests.storage.test_storage import GUILD, store_cells

ALICE, BOB = 11, 22


async def an_answer(storage: Storage) -> int:
    stored = await store_cells(storage)
    answer = await storage.save_answer(
        scope=GUILD,
        map_id=stored.id,
        concept_id=None,
        question_key="why",
        question="Why?",
        text="Because.",
        model="claude-x",
        now=1000.0,
    )
    return answer.id


async def test_each_asking_is_its_own_and_is_shared_once_by_its_asker(storage: Storage) -> None:
    answer = await an_answer(storage)
    alices = await storage.record_ask(answer, ALICE, now=1001.0)
    bobs = await storage.record_ask(answer, BOB, now=1002.0)
    assert alices != bobs

    assert not await storage.claim_share(alices, BOB, now=1003.0)  # not his to share
    claims = await asyncio.gather(
        *(storage.claim_share(alices, ALICE, now=1004.0) for _ in range(5))
    )
    assert sorted(claims) == [False] * 4 + [True]  # five presses at once: one post
    asked = await storage.get_ask(alices)
    assert asked is not None and (asked.user_id, asked.shared_at) == (ALICE, 1004.0)
    assert not await storage.claim_share(alices, ALICE, now=1005.0)  # and never again

    await storage.release_share(alices)  # its post failed
    assert await storage.claim_share(alices, ALICE, now=1006.0)
    assert await storage.claim_share(bobs, BOB, now=1007.0)  # his own, once


async def test_askings_go_with_their_answer_and_are_pruned_with_the_sessions(
    storage: Storage,
) -> None:
    answer = await an_answer(storage)
    old = await storage.record_ask(answer, ALICE, now=10.0)
    new = await storage.record_ask(answer, ALICE, now=5000.0)
    pruned = await storage.prune(
        sessions_before=100.0, now=5000.0, usage_before=0.0, retries_before=100.0
    )
    assert pruned.asks == 1
    assert await storage.get_ask(old) is None and await storage.get_ask(new) is not None
    assert await storage.delete_map(GUILD, "cells")
    assert await storage.get_ask(new) is None
