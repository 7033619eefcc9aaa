"""How long the bot takes to answer, measured through SimCord: run on purpose, not in tests.

    uv run python bench/clicks.py [--rounds 30]

Prints medians (milliseconds of wall time per interaction, SimCord's settling
included) for /explore of a bundled topic, a concept click moved in place, a
private copy for another member, and Back; then what single flight saves when
50 people open one unexpanded concept at once (fake generator, 200 ms a call).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import simcord  # noqa: E402

from bot.client import KinapseBot  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.explorer import Explorer  # noqa: E402
from bot.maps import BundledMaps  # noqa: E402
from bot.storage import Storage  # noqa: E402
from tests.fakes import FakeGenerator  # noqa: E402

GENERATION_SECONDS = 0.2
CROWD = 50


class SlowFake(FakeGenerator):
    async def expand(self, request):  # type: ignore[override]
        await asyncio.sleep(GENERATION_SECONDS)
        return await super().expand(request)


async def timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    result = await action
    return (time.perf_counter() - start) * 1000, result


async def discord_rounds(rounds: int, folder: Path) -> dict[str, list[float]]:
    settings = Settings(database=folder / "bench.db", maps_dir=ROOT / "maps")
    bundled = BundledMaps.load(settings.maps_dir)
    first = bundled.find("ai agents").concepts[0]
    figures: dict[str, list[float]] = {"explore": [], "open": [], "copy": [], "back": []}
    async with Storage.open(settings.database) as storage:
        bot = KinapseBot(settings, Explorer(storage, bundled, settings, FakeGenerator()))
        async with simcord.run(bot, shard_count=1) as env:  # one simulated shard
            guild = env.create_guild(name="Bench")
            channel = guild.create_text_channel("explore")
            alice = guild.add_member(env.create_user("alice"))
            bob = guild.add_member(env.create_user("bob"))
            for _ in range(rounds):
                ms, result = await timed(alice.slash(channel, "explore", topic="AI Agents"))
                figures["explore"].append(ms)
                message = result.response
                ms, opened = await timed(alice.click(message, label=f"1 · {first.title}"))
                figures["open"].append(ms)
                ms, _ = await timed(
                    bob.click(opened.response, label=f"2 · {first.children[1].title}")
                )
                figures["copy"].append(ms)
                ms, _ = await timed(alice.click(opened.response, label="Back"))
                figures["back"].append(ms)
    return figures


async def crowd(folder: Path) -> tuple[float, float, int]:
    settings = Settings(database=folder / "crowd.db", maps_dir=ROOT / "maps")
    bundled = BundledMaps.load(settings.maps_dir)
    async with Storage.open(settings.database) as storage:
        fake = SlowFake()
        explorer = Explorer(storage, bundled, settings, fake)
        tea = await explorer.lookup(1, "AI Agents")
        key = (await storage.key_concepts(tea.id))[0]
        child = (await storage.children(key.id))[0]
        ms_one, _ = await timed(explorer.expand(1, 1, child.id))
        other = (await storage.children(key.id))[1]
        ms_crowd, _ = await timed(
            asyncio.gather(*(explorer.expand(1, n, other.id) for n in range(CROWD)))
        )
        return ms_one, ms_crowd, fake.call_count


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        figures = await discord_rounds(args.rounds, Path(folder))
        print(f"{args.rounds} rounds through SimCord (median, [p10-p90]) in ms:")
        for name, values in figures.items():
            deciles = statistics.quantiles(values, n=10)
            print(
                f"  {name:8} {statistics.median(values):7.2f}  [{deciles[0]:.2f}-{deciles[-1]:.2f}]"
            )
        ms_one, ms_crowd, calls = await crowd(Path(folder))
        print(
            f"single flight: 1 open {ms_one:.0f} ms; {CROWD} concurrent opens {ms_crowd:.0f} ms "
            f"(ratio {ms_crowd / ms_one:.2f}), generator calls: {calls - 1} for the crowd"
        )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
