"""Two bot processes on one PostgreSQL: one generation between them, and a dead
process's lease that runs out; and a SQLite bot restarted after being killed
mid-generation. Each process is ``tests/support/open_concept.py`` with its own
pool; both talk to the stand-in API running here, which counts calls.

One test, as the processes take seconds to start: they are started once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

from bot.config import PROJECT_ROOT
from bot.explore import Explorer
from bot.explore.limits import LEASE_SLACK
from bot.maps import BundledMaps
from bot.models import ChildState, Source
from bot.runtime import open_generator
from bot.storage import open_storage
from tests.support import standin as s
from tests.support.fakes import draft

GUILD = 4242
OPENS_PER_PROCESS = 25
DEADLINE = 5.0  # seconds: the lease a generation takes is this plus LEASE_SLACK
LINE_WAIT = 60  # seconds a process may take to start (imports) or to answer
TITLES = ["Sub-concept 1", "Sub-concept 2", "Sub-concept 3"]


async def unexpanded_concepts(database: str) -> list[int]:
    async with open_storage(database) as storage:
        stored = await storage.create_map(
            scope=GUILD,
            key="tides",
            topic="Tides",
            language="en",
            overview="Tides are the rise and fall of the sea. The Moon drives them.",
            source=Source.GENERATED,
            model="claude-sonnet-4-6",
            concepts=[draft("Spring Tides"), draft("Neap Tides"), draft("Tidal Range")],
            now=time.time(),
        )
        return [c.id for c in await storage.key_concepts(stored.id)]


class BotProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, standin: s.StandIn, database: str) -> BotProcess:
        config = {
            "database": database,
            "base_url": standin.base_url,
            "scope": GUILD,
            "deadline": DEADLINE,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.open_concept",
            json.dumps(config),
            cwd=PROJECT_ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        started = cls(process)
        assert await started.line() == "ready"
        return started

    async def line(self) -> str:
        assert self.process.stdout is not None
        read = self.process.stdout.readline()
        return (await asyncio.wait_for(read, LINE_WAIT)).decode().strip()

    async def send(self, concept_id: int, opens: int) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{concept_id} {opens}\n".encode())
        await self.process.stdin.drain()

    async def results(self) -> list[list[str] | str]:
        return json.loads(await self.line())

    async def end(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


async def test_two_processes_generate_once_and_a_dead_ones_lease_expires(
    standin, postgres_url: str
):
    shared, abandoned, _ = await unexpanded_concepts(postgres_url)
    first, second = await asyncio.gather(
        BotProcess.start(standin, postgres_url), BotProcess.start(standin, postgres_url)
    )
    try:
        # 25 opens in each process at once; the reply is held long enough that
        # the process that lost the lease waits on the other's.
        standin.script(s.Reply(content=s.valid_expansion(3), delay=1.0))
        await asyncio.gather(
            first.send(shared, OPENS_PER_PROCESS), second.send(shared, OPENS_PER_PROCESS)
        )
        results = await asyncio.gather(first.results(), second.results())
        assert results == [[TITLES] * OPENS_PER_PROCESS] * 2
        assert len(standin.requests) == 1

        # The winner of another concept dies mid-generation (its reply never comes).
        standin.script(s.Reply(content=s.valid_expansion(3), delay=60))
        await first.send(abandoned, 1)
        async with asyncio.timeout(30):
            while len(standin.requests) < 2:  # noqa: ASYNC110 (the stand-in only keeps a list)
                await asyncio.sleep(0.05)
        os.kill(first.process.pid, signal.SIGKILL)
        await first.process.wait()
    finally:
        await asyncio.gather(first.end(), second.end())

    settings = standin.settings(database=postgres_url, generation_deadline=DEADLINE)
    async with open_storage(postgres_url) as storage, open_generator(settings) as (generator, _):
        left = await storage.get_concept(abandoned)
        assert left is not None and left.state is ChildState.PENDING
        # A later open, once the dead process's lease has run out.
        lease = DEADLINE + LEASE_SLACK
        later = Explorer(
            storage,
            BundledMaps.load(Path(settings.maps_dir)),
            settings,
            generator,
            clock=lambda: time.time() + lease + 1,
        )
        # Sub-concepts of their own: the map's other concept already has TITLES.
        standin.script(s.answer(s.valid_expansion(3, prefix="Neap tide part")))
        view = await later.concepts.expand(GUILD, 7, abandoned)
    assert [c.title for c in view.children] == [f"Neap tide part {n}" for n in (1, 2, 3)]
    assert len(standin.requests) == 3


async def test_a_restarted_sqlite_bot_takes_over_the_lease_its_killed_process_left(
    standin, tmp_path: Path
):
    """A SQLite file has one process: the lease of a generation that process was killed in
    is released when the bot starts again, so the next open generates at once instead of
    waiting for the lease to run out."""
    database = str(tmp_path / "kinapse.db")
    _, abandoned, _ = await unexpanded_concepts(database)
    process = await BotProcess.start(standin, database)
    try:
        standin.script(s.Reply(content=s.valid_expansion(3), delay=60))
        await process.send(abandoned, 1)
        async with asyncio.timeout(30):
            while not standin.requests:  # noqa: ASYNC110 (the stand-in only keeps a list)
                await asyncio.sleep(0.05)
        os.kill(process.process.pid, signal.SIGKILL)
    finally:
        await process.end()

    settings = standin.settings(database=database, generation_deadline=DEADLINE)
    # Opened as the restarted bot opens it (runtime.open_explorer): holding the file.
    async with (
        open_storage(database, exclusive=True) as storage,
        open_generator(settings) as (generator, _),
    ):
        left = await storage.get_concept(abandoned)
        assert left is not None and left.state is ChildState.UNEXPANDED
        bundled = BundledMaps.load(Path(settings.maps_dir))
        restarted = Explorer(storage, bundled, settings, generator)
        standin.script(s.answer(s.valid_expansion(3, prefix="Neap tide part")))
        async with asyncio.timeout(DEADLINE):  # the old lease had DEADLINE + LEASE_SLACK to go
            view = await restarted.concepts.expand(GUILD, 7, abandoned)
    assert [c.title for c in view.children] == [f"Neap tide part {n}" for n in (1, 2, 3)]


async def test_a_sqlite_file_opened_beside_the_bot_leaves_its_leases_alone(tmp_path: Path):
    database = tmp_path / "kinapse.db"
    _, pending, _ = await unexpanded_concepts(str(database))
    async with open_storage(database, exclusive=True) as bot:
        assert await bot.claim_expansion(pending, now=time.time(), lease=60)
        # A tool reading the file while the bot runs (maps export) is not its restart.
        async with open_storage(database) as tool:
            assert (await tool.get_concept(pending)).state is ChildState.PENDING
