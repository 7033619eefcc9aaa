"""The bot: discord.py client, persistent buttons, command sync."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot import languages
from bot.config import Settings
from bot.errors import StorageBusy, StorageFull
from bot.explore import Explorer
from bot.ui.quiz_clock import QuizClock
from bot.ui.replies import reply_error
from bot.ui.speech import CatalogTranslator, speak_to

log = logging.getLogger(__name__)

COMMANDS_HASH_KEY = "commands_hash"

# Kinapse never joins voice: discord.py's startup warnings about voice libraries are noise.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


class KinapseTree(app_commands.CommandTree["KinapseBot"]):
    async def interaction_check(self, interaction: discord.Interaction[KinapseBot], /) -> bool:
        # Commands, autocomplete and their errors are answered in the member's language.
        speak_to(interaction)
        return True

    async def on_error(
        self, interaction: discord.Interaction[KinapseBot], error: app_commands.AppCommandError
    ) -> None:
        await reply_error(interaction, error)


class KinapseBot(commands.AutoShardedBot):
    """Kinapse on Discord. Owns nothing it did not create: storage and the
    generator are opened by the caller and passed in through the explorer.

    Sharded: the shards of ``KINAPSE_SHARD_IDS`` out of ``KINAPSE_SHARD_COUNT``
    (unset: Discord's recommended count, every shard in this process).
    """

    def __init__(self, settings: Settings, explorer: Explorer, *, force_sync: bool = False) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=discord.Intents(guilds=True),
            # Nothing the bot sends can ping anyone, whatever the text says.
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=KinapseTree,
            shard_count=settings.shard_count,
            shard_ids=list(settings.shard_ids) if settings.shard_ids is not None else None,
        )
        self.settings = settings
        self.explorer = explorer
        self.force_sync = force_sync
        self.quiz_clock = QuizClock(self)

    async def setup_hook(self) -> None:
        await asyncio.to_thread(languages.warm)
        await self.add_cogs()
        await self.tree.set_translator(CatalogTranslator())
        await self.sync_commands(force=self.force_sync)
        await self.quiz_clock.start()

    async def add_cogs(self) -> None:
        """Every command, button and form of the bot."""
        from bot.ui.cog import ExploreCog  # the cog's flows type their interactions with us

        await self.add_cog(ExploreCog(self))

    async def close(self) -> None:
        await self.quiz_clock.stop()
        await super().close()

    async def sync_commands(self, *, force: bool = False) -> None:
        """Sync the app commands when their definition changed since the last sync.

        Discord rate-limits syncing; a hash in the database avoids a sync on every start.
        """
        guild = discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        # With every language's names and descriptions: a new translation is synced too.
        translator = self.tree.translator
        assert translator is not None
        payload = [
            await command.get_translated_payload(self.tree, translator)
            for command in self.tree.get_commands(guild=guild)
        ]
        digest = hashlib.sha256(
            json.dumps([payload, self.settings.dev_guild_id], sort_keys=True).encode()
        ).hexdigest()
        if not force and await self.explorer.stored_value(COMMANDS_HASH_KEY) == digest:
            log.info("App commands unchanged; not syncing")
            return
        synced = await self.tree.sync(guild=guild)
        try:
            await self.explorer.store_value(COMMANDS_HASH_KEY, digest)
        except (StorageBusy, StorageFull) as exc:
            # The sync is done; forgetting it only costs another sync at the next start.
            log.warning("Could not remember the app commands just synced: %s", exc)
        where = f"guild {self.settings.dev_guild_id}" if guild else "all servers"
        log.info("Synced %d app commands to %s", len(synced), where)

    async def on_ready(self) -> None:
        log.info("Logged in as %s (%s) in %d servers", self.user, self.user.id, len(self.guilds))
