"""``python -m bot``: settings -> logging -> storage -> bot.

Commands:
  python -m bot                 run the bot on Discord (needs DISCORD_TOKEN)
  python -m bot sync            run, syncing the app commands even if unchanged
  python -m bot preview         run offline in a simulated Discord, in your browser
  python -m bot db backup PATH  copy the SQLite database to a new file, safely while it runs
  python -m bot maps lint [PATH ...]
  python -m bot db copy SOURCE TARGET   a SQLite file to a postgresql:// URL, or back
  python -m bot maps export TOPIC [--format markdown|mermaid|opml|json|html] [--scope ID]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import Settings
from bot.errors import ConfigError, StartupError
from bot.render.export import ExportFormat

# discord.py and the anthropic SDK take seconds to import: only the commands
# that run the bot import them (through bot.runtime), so `maps lint` and
# `--help` answer at once.

log = logging.getLogger("bot")

EXIT_USAGE = 2
PREVIEW_HINT = "To try Kinapse without Discord, run: uv run python -m bot preview"


async def run_bot(settings: Settings, *, force_sync: bool) -> None:
    from bot.runtime import open_explorer, stop_on_signals
    from bot.ui.client import KinapseBot

    assert settings.discord_token is not None
    token = settings.discord_token.get_secret_value()
    async with open_explorer(settings) as explorer:
        bot = KinapseBot(settings, explorer, force_sync=force_sync)
        async with bot:
            # SIGTERM (systemd, docker stop) closes the bot, then the database, cleanly.
            with stop_on_signals(bot.close):
                await bot.start(token)


def copy_command(source: str, target: str) -> int:
    from bot.storage.copy import copy_database

    # A copy that cannot run raises a StartupError: main prints its one line.
    copied = asyncio.run(copy_database(source, target))
    print(", ".join(f"{c.rows} {c.table}" for c in copied) + " copied; counts verified.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Kinapse, the concept-map bot"
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot on Discord (the default)")
    sub.add_parser("sync", help="run the bot, syncing app commands even if unchanged")
    preview = sub.add_parser("preview", help="run offline in a simulated Discord in your browser")
    preview.add_argument("--port", type=int, default=0, help="loopback port (default: any free)")
    maps = sub.add_parser("maps", help="bundled map tools")
    maps_sub = maps.add_subparsers(dest="maps_command", required=True)
    lint = maps_sub.add_parser("lint", help="check map files")
    lint.add_argument("paths", nargs="*", help="files or folders (default: the maps folder)")
    export = maps_sub.add_parser("export", help="print a bundled or stored map")
    export.add_argument("topic")
    export.add_argument("--format", choices=[f.value for f in ExportFormat], default="markdown")
    export.add_argument("--scope", type=int, default=None, help="server id of a stored map")
    catalogs = sub.add_parser("catalogs", help="message catalog tools (translations)")
    catalogs_sub = catalogs.add_subparsers(dest="catalogs_command", required=True)
    catalogs_sub.add_parser("update", help="gather the messages and merge them into every catalog")
    new = catalogs_sub.add_parser("new", help="start the catalog of a new language")
    new.add_argument("locale", help="its Discord locale, e.g. it, es-419, zh-TW")
    db = sub.add_parser("db", help="database tools")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    copy = db_sub.add_parser("copy", help="copy every row into an empty database")
    copy.add_argument("source", help="a SQLite file or a postgresql:// URL")
    copy.add_argument("target", help="a SQLite file or a postgresql:// URL, empty")
    backup = db_sub.add_parser("backup", help="copy the SQLite database, safely while it runs")
    backup.add_argument("target", help="the new file to write the copy to")
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    try:
        return _command(args, settings)
    except StartupError as exc:
        # A file, folder or setting the bot cannot work with: one line, no traceback.
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "db" and args.db_command == "backup":
        return _backup(settings, Path(args.target))
    if args.command == "maps":
        from bot import authoring

        try:
            if args.maps_command == "lint":
                return authoring.lint_command(args.paths or [str(settings.maps_dir)])
            return asyncio.run(
                authoring.export_command(settings, args.topic, args.format, args.scope)
            )
        except BrokenPipeError:
            # Piped into `head`: the reader has all it wanted.
            sys.stderr.close()
            return 0

    if args.command == "catalogs":
        from bot.authoring.catalogs import catalogs_command

        return catalogs_command(args.catalogs_command, getattr(args, "locale", None))

    if args.command == "db":
        return copy_command(args.source, args.target)

    from bot.runtime import setup_logging

    setup_logging(settings, preview=args.command == "preview")
    if args.command == "preview":
        from bot.preview import run_preview

        try:
            return asyncio.run(run_preview(settings, port=args.port))
        except KeyboardInterrupt:
            return 0

    import aiohttp
    import discord

    if settings.discord_token is None:
        print(f"DISCORD_TOKEN is not set (see .env.example). {PREVIEW_HINT}", file=sys.stderr)
        return EXIT_USAGE
    try:
        asyncio.run(run_bot(settings, force_sync=args.command == "sync"))
    except discord.LoginFailure:
        print("Discord rejected DISCORD_TOKEN; copy the bot token again.", file=sys.stderr)
        return EXIT_USAGE
    except (aiohttp.ClientConnectionError, OSError) as exc:
        print(f"Could not reach Discord: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def _backup(settings: Settings, target: Path) -> int:
    from bot.storage.sqlite import backup

    if not isinstance(settings.database, Path):
        raise StartupError(
            "db backup copies a SQLite file; back up PostgreSQL with pg_dump (see README)"
        )
    counts = backup(settings.database, target)
    size = target.stat().st_size
    rows = ", ".join(f"{counts.get(t, 0):,} {t}" for t in ("maps", "concepts", "sessions"))
    print(f"Backed up {settings.database} to {target} ({size / 1024:,.0f} KiB): {rows}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
