"""How long the bot takes to answer, measured through SimCord: run on purpose, not in tests.

    uv run python bench/clicks.py [--rounds 30] [--scale-rounds 30] [--scales 10,10000]

Prints medians (milliseconds of wall time per interaction, SimCord's settling
included) for /explore of a bundled topic, a concept click moved in place, a
private copy for another member, and Back; then what single flight saves when
50 people open one unexpanded concept at once (fake generator, 200 ms a call).

Then, with 10 and with 10,000 maps stored in the server (``--scales``): a click and
/explore of a stored topic beside two bare discord.py handlers in the same SimCord run,
one that answers a small static card and one that answers with a static copy of the
very card the bot shows ("same card": what sending that card costs, nothing read; its
click, like the bot's, is pressed on the map card its slash command sent); median and
p99, and their ratios (target 1.25x at most); /maps and autocomplete; and how long a
click's reads wait while /maps reads.
Each is timed twice: until its first response reached Discord (what the member
waits for; the ratios are of these), and until SimCord settled everything the bot did
afterwards ("settled": saving the session, counting the open; for the bare handler
it includes an idle poll of SimCord's, about 50 ms).
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

import discord  # noqa: E402
import simcord  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.explore import Explorer  # noqa: E402
from bot.maps import BundledMaps  # noqa: E402
from bot.models import Source  # noqa: E402
from bot.storage import Storage, open_storage  # noqa: E402
from bot.ui import cards  # noqa: E402
from bot.ui.cards import Card  # noqa: E402
from bot.ui.client import KinapseBot  # noqa: E402
from bot.ui.layout import message_kwargs, unkept  # noqa: E402
from tests.support.fakes import FakeGenerator  # noqa: E402
from tests.support.harness import click_open, open_id  # noqa: E402

GENERATION_SECONDS = 0.2
CROWD = 50


class SlowFake(FakeGenerator):
    async def expand(self, request, **options):  # type: ignore[override]
        await asyncio.sleep(GENERATION_SECONDS)
        return await super().expand(request, **options)


async def timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    result = await action
    return (time.perf_counter() - start) * 1000, result


class Stamped(list):
    """SimCord's log of the bot's HTTP requests, each stamped with when it came."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.times = [0.0] * len(self)

    def append(self, entry: object) -> None:
        self.times.append(time.perf_counter())
        super().append(entry)

    def answered(self, interaction_id: int) -> float:
        """When the interaction's first response (its callback) was sent."""
        marker = f"/interactions/{interaction_id}/"
        for when, entry in zip(self.times, self, strict=True):
            if entry.path.startswith(marker) and entry.path.endswith("/callback"):
                return when
        raise AssertionError(f"interaction {interaction_id} was never answered")


async def answered(env: simcord.Env, action) -> tuple[float, float, object]:
    """Milliseconds until the interaction's first response reached Discord (what the
    member waits for), then until SimCord settled everything the bot did afterwards
    (saving the session, say), and the result."""
    log = env.backend.http_requests
    start = time.perf_counter()
    result = await action
    settled = time.perf_counter()
    interaction = list(env.backend.interactions.values())[-1]
    return (log.answered(interaction.id) - start) * 1000, (settled - start) * 1000, result


async def discord_rounds(rounds: int, folder: Path) -> dict[str, list[float]]:
    settings = Settings(database=folder / "bench.db", maps_dir=ROOT / "maps")
    bundled = BundledMaps.load(settings.maps_dir)
    first = bundled.find("ai agents").concepts[0]
    figures: dict[str, list[float]] = {"explore": [], "open": [], "copy": [], "back": []}
    async with open_storage(settings.database) as storage:
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
                ms, opened = await timed(click_open(alice, message, first.title))
                figures["open"].append(ms)
                ms, _ = await timed(click_open(bob, opened.response, first.children[1].title))
                figures["copy"].append(ms)
                ms, _ = await timed(alice.click(opened.response, label="Back"))
                figures["back"].append(ms)
    return figures


async def crowd(folder: Path) -> tuple[float, float, int]:
    settings = Settings(database=folder / "crowd.db", maps_dir=ROOT / "maps")
    bundled = BundledMaps.load(settings.maps_dir)
    async with open_storage(settings.database) as storage:
        fake = SlowFake()
        explorer = Explorer(storage, bundled, settings, fake)
        tea = await explorer.topics.lookup(1, "AI Agents")
        key = (await storage.key_concepts(tea.id))[0]
        child = (await storage.children(key.id))[0]
        ms_one, _ = await timed(explorer.concepts.expand(1, 1, child.id))
        other = (await storage.children(key.id))[1]
        ms_crowd, _ = await timed(
            asyncio.gather(*(explorer.concepts.expand(1, n, other.id) for n in range(CROWD)))
        )
        return ms_one, ms_crowd, fake.call_count


SCALES = "10,10000"  # maps stored in the server, one measurement each


class Bare(discord.ui.DynamicItem[discord.ui.Button], template=r"bench:bare"):
    """The bare handler: a button that answers with a static card and touches nothing."""

    def __init__(self) -> None:
        super().__init__(discord.ui.Button(label="Bare", custom_id="bench:bare"))

    @classmethod
    async def from_custom_id(cls, interaction, item, match, /):  # type: ignore[override]
        return cls()

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        await interaction.response.edit_message(view=static_card())


def static_card() -> discord.ui.LayoutView:
    view = discord.ui.LayoutView(timeout=None)
    container = discord.ui.Container(discord.ui.TextDisplay("# A static card\nNothing read."))
    container.add_item(discord.ui.ActionRow(Bare()))
    view.add_item(container)
    return unkept(view)  # sent the way the bot sends its cards


# The same cards the bot answers with, made once and sent as they are: the second
# baseline, whose answers cost discord.py and SimCord what the bot's do, reading nothing.
SAME: dict[str, Card] = {}


class BareSame(discord.ui.DynamicItem[discord.ui.Button], template=r"bench:same"):
    """Answers a click with the static copy of the concept card the bot's click shows."""

    def __init__(self) -> None:
        super().__init__(discord.ui.Button(label="Same", custom_id="bench:same"))

    @classmethod
    async def from_custom_id(cls, interaction, item, match, /):  # type: ignore[override]
        return cls()

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        await interaction.response.edit_message(**same_card("concept", edit=True))


def same_card(name: str, *, edit: bool = False) -> dict[str, object]:
    fields = message_kwargs(SAME[name], edit=edit)
    fields["view"].add_item(discord.ui.ActionRow(BareSame()))  # so it can be pressed again
    return fields


def bare_command(bot: KinapseBot) -> None:
    @bot.tree.command(name="bare", description="A static card (benchmark baseline)")
    async def bare(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(view=static_card())

    @bot.tree.command(name="same", description="The map card, static (benchmark baseline)")
    async def same(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(**same_card("map"))

    bot.add_dynamic_items(Bare, BareSame)


async def make_same_cards(explorer: Explorer, scope: int, topic: str, concept: str) -> None:
    """The map card of ``topic`` with its picture, and the card of its concept ``concept``."""
    concept_map = await explorer.topics.lookup(scope, topic)
    view = await explorer.concepts.view_of_map(concept_map)
    picture = await explorer.pictures.of(concept_map)
    SAME["map"] = cards.map_card(view, picture=picture)
    opened = next(c for c in view.concepts if c.title == concept)
    SAME["concept"] = cards.concept_card(await explorer.concepts.concept_view(opened.id))


def stats(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(values), p99


async def seed(storage: Storage, scope: int, count: int, bundled: BundledMaps) -> None:
    """``count`` maps in one scope, each a copy of a small curated map under its own topic."""
    template = bundled.find("ai agents")
    for n in range(count):
        await storage.create_map(
            scope=scope,
            key=f"topic {n:05d}",
            topic=f"Topic {n:05d}",
            language="en",
            overview=template.overview,
            source=Source.GENERATED,
            model="bench",
            concepts=template.concepts[:4],
            now=time.time(),
        )


async def at_scale(count: int, rounds: int, folder: Path) -> dict[str, list[float]]:
    settings = Settings(database=folder / f"scale{count}.db", maps_dir=ROOT / "maps")
    bundled = BundledMaps.load(settings.maps_dir)
    measured = (
        "bare slash",
        "bare click",
        "same card slash",
        "same card click",
        "explore",
        "click",
        "maps",
        "autocomplete",
    )
    figures: dict[str, list[float]] = {k: [] for k in measured}
    figures |= {f"{k} (settled)": [] for k in measured}
    async with open_storage(settings.database) as storage:
        explorer = Explorer(storage, bundled, settings, FakeGenerator())
        bot = KinapseBot(settings, explorer)
        bare_command(bot)
        async with simcord.run(bot, shard_count=1) as env:
            env.backend.http_requests = Stamped(env.backend.http_requests)
            guild = env.create_guild(name="Bench")
            channel = guild.create_text_channel("explore")
            alice = guild.add_member(env.create_user("alice"))
            await seed(storage, guild.id, count, bundled)
            first = bundled.find("ai agents").concepts[0]
            topic = f"Topic {count // 2:05d}"
            await make_same_cards(explorer, guild.id, topic, first.title)
            static = (await alice.slash(channel, "bare")).response

            async def measure(name: str, action) -> object:
                ms, settled_ms, result = await answered(env, action)
                figures[name].append(ms)
                figures[f"{name} (settled)"].append(settled_ms)
                return result

            for round_ in range(rounds + 1):
                if round_ == 1:  # the first round warms up (imports, caches); it isn't counted
                    for values in figures.values():
                        values.clear()
                await measure("bare slash", alice.slash(channel, "bare"))
                await measure("bare click", alice.click(static, label="Bare"))
                # Each click is pressed on the map card the slash command before it sent,
                # its custom_id found before the clock starts: the two clicks differ only
                # in their handlers.
                same = await measure("same card slash", alice.slash(channel, "same"))
                await measure("same card click", alice.click(same.response, label="Same"))
                result = await measure("explore", alice.slash(channel, "explore", topic=topic))
                opens = open_id(result.response, first.title)
                await measure("click", alice.click(result.response, custom_id=opens))
                await measure("maps", alice.slash(channel, "maps"))
                typed = alice.autocomplete(channel, "explore", "topic", "Topic 04")
                await measure("autocomplete", typed)
        # A click's reads alone, then while /maps reads the same server's maps.
        explorer = Explorer(storage, bundled, settings)
        concept = (
            await storage.key_concepts((await storage.find_map(guild.id, "topic 00000")).id)
        )[0]
        alone: list[float] = []
        beside: list[float] = []
        for _ in range(rounds):
            ms, _ = await timed(explorer.concepts.opening(concept.id, guild.id))
            alone.append(ms)
            listing = asyncio.create_task(explorer.library.maps_page(guild.id, 0))
            await asyncio.sleep(0)
            ms, _ = await timed(explorer.concepts.opening(concept.id, guild.id))
            beside.append(ms)
            await listing
        figures["click reads"] = alone
        figures["click reads during /maps"] = beside
    return figures


def print_scale(count: int, figures: dict[str, list[float]]) -> None:
    print(f"{count:,} maps stored (ms: median / p99):")
    # Ratios of first responses only: SimCord settles the bare handler after an idle poll
    # of about 50 ms (nothing of its own is left running to wait on), the bot's work sooner.
    bare = {"explore": "bare slash", "click": "bare click"}
    same = {"explore": "same card slash", "click": "same card click"}
    for name, values in figures.items():
        median, p99 = stats(values)
        line = f"  {name:26} {median:8.2f} / {p99:8.2f}"
        if name in bare:
            base_median, base_p99 = stats(figures[bare[name]])
            line += f"   ratio to bare {median / base_median:.2f}x / {p99 / base_p99:.2f}x"
            same_median, same_p99 = stats(figures[same[name]])
            line += f", to same card {median / same_median:.2f}x / {p99 / same_p99:.2f}x"
        print(line)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--scale-rounds", type=int, default=30)
    parser.add_argument("--scales", default=SCALES, help="maps stored, comma-separated")
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
        for count in (int(scale) for scale in args.scales.split(",")):
            print_scale(count, await at_scale(count, args.scale_rounds, Path(folder)))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
