"""One bot process for the cross-process tests: opens a concept N times at once.

    python -m tests.support.open_concept CONFIG_JSON

CONFIG_JSON holds database, base_url, scope and deadline. The process builds
its explorer the way the bot does (its own storage pool, the real Anthropic
generator pointed at the test's stand-in) and prints "ready". Then for each
line on stdin, ``CONCEPT_ID OPENS``, it opens the concept ``OPENS`` times at
once and prints one JSON line: the sub-concept titles each open got, or its
error. It ends at the end of its input.
"""

from __future__ import annotations

import asyncio
import json
import sys

from bot.config import Settings
from bot.errors import KinapseError
from bot.runtime import open_explorer


async def main(config: dict) -> None:
    settings = Settings(
        database=config["database"],
        anthropic_api_key="test-key",
        anthropic_base_url=config["base_url"],
        generation_deadline=config["deadline"],
    )
    async with open_explorer(settings) as explorer:
        print("ready", flush=True)

        async def open_once(concept_id: int, user: int) -> list[str] | str:
            try:
                view = await explorer.concepts.expand(config["scope"], user, concept_id)
            except KinapseError as exc:
                return f"error: {exc}"
            return [child.title for child in view.children]

        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            concept_id, opens = (int(word) for word in line.split())
            users = range(1, opens + 1)
            results = await asyncio.gather(*(open_once(concept_id, user) for user in users))
            print(json.dumps(results), flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
