"""The one place that turns errors into replies.

Order of handling:
1. ``KinapseError`` (and ``TopicError``): its message is safe to show; sent as is,
   with a relative timestamp for limits and the available topics when no key is set.
2. discord.py's ``CheckFailure`` family: the user lacks a permission or used a
   command in the wrong place; a short explanation.
3. Anything else: logged with its traceback under a short reference id, and the
   user gets an apology naming that id.
Every reply is ephemeral, sent as a followup when the interaction is already
acknowledged, so no interaction is ever left as "This interaction failed".
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.cards import MESSAGE_CONTENT_MAX
from bot.errors import KinapseError, LimitReached, NoGenerator
from bot.models import TopicError
from bot.text import shorten

if TYPE_CHECKING:
    from bot.client import KinapseBot

log = logging.getLogger(__name__)

FIRST_RESPONSE = "kinapse: first response"  # the key of its lock in interaction.extras


def describe(error: BaseException) -> str | None:
    """The user-facing line for an expected error, or None for an unexpected one."""
    if isinstance(error, LimitReached):
        when = discord.utils.format_dt(error.retry_at, "R")
        return f"{error.message} You can try again {when}."
    if isinstance(error, NoGenerator):
        topics = ", ".join(error.available)
        return f"{error.message} Maps available now: {topics}." if topics else error.message
    if isinstance(error, KinapseError | TopicError):
        return str(error)
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(error, app_commands.MissingPermissions):
        return "You need the Manage Server permission for this command."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    return None


async def reply_error(interaction: discord.Interaction[KinapseBot], error: BaseException) -> None:
    """Answer ``interaction`` with a short message about ``error``, privately."""
    if isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        error = error.__cause__ or error
    await send_private(interaction, explain(interaction, error))


def explain(interaction: discord.Interaction, error: BaseException) -> str:
    """The line to show for ``error``; an unexpected one is logged and answered with an
    apology naming the reference under which it was logged."""
    text = describe(error)
    if text is None:
        reference = secrets.token_hex(3)
        log.error(
            "Unexpected error [%s] in %s",
            reference,
            _where(interaction),
            exc_info=(type(error), error, error.__traceback__),
        )
        text = f"Sorry, something went wrong on our side (reference `{reference}`)."
    return text


def answering(interaction: discord.Interaction) -> asyncio.Lock:
    """Held while the interaction's first response goes out: a handler's answer and the
    acknowledgement of one that is late (``views.run_safely``) never both do."""
    lock = interaction.extras.get(FIRST_RESPONSE)
    if lock is None:
        lock = interaction.extras[FIRST_RESPONSE] = asyncio.Lock()
    return lock


async def send_private(interaction: discord.Interaction, text: str) -> None:
    text = shorten(text, MESSAGE_CONTENT_MAX)
    try:
        async with answering(interaction):
            if not interaction.response.is_done():
                await interaction.response.send_message(text, ephemeral=True)
                return
        await interaction.followup.send(text, ephemeral=True)
    except discord.HTTPException:
        # The interaction expired or Discord refused: nothing more can reach this user.
        log.warning("Could not deliver an error reply in %s", _where(interaction), exc_info=True)


def _where(interaction: discord.Interaction) -> str:
    data = interaction.data or {}
    what = data.get("custom_id") or data.get("name") or interaction.type.name
    return f"{what} (guild {interaction.guild_id}, user {interaction.user.id})"
