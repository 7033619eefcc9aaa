"""Two bot processes on one PostgreSQL: one generation between them, and a dead
process's lease that runs out. Each process is ``tests/open_concept.py`` with
its own pool; both talk to the stand-in API running here, which counts calls."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

from bot.config import PROJECT_ROOT
from bot.explorer import LEASE_SLACK, Explorer
from bot.maps import BundledMaps
from bot.models import ChildState, Source
from bot.runtime import open_generator
from bot.storage import open_storage
from tests import standin as s
from tests.fakes import draft

GUILD = 4242
OPENS_PER_PROCESS = 25
DEADLINE = 5.0  # seconds: the lease a generation takes is this plus LEASE_SLACK
TITLES = ["Sub-concept 1", "Sub-concept 2", "Sub-concept 3"]


async def unexpanded_concept(database: str) -> int:
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
        return (await storage.key_concepts(stored.id))[0].id


async def start_process(config: dict) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.open_concept",
        json.dumps(config),
        cwd=PROJECT_ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
    assert line.strip() == b"ready"
    return process


def config(standin: s.StandIn, database: str, concept_id: int, opens: int) -> dict:
    return {
        "database": database,
        "base_url": standin.base_url,
        "concept_id": concept_id,
        "scope": GUILD,
        "opens": opens,
        "deadline": DEADLINE,
    }


async def test_fifty_opens_in_two_processes_make_one_model_call(standin, postgres_url: str):
    concept_id = await unexpanded_concept(postgres_url)
    # Held long enough that both processes are waiting while it is generated.
    standin.script(s.Reply(content=s.valid_expansion(3), delay=1.0))
    setup = config(standin, postgres_url, concept_id, OPENS_PER_PROCESS)
    processes = [await start_process(setup) for _ in range(2)]
    for process in processes:  # both at once
        assert process.stdin is not None
        process.stdin.write(b"go\n")
        await process.stdin.drain()
    outputs = await asyncio.wait_for(
        asyncio.gather(*(process.communicate() for process in processes)), timeout=60
    )
    results = [json.loads(stdout) for stdout, _ in outputs]
    assert [process.returncode for process in processes] == [0, 0]
    assert results == [[TITLES] * OPENS_PER_PROCESS] * 2
    assert len(standin.requests) == 1


async def test_a_killed_winner_leaves_a_lease_that_expires(standin, postgres_url: str):
    concept_id = await unexpanded_concept(postgres_url)
    standin.script(s.Reply(content=s.valid_expansion(3), delay=60))  # never answered in time
    winner = await start_process(config(standin, postgres_url, concept_id, 1))
    assert winner.stdin is not None
    winner.stdin.write(b"go\n")
    await winner.stdin.drain()
    async with asyncio.timeout(30):
        while not standin.requests:  # noqa: ASYNC110 (the stand-in only keeps a list)
            await asyncio.sleep(0.05)
    os.kill(winner.pid, signal.SIGKILL)  # mid-generation
    await winner.wait()

    settings = standin.settings(database=postgres_url, generation_deadline=DEADLINE)
    lease = DEADLINE + LEASE_SLACK
    async with open_storage(postgres_url) as storage, open_generator(settings) as generator:
        left = await storage.get_concept(concept_id)
        assert left is not None and left.state is ChildState.PENDING
        # A later open, once the dead process's lease has run out.
        later = Explorer(
            storage,
            BundledMaps.load(Path(settings.maps_dir)),
            settings,
            generator,
            clock=lambda: time.time() + lease + 1,
        )
        view = await later.expand(GUILD, 7, concept_id)
    assert [c.title for c in view.children] == TITLES
    assert len(standin.requests) == 2
