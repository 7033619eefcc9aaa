"""How soon a streamed map shows its first key concept, and how much input the prompt
cache saves: run on purpose, not in tests.

    uv run python bench/streaming.py [--rounds 5] [--rate 2000]

Against the local stand-in Messages API (tests/support/standin.py) streaming a full-length
map (the worked Tides example of prompts/system.md) at a steady ``--rate`` characters
a second, through the real SDK, AnthropicGenerator and Explorer.generate_map with a
SQLite file. Prints the median time until the first key concept is complete (the
moment the /explore card is offered its first concept: the first edit is never held
back), the median whole generation (validated and stored), and their ratio; the
target is at most 0.30. Then the cached share of input tokens across one map and
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.explore import Explorer  # noqa: E402
from bot.generator import AnthropicGenerator, ExpandRequest, Sketch  # noqa: E402
from bot.maps import BundledMaps  # noqa: E402
from bot.models import ConceptDraft  # noqa: E402
from bot.prompts import load_prompts  # noqa: E402
from bot.storage import open_storage  # noqa: E402
from tests.support.standin import StandIn, answer  # noqa: E402

TARGET = 0.30
EXPANSIONS = 5


def worked_examples(generator: AnthropicGenerator) -> tuple[dict, dict]:
    """The Tides map and expansion of the system prompt: answers of realistic length."""
    system = generator.system[0]["text"]
    tides, spring, _meanings = (
        json.loads(block) for block in re.findall(r"\n(\{\n.*?\n\})\n", system, re.S)
    )
    return tides, spring


async def first_concept_ratio(rounds: int, rate: float) -> None:
    standin = StandIn()
    await standin.start()
    standin.rate = rate
    try:
        with tempfile.TemporaryDirectory() as folder:
            settings = standin.settings(
                database=Path(folder) / "bench.db", cooldown_generations=10_000
            )
            generator = AnthropicGenerator(settings, load_prompts(settings.prompts_dir))
            tides, _ = worked_examples(generator)
            firsts, wholes = [], []
            async with open_storage(settings.database) as storage:
                bundled = BundledMaps.load(settings.maps_dir)
                explorer = Explorer(storage, bundled, settings, generator)
                for round_ in range(rounds):
                    standin.script(answer(tides))
                    shown: list[float] = []

                    def seen(sketch: Sketch, shown: list[float] = shown) -> None:
                        if not shown and sketch.concepts:
                            shown.append(time.monotonic())

                    started = time.monotonic()
                    await explorer.topics.generate_map(1, 1, f"Tides {round_}", on_progress=seen)
                    wholes.append(time.monotonic() - started)
                    firsts.append(shown[0] - started)
            await generator.aclose()
    finally:
        await standin.stop()
    first_median, whole_median = statistics.median(firsts), statistics.median(wholes)
    ratio = first_median / whole_median
    print(f"answer: {len(json.dumps(tides))} characters streamed at {rate:.0f} characters/s")
    print(f"first key concept on the card: median {first_median * 1000:.0f} ms")
    print(f"whole generation, stored:      median {whole_median * 1000:.0f} ms")
    verdict = "within" if ratio <= TARGET else "OVER"
    print(f"ratio first/whole: {ratio:.2f} ({verdict} the {TARGET:.2f} target)")


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
    parser.add_argument("--rate", type=float, default=2000.0, help="characters a second")
    args = parser.parse_args()
    asyncio.run(first_concept_ratio(args.rounds, args.rate))
    asyncio.run(cached_share())


if __name__ == "__main__":
    main()
