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

import logging
import secrets

import discord
from discord import app_commands

from bot.errors import KinapseError, LimitReached, NoGenerator
from bot.i18n import _
from bot.models import TopicError
from bot.ui.respond import send_text, where

log = logging.getLogger(__name__)


def describe(error: BaseException) -> str | None:
    """The user-facing line for an expected error, or None for an unexpected one; in the
    language of the interaction being answered."""
    if isinstance(error, LimitReached):
        when = discord.utils.format_dt(error.retry_at, "R")
        return _("{message} You can try again {when}.", message=error.message, when=when)
    if isinstance(error, NoGenerator):
        if not error.available:
            return _(error.message)
        topics = ", ".join(error.available)
        return _("{message} Maps available now: {topics}.", message=error.message, topics=topics)
    if isinstance(error, KinapseError):
        return _(error.message)
    if isinstance(error, TopicError):
        return _(str(error))
    if isinstance(error, app_commands.NoPrivateMessage):
        return _("This command only works in a server.")
    if isinstance(error, app_commands.MissingPermissions):
        return _("You need the Manage Server permission for this command.")
    if isinstance(error, app_commands.CheckFailure):
        return _("You can't use this command here.")
    return None


def managers_note(interaction: discord.Interaction, error: BaseException) -> str:
    """Why generation is off, on a line of its own, for a member who manages the server
    (the bot's configuration is nobody else's business); "" for anyone else."""
    manager = interaction.guild_id is not None and interaction.permissions.manage_guild
    if manager and isinstance(error, NoGenerator) and error.detail:
        note = _(
            "For this server's managers: generation is off because {why}.",
            why=error.detail,
        )
        return f"\n-# {note}"
    return ""


async def reply_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Answer ``interaction`` with a short message about ``error``, privately."""
    if isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        error = error.__cause__ or error
    await send_text(interaction, explain(interaction, error))


def explain(interaction: discord.Interaction, error: BaseException) -> str:
    """The line to show for ``error``; an unexpected one is logged and answered with an
    apology naming the reference under which it was logged."""
    text = describe(error)
    if text is not None:
        return text + managers_note(interaction, error)
    reference = secrets.token_hex(3)
    log.error(
        "Unexpected error [%s] in %s",
        reference,
        where(interaction),
        exc_info=(type(error), error, error.__traceback__),
    )
    return _(
        "Sorry, something went wrong on our side (reference `{reference}`).", reference=reference
    )
