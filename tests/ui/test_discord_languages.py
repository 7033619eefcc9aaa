"""Every language the server speaks, through SimCord: the commands Discord is told carry
their names and descriptions in every shipped language, and a member sees the bot's
buttons and messages in their own client's language."""

from __future__ import annotations

from collections.abc import Iterator

from bot.i18n import shipped
from tests.support.harness import World

SHIPPED = set(shipped())


def synced(world: World) -> list[dict]:
    [sync] = [
        r for r in world.env.http_requests if r.method == "PUT" and r.path.endswith("/commands")
    ]
    return sync.json


def named(commands: list[dict]) -> Iterator[dict]:
    """Every command, group, subcommand and option: everything with a name."""
    for command in commands:
        yield command
        yield from named(command.get("options") or [])


async def test_the_synced_commands_carry_every_shipped_language(world: World):
    commands = synced(world)
    assert {c["name"] for c in commands} >= {"explore", "maps", "export", "kinapse"}
    for item in named(commands):
        assert set(item["name_localizations"]) >= SHIPPED, item["name"]
        assert set(item["description_localizations"]) >= SHIPPED, item["name"]
        for choice in item.get("choices") or []:
            assert set(choice["name_localizations"]) >= SHIPPED, choice["name"]
    explore = next(c for c in commands if c["name"] == "explore")
    assert explore["name_localizations"]["de"] == "erkunden"
    assert explore["name_localizations"]["ja"] == "探索"
    assert explore["description_localizations"]["fr"] == (
        "Explorer un sujet, ou ton propre fichier ou ta page, sous forme de carte conceptuelle à "
        "parcourir."
    )
