"""Storage under load, SQLite against PostgreSQL: run on purpose, not in tests.

    uv run python bench/storage.py [--maps 10000] [--interactions 3000] [--concurrency 16]

Stores ``--maps`` maps (over 100 servers, five key concepts each, the first with
three sub-concepts) in a SQLite file, copies them to a throwaway PostgreSQL 15
(started from /usr/lib/postgresql/15/bin as in the tests, or ``--postgres URL``
of an empty database), then runs the same interactions on known content through
the explore core against each: /explore of a stored topic (find the map, its
card, a new session), a click on a key concept (count the open, its card, move
the session) and Back (move the session, its card). Prints interactions per
second and the median and p99 latency of each, and PostgreSQL's ratio to SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.explore import Explorer  # noqa: E402
from bot.maps import BundledMaps  # noqa: E402
from bot.models import ConceptDraft, Source  # noqa: E402
from bot.storage import Storage, open_storage  # noqa: E402
from bot.storage.copy import copy_database  # noqa: E402

SCOPES = 100
KEY_CONCEPTS = 5
SEED = 12


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
                scope=n % SCOPES,
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


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def workload(
    storage: Storage, maps: int, interactions: int, concurrency: int
) -> tuple[float, dict[str, list[float]]]:
    explorer = Explorer(storage, BundledMaps.load(ROOT / "maps"), Settings(), None)
    figures: dict[str, list[float]] = {"explore": [], "open": [], "back": []}
    rounds = interactions // 3
    messages = iter(range(10**12, 2 * 10**12))
    randomness = random.Random(SEED)
    picks = [randomness.randrange(maps) for _ in range(rounds)]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for pick in picks:
        queue.put_nowait(pick)

    async def timed(kind: str, action):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        result = await action
        figures[kind].append((time.perf_counter() - start) * 1000)
        return result

    async def explore_open_back(n: int) -> None:
        scope = n % SCOPES

        async def explore():  # type: ignore[no-untyped-def]
            stored = await explorer.topics.find_stored(scope, f"topic {n}")
            assert stored is not None
            view = await explorer.concepts.map_view(stored.id, scope)
            session = await explorer.sessions.start(
                message_id=next(messages),
                owner_id=7,
                scope=scope,
                map_id=stored.id,
                concept_id=None,
            )
            return view, session

        async def click(view, session):  # type: ignore[no-untyped-def]
            concept = view.concepts[0]
            opened = await explorer.concepts.open(concept.id, scope)
            return opened, await explorer.sessions.go(session, concept.id)

        async def back(session):  # type: ignore[no-untyped-def]
            moved = await explorer.sessions.back(session)
            return await explorer.sessions.view_of(moved)

        view, session = await timed("explore", explore())
        _, session = await timed("open", click(view, session))
        await timed("back", back(session))

    async def worker() -> None:
        while not queue.empty():
            await explore_open_back(queue.get_nowait())

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
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
        f"p99 {percentile(every, 0.99):.2f} ms; " + "; ".join(parts)
    )


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
                async with open_storage(database, pool_size=args.concurrency) as storage:
                    await workload(storage, args.maps, args.interactions // 10, args.concurrency)
                    rate, figures = await workload(
                        storage, args.maps, args.interactions, args.concurrency
                    )
                results[name] = rate
                report(name, rate, figures)
            ratio = results["PostgreSQL"] / results["SQLite"]
            print(f"PostgreSQL / SQLite throughput: {ratio:.2f}")
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
    asyncio.run(main(parser.parse_args()))
