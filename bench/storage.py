"""Storage under load, SQLite against PostgreSQL: run on purpose, not in tests.

    uv run python bench/storage.py [--maps 10000] [--interactions 3000] [--concurrency 16]

Stores ``--maps`` maps (over 100 servers, five key concepts each, the first with
three sub-concepts) in a SQLite file, copies them to a throwaway PostgreSQL 15
(started from /usr/lib/postgresql/15/bin as in the tests, or ``--postgres URL``
of an empty database), then runs the same interactions on known content through
the explore core against each, as the bot's handlers do them: /explore of a stored
topic (find the map, its card, a new session), a click on a key concept (its
card, the session moved and the open counted behind the answer) and Back (the
session moved back, its card). Prints interactions per second (the clock stops
once every session is written) and the median and p99 latency of each, and
PostgreSQL's ratio to SQLite, one process each.

Then the same on PostgreSQL from separate bot processes, one and then two at once
(each with ``--concurrency`` interactions in flight and its own messages, as two
shards): their combined interactions per second, and two's ratio to one.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.explore import Explorer, MapView  # noqa: E402
from bot.maps import BundledMaps  # noqa: E402
from bot.models import ConceptDraft, Session, Source  # noqa: E402
from bot.storage import Storage, open_storage  # noqa: E402
from bot.storage.copy import copy_database  # noqa: E402

SCOPES = 100
# Servers' ids run from 1: scope 0 is where forgotten maps go (FORGOTTEN_SCOPE).
FIRST_SCOPE = 1
KEY_CONCEPTS = 5
SEED = 12
OWNER = 7
MESSAGES_PER_PROCESS = 10**12  # each process's messages are its own, as each shard's are
WARM_UP_PROCESSES = 100  # warm-up runs take their messages from processes 100 and up


def drafts(prefix: str) -> list[ConceptDraft]:
    return [
        ConceptDraft(
            title=f"{prefix} {n}",
            summary=f"{prefix} {n} in one sentence.",
            detail=f"{prefix} {n} matters. It connects to its parent. It fits the topic.",
        )
        for n in range(1, KEY_CONCEPTS + 1)
    ]


async def populate(path: Path, maps: int) -> None:
    async with open_storage(path) as storage:
        for n in range(maps):
            stored = await storage.create_map(
                scope=FIRST_SCOPE + n % SCOPES,
                key=f"topic {n}",
                topic=f"Topic {n}",
                language="en",
                overview="An overview of the topic. It has two sentences.",
                source=Source.GENERATED,
                model="claude-sonnet-4-6",
                concepts=drafts("Key concept"),
                now=time.time(),
            )
            first = (await storage.key_concepts(stored.id))[0]
            await storage.store_expansion(first.id, drafts("Sub-concept")[:3], leaf=False)


@functools.cache
def bundled() -> BundledMaps:
    return BundledMaps.load(ROOT / "maps")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Presses:
    """One member's /explore, click and Back, each as its handler does it (the answer
    aside): read, then ``ready``, then ``record`` behind the answer."""

    def __init__(self, explorer: Explorer, first_message: int) -> None:
        self.explorer = explorer
        self.messages = iter(range(first_message, first_message + MESSAGES_PER_PROCESS))

    async def explore(self, scope: int, topic: str) -> tuple[MapView, Session]:
        explorer = self.explorer
        found = await explorer.topics.lookup(scope, topic)
        assert found is not None
        view = await explorer.concepts.view_of_map(found)
        session = explorer.sessions.start(
            message_id=next(self.messages),
            owner_id=OWNER,
            scope=scope,
            map_id=found.id,
            concept_id=None,
        )
        return view, session

    async def click(self, message_id: int, concept_id: int, scope: int) -> None:
        sessions = self.explorer.sessions
        session = await sessions.get(message_id)
        assert session is not None
        await self.explorer.concepts.opening(concept_id, scope)
        moved = sessions.moved(session, concept_id)
        await sessions.ready(message_id)
        sessions.record(moved, opened=concept_id)

    async def back(self, message_id: int) -> None:
        sessions = self.explorer.sessions
        session = await sessions.get(message_id)
        assert session is not None
        moved = await sessions.went_back(session)
        await sessions.view_of(moved)
        await sessions.ready(message_id)
        sessions.record(moved)


async def workload(
    storage: Storage, maps: int, interactions: int, concurrency: int, process: int = 0
) -> tuple[float, dict[str, list[float]]]:
    """Interactions per second, and each kind's latencies in milliseconds."""
    explorer = Explorer(storage, bundled(), Settings(), None)
    presses = Presses(explorer, (1 + process) * MESSAGES_PER_PROCESS)
    figures: dict[str, list[float]] = {"explore": [], "open": [], "back": []}
    rounds = interactions // 3
    randomness = random.Random(SEED + process)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for _ in range(rounds):
        queue.put_nowait(randomness.randrange(maps))

    async def timed(kind: str, action: Awaitable[Any]) -> Any:
        start = time.perf_counter()
        result = await action
        figures[kind].append((time.perf_counter() - start) * 1000)
        return result

    async def explore_open_back(n: int) -> None:
        scope = FIRST_SCOPE + n % SCOPES
        view, session = await timed("explore", presses.explore(scope, f"Topic {n}"))
        message = session.message_id
        await timed("open", presses.click(message, view.concepts[0].id, scope))
        await timed("back", presses.back(message))

    async def worker() -> None:
        while not queue.empty():
            await explore_open_back(queue.get_nowait())

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await explorer.aclose()  # every session written: part of the work
    elapsed = time.perf_counter() - start
    return rounds * 3 / elapsed, figures


def report(name: str, rate: float, figures: dict[str, list[float]]) -> None:
    parts = [
        f"{kind} median {statistics.median(v):.2f} ms p99 {percentile(v, 0.99):.2f} ms"
        for kind, v in figures.items()
    ]
    every = [x for v in figures.values() for x in v]
    print(
        f"{name:<10} {rate:8.0f} interactions/s, all: median {statistics.median(every):.2f} ms "
        f"p99 {percentile(every, 0.99):.2f} ms; " + "; ".join(parts),
        flush=True,
    )


async def measured(
    database: Path | str, args: argparse.Namespace, process: int = 0
) -> tuple[float, dict[str, list[float]]]:
    async with open_storage(database, pool_size=args.concurrency) as storage:
        await warm_up(storage, args, process)
        return await workload(storage, args.maps, args.interactions, args.concurrency, process)


async def warm_up(storage: Storage, args: argparse.Namespace, process: int) -> None:
    """A tenth of the run first, on messages of its own (the run's sessions are new)."""
    warming = WARM_UP_PROCESSES + process
    await workload(storage, args.maps, args.interactions // 10, args.concurrency, warming)


async def worker_process(args: argparse.Namespace) -> None:
    """One bot process of the multi-process run: warm up, say ready, wait for the go
    (a line on stdin), run, print what it did as JSON."""
    async with open_storage(args.worker, pool_size=args.concurrency) as storage:
        await warm_up(storage, args, args.process)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        started, cpu = time.time(), time.process_time()
        rate, _ = await workload(
            storage, args.maps, args.interactions, args.concurrency, args.process
        )
        ended, cpu = time.time(), time.process_time() - cpu
    done = (args.interactions // 3) * 3
    figures = {"interactions": done, "started": started, "ended": ended, "rate": rate, "cpu": cpu}
    print(json.dumps(figures))


def server_cpu(data: Path | None) -> float:
    """CPU seconds the PostgreSQL server started here has used so far, its ended
    backends included (0 for a server of ``--postgres``)."""
    if data is None:
        return 0.0
    postmaster = int((data / "postmaster.pid").read_text().split()[0])
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        pid, ppid = int(stat.parent.name), int(fields[1])
        if pid == postmaster:  # its own time and its ended children's
            total += sum(int(f) for f in fields[11:15])
        elif ppid == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def processes_at_once(
    url: str, count: int, args: argparse.Namespace, offset: int, data: Path | None = None
) -> float:
    """Combined interactions per second of ``count`` bot processes started together;
    prints the CPU time they and the server spent per thousand interactions."""
    command = [sys.executable, str(Path(__file__).resolve())]
    settings = ["--maps", str(args.maps), "--interactions", str(args.interactions)]
    settings += ["--concurrency", str(args.concurrency), "--worker", url]
    workers = [
        subprocess.Popen(
            [*command, *settings, "--process", str(offset + n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(count)
    ]
    for worker in workers:
        assert worker.stdout is not None
        line = worker.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"a bench process did not start: {line!r}")
    server_before = server_cpu(data)
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    results = []
    for worker in workers:
        out, _ = worker.communicate(timeout=600)
        if worker.returncode != 0:
            raise RuntimeError(f"a bench process failed ({worker.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    server = server_cpu(data) - server_before
    span = max(r["ended"] for r in results) - min(r["started"] for r in results)
    done = sum(r["interactions"] for r in results)
    bots = sum(r["cpu"] for r in results)
    print(
        f"PostgreSQL, {count} process{'es' if count > 1 else ''}: CPU per 1,000 interactions: "
        f"bot {bots / done * 1000:.2f} s, server {server / done * 1000:.2f} s; "
        f"cores busy {(bots + server) / span:.2f} of {os.cpu_count()}",
        flush=True,
    )
    return done / span


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        start = time.perf_counter()
        await populate(path, args.maps)
        print(f"Stored {args.maps} maps in SQLite in {time.perf_counter() - start:.1f} s")
        server = None
        url = args.postgres
        if url is None:
            from tests.support.postgres import start_server

            server = start_server()
            url = await server.create_database()
        try:
            copied = await copy_database(path, url)
            print("Copied to PostgreSQL: " + ", ".join(f"{c.rows} {c.table}" for c in copied))
            results = {}
            for name, database in (("SQLite", path), ("PostgreSQL", url)):
                rate, figures = await measured(database, args)
                results[name] = rate
                report(name, rate, figures)
            ratio = results["PostgreSQL"] / results["SQLite"]
            print(f"PostgreSQL / SQLite throughput: {ratio:.2f}")
            data = server.folder / "data" if server is not None else None
            one = processes_at_once(url, 1, args, offset=1, data=data)
            two = processes_at_once(url, 2, args, offset=2, data=data)
            print(f"PostgreSQL, 1 process:  {one:8.0f} interactions/s")
            print(f"PostgreSQL, 2 processes: {two:8.0f} interactions/s together")
            print(f"PostgreSQL two processes / one: {two / one:.2f}")
        finally:
            if server is not None:
                server.pg_ctl("-m", "immediate", "stop")
                shutil.rmtree(server.folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--maps", type=int, default=10_000)
    parser.add_argument("--interactions", type=int, default=3_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--postgres", help="URL of an empty PostgreSQL database to use instead")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # a process of the multi-process run
    parser.add_argument("--process", type=int, default=0, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    asyncio.run(worker_process(arguments) if arguments.worker else main(arguments))
