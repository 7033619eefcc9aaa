"""Limits are told by the database's clock, not each process's (issue 26).

Two processes on one PostgreSQL: one whose machine's clock is set wrong
(``tests/support/clock_off.py``, its ``time.time`` off before the bot is imported)
starts a generation for a member; then a correct one, here, is asked whether the
member may start another once the cooldown has passed. A process that stamped its
reservation and usage by its own clock would have it refuse the member until that
clock's time came round (a day, for a clock a day ahead).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import pytest

from bot.config import PROJECT_ROOT, Settings
from bot.explore.clock import CLOCK_TOLERANCE, DatabaseClock
from bot.runtime import open_explorer
from bot.storage import open_storage

SCOPE, USER = 4242, 77
COOLDOWN = 1  # seconds: one generation per second per member
LINE_WAIT = 60  # seconds a process may take to start (imports) and generate


async def generate_elsewhere(database: str, offset: float) -> tuple[str, int]:
    """One generation by a process whose clock is ``offset`` seconds off: its line, its
    exit status."""
    config = {
        "database": database,
        "offset": offset,
        "scope": SCOPE,
        "user": USER,
        "cooldown_seconds": COOLDOWN,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.clock_off",
        json.dumps(config),
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), LINE_WAIT)
    return out.decode().strip(), process.returncode or 0


async def stored_times(database: str) -> tuple[float, list[float]]:
    """The database's time now, and when each usage row it holds was stamped."""
    async with open_storage(database) as storage:
        now = await storage.database_time()
        rows = await storage._all("SELECT created_at FROM usage")
    assert now is not None
    return now, [row[0] for row in rows]


async def may_start_another(database: str) -> None:
    """A correct process (the real clock) lets the member start another generation now."""
    settings = Settings(database=database, cooldown_generations=1, cooldown_seconds=COOLDOWN)
    async with open_explorer(settings) as explorer:
        await explorer.budget.check(SCOPE, USER)  # raises LimitReached if refused
        reservation = await explorer.budget.start(SCOPE, USER, "map:neap tides")
        await explorer.budget.release(reservation)


@pytest.mark.parametrize("offset", [50.0, -50.0], ids=["50 s ahead", "50 s behind"])
async def test_a_process_whose_clock_is_off_stamps_shared_times_by_the_databases_clock(
    postgres_url: str, offset: float
):
    said, status = await generate_elsewhere(postgres_url, offset)
    assert (said, status) == ("generated", 0)

    # Once the member's cooldown has passed, a correct process lets them start again.
    await asyncio.sleep(COOLDOWN + 0.2)
    await may_start_another(postgres_url)
    # Their first generation was stamped on the database's clock, not the process's.
    now, stamped = await stored_times(postgres_url)
    assert len(stamped) == 1 and now - 10 < stamped[0] <= now + 1


@pytest.mark.parametrize(
    "offset", [86_400.0, -86_400.0, CLOCK_TOLERANCE + 30], ids=["a day ahead", "behind", "90 s"]
)
async def test_a_process_whose_clock_is_more_than_a_minute_off_refuses_to_start(
    postgres_url: str, offset: float
):
    said, status = await generate_elsewhere(postgres_url, offset)

    assert status == 2 and said.startswith("cannot start: this machine's clock")
    assert "ahead of" in said if offset > 0 else "behind" in said
    assert "the database's" in said and "set the clock right" in said
    # It stamped nothing: the member is not held up a day by it.
    _, stamped = await stored_times(postgres_url)
    assert stamped == []
    await may_start_another(postgres_url)


async def test_the_database_clock_keeps_the_servers_time_whatever_the_local_clock_does(
    postgres_url: str,
):
    local = [time.time() + 30]  # within the tolerance: the bot starts
    async with open_storage(postgres_url) as storage:
        clock = DatabaseClock(storage, local=lambda: local[0])
        await clock.start()
        assert 29 < clock.skew < 31
        local[0] += 86_400  # set a day ahead while the bot runs
        server = await storage.database_time()
        assert server is not None and abs(clock() - server) < 1.0
        # Read again later (every CLOCK_CHECK), it is still the server's time.
        await clock.read()
        server = await storage.database_time()
        assert server is not None and abs(clock() - server) < 1.0


async def test_a_sqlite_bot_tells_the_time_by_its_own_clock(tmp_path):
    settings = Settings(database=tmp_path / "kinapse.db")
    async with open_explorer(settings) as explorer:
        assert explorer.clock is time.time
