"""Map pictures: render times, the cache, and the event loop while pictures render.

    uv run python bench/pictures.py [--rounds 15]

Prints, in milliseconds: the median and p95 time to draw a map of 10, 40 and
150 concepts (graphviz-pure in a subprocess, a new highlighted concept each
time so nothing is cached); a cache hit; and the event loop's lag (how late a
10 ms timer fires) idle and while 20 pictures render at once. Synthetic maps:
seven key concepts, then six sub-concepts under each concept in turn (as if
explored breadth first), a third of them opened.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.render import MapPicture, Node, PictureCache, Renderer  # noqa: E402

SIZES = (10, 40, 150)
CONCURRENT = 20
TICK_SECONDS = 0.01
CACHE_HITS = 2000


def synthetic_map(concepts: int) -> list[Node]:
    nodes = [Node(n, None, f"Key concept {n} of the map", n % 3 == 0) for n in range(1, 8)]
    parent = 1
    while len(nodes) < concepts:
        for _ in range(6):
            if len(nodes) < concepts:
                nid = len(nodes) + 1
                nodes.append(Node(nid, parent, f"Sub-concept {nid} under {parent}", nid % 3 == 0))
        parent += 1
    return nodes[:concepts]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


async def render_times(renderer: Renderer, concepts: int, rounds: int) -> list[float]:
    nodes = synthetic_map(concepts)
    times = []
    for round_ in range(rounds):
        highlight = nodes[-1 - round_ % len(nodes)].id
        start = time.perf_counter()
        picture = await renderer.draw("A synthetic topic", nodes, highlight)
        times.append(time.perf_counter() - start)
        assert picture.png is not None
    return times


async def cache_hit_time() -> float:
    cache = PictureCache()

    async def make() -> MapPicture:
        return MapPicture(b"png")

    await cache.get("key", make)
    start = time.perf_counter()
    for _ in range(CACHE_HITS):
        await cache.get("key", make)
    return (time.perf_counter() - start) / CACHE_HITS


async def loop_lag(seconds: float | None, work: asyncio.Future[object] | None) -> list[float]:
    """How late a 10 ms sleep wakes up, until ``work`` is done (or for ``seconds``)."""
    lags = []
    deadline = time.perf_counter() + (seconds or 0)
    while (work is not None and not work.done()) or (
        work is None and time.perf_counter() < deadline
    ):
        start = time.perf_counter()
        await asyncio.sleep(TICK_SECONDS)
        lags.append(time.perf_counter() - start - TICK_SECONDS)
    return lags


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    renderer = Renderer()

    print(f"Render time per picture, {args.rounds} rounds (ms), {renderer.at_once} at a time:")
    print("  concepts   median      p95")
    for concepts in SIZES:
        times = await render_times(renderer, concepts, args.rounds)
        print(f"  {concepts:8d} {ms(statistics.median(times))} {ms(p95(times))}")

    hit = await cache_hit_time()
    print(f"Cache hit (mean of {CACHE_HITS}): {hit * 1e6:.1f} µs")

    idle = await loop_lag(1.0, None)
    nodes = synthetic_map(40)
    start = time.perf_counter()
    work = asyncio.gather(*(renderer.draw("Topic", nodes, node.id) for node in nodes[:CONCURRENT]))
    busy = await loop_lag(None, work)
    elapsed = time.perf_counter() - start
    await work
    print(f"Event-loop lag of a {TICK_SECONDS * 1000:.0f} ms timer (ms):")
    print(f"  idle:                  median {ms(statistics.median(idle))}  max {ms(max(idle))}")
    print(
        f"  {CONCURRENT} renders (40 concepts): median {ms(statistics.median(busy))}"
        f"  max {ms(max(busy))}  ({len(busy)} ticks; all {CONCURRENT} done in {elapsed:.1f} s)"
    )


if __name__ == "__main__":
    asyncio.run(main())
