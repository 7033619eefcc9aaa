"""How long `/kinapse forget` takes among 50,000 sessions: run on purpose.

    uv run python bench/forget.py [--rounds 5] [--sessions 50000] [DATABASE_URL]

Each round stores two maps with sessions (half of them on a concept), then times
forgetting one (what the member waits for: the map leaves its server), then deleting
its rows in the background (its sessions a batch at a time through the index by map,
then the map with its concepts), leaving the other map's alone. Two cases: the
forgotten map has 100 sessions among ``--sessions`` of another map's (the cost of
finding them), and it has ``--sessions`` of its own (the cost of deleting them).
Prints the median and the slowest round in milliseconds. Without a URL the database
is a SQLite file in a temporary folder; with a ``postgresql://`` URL, that (empty)
database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.models import Source  # noqa: E402
from bot.storage import Storage, open_storage  # noqa: E402
from tests.support.fakes import draft  # noqa: E402

SCOPE = 1001
INSERT_SESSION = """
    INSERT INTO sessions (message_id, owner_id, scope, map_id, concept_id, history, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)
"""


async def one_round(storage: Storage, round_: int, own: int, others: int) -> tuple[float, float]:
    maps = []
    for name in ("forgotten", "kept"):
        maps.append(
            await storage.create_map(
                scope=SCOPE,
                key=f"{name} {round_}",
                topic=f"{name.title()} {round_}",
                language="en",
                overview="An overview. Two sentences.",
                source=Source.GENERATED,
                model="bench",
                concepts=[draft(title) for title in ("One", "Two", "Three")],
                now=0.0,
            )
        )
    history = json.dumps([None])
    async with storage.transaction() as db:
        for number, (concept_map, sessions) in enumerate(zip(maps, (own, others), strict=True)):
            concept = (await storage.key_concepts(concept_map.id))[0].id
            base = (round_ * 2 + number) * 10_000_000
            rows = [
                (base + n, 7, SCOPE, concept_map.id, concept if n % 2 else None, history, 0.0)
                for n in range(sessions)
            ]
            await db.executemany(INSERT_SESSION, rows)
    started = time.perf_counter()
    assert await storage.forget_map(SCOPE, f"forgotten {round_}")
    forgotten = time.perf_counter()
    assert await storage.purge_forgotten() == 1
    purged = time.perf_counter()
    return (forgotten - started) * 1000, (purged - forgotten) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database", nargs="?")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=50_000)
    args = parser.parse_args()
    cases = {
        f"100 sessions of its own among {args.sessions:,} others": (100, args.sessions),
        f"{args.sessions:,} sessions of its own": (args.sessions, 100),
    }
    with tempfile.TemporaryDirectory() as folder:
        database = args.database or Path(folder) / "forget.db"
        async with open_storage(database) as storage:
            print(f"Forget a map ({storage.dialect}), ms:")
            for number, (case, (own, others)) in enumerate(cases.items()):
                rounds = range(number * args.rounds, (number + 1) * args.rounds)
                times = [await one_round(storage, n, own, others) for n in rounds]
                forgets, purges = zip(*times, strict=True)
                print(
                    f"  {case:45} forget: median {statistics.median(forgets):6.1f}, "
                    f"slowest {max(forgets):6.1f}; then deleting its rows in the background: "
                    f"median {statistics.median(purges):6.1f} over {args.rounds} rounds"
                )


if __name__ == "__main__":
    asyncio.run(main())
