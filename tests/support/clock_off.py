"""A bot process whose machine's clock is set wrong, for the clock tests.

    python -m tests.support.clock_off CONFIG_JSON

CONFIG_JSON holds database, offset (seconds), scope, user, cooldown_seconds. Before
anything of the bot is imported, ``time.time`` runs ``offset`` seconds off the real
time, as on a machine whose clock was set wrong. The process builds its explorer the
way the bot does (``open_explorer``) and starts one generation for the user in the
scope as every generation goes (``Budget.start`` reserves, ``Budget.call`` records
its usage, the reservation is released), without the model: its usage is made up.
It prints one line: "generated", or "cannot start: <why>" (and exits 2) when the
bot refuses to start.
"""

from __future__ import annotations

import json
import sys
import time

CONFIG = json.loads(sys.argv[1])
_real_time = time.time
time.time = lambda: _real_time() + CONFIG["offset"]  # before the bot binds it anywhere

import asyncio  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.errors import StartupError  # noqa: E402
from bot.generator import Generated  # noqa: E402
from bot.models import Usage  # noqa: E402
from bot.runtime import open_explorer  # noqa: E402


async def spend() -> Generated[None]:
    return Generated(None, [Usage(model="claude-sonnet-4-6", input_tokens=900, output_tokens=90)])


async def main() -> int:
    settings = Settings(
        database=CONFIG["database"],
        cooldown_generations=1,
        cooldown_seconds=CONFIG["cooldown_seconds"],
    )
    scope, user = CONFIG["scope"], CONFIG["user"]
    try:
        async with open_explorer(settings) as explorer:
            budget = explorer.budget
            reservation = await budget.start(scope, user, "map:tides")
            try:
                await budget.call(scope, user, "map", "map:tides", spend)
            finally:
                await budget.release(reservation)
    except StartupError as exc:
        print(f"cannot start: {exc}", flush=True)
        return 2
    print("generated", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
