"""`in_time` on the real clock: SimCord's virtual clock only moves while the bot is idle,
so how long an answer may wait before the interaction is deferred is measured here, with
real asyncio time, a real SQLite file and a real lock held by another connection."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import discord
import pytest

from bot.storage import open_storage
from bot.ui import in_time as views
from tests.support.faults import locked_by_another_process

# The deferral timer, shortened so the tests take a second, not three.
ACK_AFTER = 0.5
SLACK = 0.3  # how late a timer may fire on a loaded 2-core machine


class Pending:
    """What ``in_time`` reads of a discord.py interaction: when it was created, and its
    response, which records when it was deferred and how."""

    id = 1

    def __init__(self, age: float = 0.0) -> None:
        self.created_at = discord.utils.utcnow() - timedelta(seconds=age)
        self.response = self
        self.extras: dict[str, object] = {}
        self.deferred: tuple[float, bool] | None = None  # (when, ephemeral)

    def is_done(self) -> bool:
        return self.deferred is not None

    async def defer(self, *, thinking: bool, ephemeral: bool) -> None:
        assert thinking  # the member sees "thinking…", not nothing
        self.deferred = (time.monotonic(), ephemeral)


@pytest.fixture(autouse=True)
def short_patience(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "ACK_AFTER", ACK_AFTER)


async def slow(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "card"


async def test_an_answer_ready_in_time_is_not_deferred() -> None:
    interaction = Pending()
    assert await views.in_time(interaction, slow(0.05)) == "card"  # type: ignore[arg-type]
    assert interaction.deferred is None


async def test_a_slow_answer_is_deferred_when_its_time_is_up_and_still_returned() -> None:
    interaction = Pending()
    started = time.monotonic()
    result = await views.in_time(interaction, slow(ACK_AFTER + 0.4), ephemeral=True)  # type: ignore[arg-type]
    assert result == "card"
    assert interaction.deferred is not None
    when, ephemeral = interaction.deferred
    assert ACK_AFTER - 0.05 <= when - started < ACK_AFTER + SLACK and ephemeral


async def test_the_time_the_interaction_spent_reaching_the_bot_counts() -> None:
    interaction = Pending(age=0.3)  # the gateway took 0.3 s to deliver it
    started = time.monotonic()
    await views.in_time(interaction, slow(ACK_AFTER + 0.2))  # type: ignore[arg-type]
    assert interaction.deferred is not None
    assert interaction.deferred[0] - started < ACK_AFTER - 0.3 + SLACK


async def test_a_write_that_waits_for_another_process_is_deferred_at_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kinapse.db"
    async with open_storage(path) as storage:
        interaction = Pending()
        with locked_by_another_process(path, seconds=2 * ACK_AFTER + 0.5):
            started = time.monotonic()
            writing = storage.remember_refusal(1, "map:volcanoes", 100.0)
            await views.in_time(interaction, writing)  # type: ignore[arg-type]
            finished = time.monotonic()
        assert interaction.deferred is not None
        # Deferred on the first failed attempt at the lock, long before the timer...
        assert interaction.deferred[0] - started < min(ACK_AFTER, SLACK)
        # ...and the write went in once the lock was let go.
        assert finished - started >= 2 * ACK_AFTER
        assert await storage.refused_until(1, "map:volcanoes", 0.0) == 100.0
