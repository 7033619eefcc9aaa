"""One bot process for the cross-process tests: opens a concept N times at once.

    python -m tests.open_concept CONFIG_JSON

CONFIG_JSON holds database, base_url, concept_id, scope, opens and deadline.
The process builds its explorer the way the bot does (its own storage pool,
the real Anthropic generator pointed at the test's stand-in), prints "ready",
waits for a line on stdin, then opens the concept ``opens`` times at once and
prints one JSON line: the sub-concept titles each open got, or its error.
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
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

        async def open_once(user: int) -> list[str] | str:
            try:
                view = await explorer.expand(config["scope"], user, config["concept_id"])
            except KinapseError as exc:
                return f"error: {exc}"
            return [child.title for child in view.children]

        users = range(1, config["opens"] + 1)
        results = await asyncio.gather(*(open_once(user) for user in users))
        print(json.dumps(results), flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
