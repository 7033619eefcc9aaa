"""``python -m bot preview``: the real bot in a simulated Discord, in your browser.

No Discord token and no API key needed. SimCord runs the unmodified bot against
an in-memory Discord and serves a browser page on 127.0.0.1: a server with an
#explore channel and two members to switch between, so the public card and the
private copies can both be tried. The bot is built exactly as ``python -m bot``
builds it, from the same settings; only the database differs (``preview.db``
beside the configured one, unless ``KINAPSE_DATABASE`` is set).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import simcord

from bot.config import Settings
from bot.runtime import open_explorer, stop_on_signals
from bot.ui.client import KinapseBot

log = logging.getLogger(__name__)

PREVIEW_DATABASE_NAME = "preview.db"
SIMCORD_CDN_HOST = "cdn.simcord.invalid"  # where SimCord serves attached files
PREVIEW_SERVER = "Kinapse Preview"
PREVIEW_BOT_NAME = "Kinapse"
PREVIEW_CHANNEL = "explore"
PREVIEW_MEMBERS = ("alice", "bob")
# SimCord waits this long past the generation deadline for the bot to finish an
# action, so a slow generation ends on the bot's own deadline, not SimCord's.
SETTLE_MARGIN_SECONDS = 15.0


def preview_settings(settings: Settings) -> Settings:
    """The same settings on the preview's own database, unless one was chosen
    (a chosen file, or a PostgreSQL URL, is used as is)."""
    # Files attached in the preview come from SimCord's stand-in for Discord's CDN.
    hosts = f"{settings.attachment_hosts},{SIMCORD_CDN_HOST}"
    settings = settings.model_copy(update={"attachment_hosts": hosts})
    if "database" in settings.model_fields_set or not isinstance(settings.database, Path):
        return settings
    return settings.model_copy(
        update={"database": settings.database.with_name(PREVIEW_DATABASE_NAME)}
    )


@contextlib.asynccontextmanager
async def open_preview(settings: Settings, *, port: int = 0) -> AsyncIterator[simcord.Preview]:
    """Run the bot in SimCord with its browser Preview until the block ends.

    The yielded preview's ``url`` carries the session's capability: whoever has
    it can drive the session, so it is never logged.
    """
    settings = preview_settings(settings)
    async with open_explorer(settings) as explorer:
        # Every run starts a new simulated Discord with no commands registered,
        # while the database remembers the last sync: always sync.
        bot = KinapseBot(settings, explorer, force_sync=True)
        settle_timeout = settings.generation_deadline + SETTLE_MARGIN_SECONDS
        # check_errors=False: the bot logs its own errors; a preview ends cleanly.
        # One simulated shard, unless sharding is configured (SimCord needs a count).
        shards = 1 if settings.shard_count is None else None
        async with simcord.run(
            bot, settle_timeout=settle_timeout, check_errors=False, shard_count=shards
        ) as env:
            # SimCord names every bot TestBot; a real one is named in the Developer Portal.
            assert bot.user is not None
            await bot.user.edit(username=PREVIEW_BOT_NAME)
            users = [env.create_user(name) for name in PREVIEW_MEMBERS]
            # The first member owns the server, so the admin commands can be tried too.
            # A pinned DEV_GUILD_ID is where the bot syncs its commands: be that server.
            server = env.create_guild(PREVIEW_SERVER, id=settings.dev_guild_id, owner=users[0])
            channel = server.create_text_channel(PREVIEW_CHANNEL)
            members = [server.add_member(user) for user in users]
            await _catch_up_with_the_wall_clock(env)
            preview = env.preview(channel, viewers=members, layout="channel", port=port)
            async with preview:
                log.info(
                    "Preview of %s in #%s with %s; database %s",
                    PREVIEW_SERVER,
                    PREVIEW_CHANNEL,
                    " and ".join(PREVIEW_MEMBERS),
                    explorer.storage.where,
                )
                yield preview


async def _catch_up_with_the_wall_clock(env: simcord.Env) -> None:
    """Move SimCord's clock, which starts at a fixed instant, to now.

    Snowflakes come from that clock, and the database outlives a run: without
    this, each run's messages would reuse the last run's message ids, and so
    their stored sessions. The server and members, made before, keep fixed ids,
    so maps generated in the preview server stay there from run to run.
    """
    behind = (datetime.now(UTC) - env.now()).total_seconds()
    if behind > 0:
        await env.advance_time(behind)


async def run_preview(settings: Settings, *, port: int = 0) -> int:
    """Serve the preview until Ctrl-C or the page's "End preview session"."""
    async with open_preview(settings, port=port) as preview:
        # Stoppable from the moment the URL shows, so a stop right after it is clean.
        with stop_on_signals(preview.close):
            # The one place the URL goes: the terminal of the person who started it.
            print(
                f"Kinapse preview: open {preview.url} in your browser (Ctrl-C to stop)", flush=True
            )
            await preview.wait_closed()
    log.info("Preview session ended")
    return 0
