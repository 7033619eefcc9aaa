"""How soon a member sees the first key concept of a new map, and how much input the
prompt cache saves: run on purpose, not in tests.

    uv run python bench/streaming.py [--rounds 5] [--rate 250] [--first-token 1.0]
                                     [--edit-latency 0.25] [--interval 1.0]

The bot's own /explore flow for a new topic (bot.ui.flows.new_topic.map_new_topic, so
its acknowledgement, its "Mapping…" line, the one streaming throttle LiveEdits and the
final card) against two stand-ins on the real asyncio clock:

- the local Messages API (tests/support/standin.py), through the real SDK,
  AnthropicGenerator and Explorer with a SQLite file, streaming a full-length map (the
  worked Tides example of prompts/system.md) at Claude's pace: the first text after
  ``--first-token`` seconds, then ``--rate`` characters a second;
- Discord: an interaction whose every call answers after ``--edit-latency`` seconds and
  whose message takes at most 5 edits per 5 s, as interaction messages are seen
  limited (a sixth waits for the window to end, as discord.py waits out a bucket).

From the /explore, it prints the median time until the first key concept is written
(complete in the stream), until an edit showing it has landed on the card, and until
the map is generated, validated and stored; then their ratio, on the card / generated,
whose target is at most 0.30. Then the cached share of input tokens across one map and
five expansions, with the stand-in billing prompt caching as the API does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.explore import Explorer  # noqa: E402
from bot.generator import AnthropicGenerator, ExpandRequest, OnSketch, Sketch  # noqa: E402
from bot.generator.sketches import sketch_of  # noqa: E402
from bot.maps import BundledMaps  # noqa: E402
from bot.models import ConceptDraft, ConceptMap  # noqa: E402
from bot.prompts import load_prompts  # noqa: E402
from bot.storage import open_storage  # noqa: E402
from bot.ui import live  # noqa: E402
from bot.ui.flows.new_topic import map_new_topic  # noqa: E402
from tests.support.standin import StandIn, answer  # noqa: E402

TARGET = 0.30
EXPANSIONS = 5
GUILD, MEMBER = 1, 2
# Edits of one interaction's message, as Discord has been seen to limit them.
BUCKET_EDITS, BUCKET_SECONDS = 5, 5.0
FIRST_CONCEPT = re.compile(r"\*\*1 · ")  # the first numbered concept, streaming or final


def worked_examples(generator: AnthropicGenerator) -> tuple[dict, dict]:
    """The Tides map and expansion of the system prompt: answers of realistic length."""
    system = generator.system[0]["text"]
    tides, spring, _meanings = (
        json.loads(block) for block in re.findall(r"\n(\{\n.*?\n\})\n", system, re.S)
    )
    return tides, spring


def texts(components: list[dict]) -> Iterator[str]:
    """Every text display of a message's components, nested ones included."""
    for component in components:
        if "content" in component:
            yield component["content"]
        yield from texts(component.get("components") or [])
        if isinstance(component.get("accessory"), dict):
            yield from texts([component["accessory"]])


class Discord:
    """Just enough of one /explore interaction for the new-topic flow, on the loop's
    clock: every call takes ``latency``, and edits of its message keep to the bucket.
    ``shown`` records when each edit landed and whether it showed a key concept."""

    def __init__(self, explorer: Explorer, latency: float) -> None:
        self.client = SimpleNamespace(explorer=explorer)
        self.user = SimpleNamespace(id=MEMBER)
        self.guild_id = GUILD
        # Installed in the server, as Discord's authorizing_integration_owners says it
        # (discord.py keeps it in this attribute; bot.ui.context.scope_of reads it).
        self._integration_owners = {0: GUILD}
        self.id = 1
        self.message = None  # a slash command: the flow's message is a new one
        self.type = SimpleNamespace(name="application_command")
        self.data = {"name": "explore"}
        self.extras: dict[str, Any] = {}
        self.response = SimpleNamespace(is_done=self._is_done, defer=self._defer)
        self.latency = latency
        self.shown: list[tuple[float, bool]] = []
        self._deferred = False
        self._window: tuple[float, int] = (-BUCKET_SECONDS, 0)  # its start, edits in it

    def is_user_integration(self) -> bool:
        return False

    def is_guild_integration(self) -> bool:
        return True

    def _is_done(self) -> bool:
        return self._deferred

    async def _defer(self, **_: Any) -> None:
        await asyncio.sleep(self.latency)
        self._deferred = True

    async def edit_original_response(self, **fields: Any) -> SimpleNamespace:
        loop = asyncio.get_running_loop()
        start, used = self._window
        if loop.time() >= start + BUCKET_SECONDS:
            start, used = loop.time(), 0
        elif used >= BUCKET_EDITS:
            await asyncio.sleep(start + BUCKET_SECONDS - loop.time())
            start, used = loop.time(), 0
        self._window = (start, used + 1)
        await asyncio.sleep(self.latency)
        view = fields.get("view")
        components = view.to_components() if hasattr(view, "to_components") else []
        concept = any(FIRST_CONCEPT.search(text) for text in texts(components))
        self.shown.append((loop.time(), concept))
        return SimpleNamespace(id=10_000 + len(self.shown))


def first_concept_at(text: str) -> int:
    """How many characters of the answer the sketch needs to show its first concept."""
    for end in range(1, len(text) + 1):
        sketch = sketch_of(text[:end])
        if sketch is not None and sketch.concepts:
            return end
    raise SystemExit("the worked example never shows a concept")


async def one_round(explorer: Explorer, latency: float, topic: str) -> dict[str, float]:
    """One /explore of a new topic through the bot's flow; its times from the /explore."""
    loop = asyncio.get_running_loop()
    times: dict[str, float] = {}
    generate = explorer.topics.generate_map

    async def timed(*args: Any, on_progress: OnSketch, **kwargs: Any) -> ConceptMap:
        def seen(sketch: Sketch) -> None:
            if sketch.concepts:
                times.setdefault("written", loop.time() - began)
            on_progress(sketch)

        concept_map = await generate(*args, on_progress=seen, **kwargs)
        times["generated"] = loop.time() - began
        return concept_map

    explorer.topics.generate_map = timed  # type: ignore[method-assign]
    discord = Discord(explorer, latency)
    began = loop.time()
    try:
        await map_new_topic(discord, topic)  # type: ignore[arg-type]
    finally:
        explorer.topics.generate_map = generate  # type: ignore[method-assign]
    shown = [at for at, concept in discord.shown if concept]
    if "generated" not in times or not shown:
        raise SystemExit(f"{topic}: the map failed (see the log)")
    times["on card"] = shown[0] - began
    times["edits"] = len(discord.shown)
    return times


async def first_concept_ratio(
    rounds: int, rate: float, first_token: float, latency: float, interval: float
) -> None:
    live.STREAM_EDIT_INTERVAL = interval  # the bot's own value unless told otherwise
    standin = StandIn()
    await standin.start()
    standin.rate, standin.first_token = rate, first_token
    written, on_card, generated, edits = [], [], [], []
    try:
        with tempfile.TemporaryDirectory() as folder:
            settings = standin.settings(
                database=Path(folder) / "bench.db",
                cooldown_generations=10_000,
                generation_deadline=Settings.model_fields["generation_deadline"].default,
            )
            generator = AnthropicGenerator(settings, load_prompts(settings.prompts_dir))
            tides, _ = worked_examples(generator)
            text = json.dumps(tides)
            async with open_storage(settings.database) as storage:
                explorer = Explorer(
                    storage, BundledMaps.load(settings.maps_dir), settings, generator
                )
                for round_ in range(rounds):
                    standin.script(answer(tides))
                    times = await one_round(explorer, latency, f"Tides {round_}")
                    written.append(times["written"])
                    on_card.append(times["on card"])
                    generated.append(times["generated"])
                    edits.append(times["edits"])
            await generator.aclose()
    finally:
        await standin.stop()
    at = first_concept_at(text)
    print(
        f"answer: {len(text)} characters, the first after {first_token:.1f} s, then "
        f"{rate:.0f} characters/s; its first key concept is complete at character {at} "
        f"({at / len(text):.0%}); edits every {interval:.1f} s, each landing after "
        f"{latency * 1000:.0f} ms; medians of {rounds} rounds from the /explore:"
    )
    written_median, card_median = statistics.median(written), statistics.median(on_card)
    generated_median = statistics.median(generated)
    print(f"first key concept written:        {written_median * 1000:6.0f} ms")
    print(f"first key concept on the card:    {card_median * 1000:6.0f} ms")
    print(f"map generated and stored:         {generated_median * 1000:6.0f} ms")
    print(f"edits of the card: {statistics.median(edits):.0f}")
    ratios = [card / whole for card, whole in zip(on_card, generated, strict=True)]
    ratio = statistics.median(ratios)
    verdict = "within" if ratio <= TARGET else "OVER"
    print(
        f"ratio first/whole: {ratio:.2f} ({verdict} the {TARGET:.2f} target; "
        f"rounds {min(ratios):.2f}-{max(ratios):.2f})"
    )


async def cached_share() -> None:
    standin = StandIn()
    await standin.start()
    standin.rate = 1_000_000.0
    standin.caching = True
    try:
        settings = standin.settings()
        generator = AnthropicGenerator(settings, load_prompts(settings.prompts_dir))
        tides, spring = worked_examples(generator)
        standin.script(answer(tides), *(answer(spring) for _ in range(EXPANSIONS)))
        result = await generator.generate_map("Tides", "en")
        usage = list(result.usage)
        for concept in result.value.concepts[:EXPANSIONS]:
            request = ExpandRequest(
                topic="Tides",
                language="en",
                path=[ConceptDraft(**concept.model_dump())],
                siblings=[c.title for c in result.value.concepts if c.title != concept.title],
            )
            usage += (await generator.expand(request)).usage
        await generator.aclose()
    finally:
        await standin.stop()
    read = sum(u.cache_read_tokens for u in usage)
    written = sum(u.cache_write_tokens for u in usage)
    every = sum(u.input_tokens + u.cache_read_tokens + u.cache_write_tokens for u in usage)
    print(
        f"prompt cache over a map and {EXPANSIONS} expansions ({len(usage)} calls): "
        f"{read} of {every} input tokens read from the cache ({read / every:.0%}), "
        f"{written} written once"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rate", type=float, default=250.0, help="characters a second")
    parser.add_argument(
        "--first-token", type=float, default=1.0, help="seconds before the first text"
    )
    parser.add_argument(
        "--edit-latency", type=float, default=0.25, help="seconds a Discord call takes"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=live.STREAM_EDIT_INTERVAL,
        help="seconds between edits (the bot's by default)",
    )
    args = parser.parse_args()
    asyncio.run(
        first_concept_ratio(
            args.rounds, args.rate, args.first_token, args.edit_latency, args.interval
        )
    )
    asyncio.run(cached_share())


if __name__ == "__main__":
    main()
