"""Answering an interaction: the first response (once, whoever tries), edits of its
message later, and private lines of text."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

import discord

from bot.text import shorten
from bot.ui.limits import MESSAGE_CONTENT_MAX

log = logging.getLogger(__name__)

FIRST_RESPONSE = "kinapse: first response"  # the key of its lock in interaction.extras
# A card that must end as the map or an error is edited this many times before giving up.
EDIT_ATTEMPTS = 3
EDIT_PAUSE = 0.5  # seconds between those attempts


def answering(interaction: discord.Interaction) -> asyncio.Lock:
    """Held while the interaction's first response goes out: a handler's answer and the
    acknowledgement of one that is late (``bot.ui.in_time``) never both do."""
    lock = interaction.extras.get(FIRST_RESPONSE)
    if lock is None:
        lock = interaction.extras[FIRST_RESPONSE] = asyncio.Lock()
    return lock


async def acknowledge(
    interaction: discord.Interaction, *, thinking: bool, ephemeral: bool = False
) -> None:
    """Defer the interaction unless it was answered; a failure is logged, and the work goes
    on regardless."""
    async with answering(interaction):
        if not interaction.response.is_done():
            await defer(interaction, thinking=thinking, ephemeral=ephemeral)


async def defer(interaction: discord.Interaction, *, thinking: bool, ephemeral: bool) -> None:
    """Defer now (the caller holds ``answering``); a refusal is logged."""
    try:
        await interaction.response.defer(thinking=thinking, ephemeral=ephemeral)
    except discord.HTTPException as exc:
        log.warning("Could not acknowledge interaction %s: %s", interaction.id, exc)


async def send_text(interaction: discord.Interaction, text: str) -> None:
    """One private line of text, as the first response or a followup; a failure is logged."""
    text = shorten(text, MESSAGE_CONTENT_MAX)
    try:
        async with answering(interaction):
            if not interaction.response.is_done():
                await interaction.response.send_message(text, ephemeral=True)
                return
        await interaction.followup.send(text, ephemeral=True)
    except discord.HTTPException:
        # The interaction expired or Discord refused: nothing more can reach this user.
        log.warning("Could not deliver a reply in %s", where(interaction), exc_info=True)


async def edit_once(interaction: discord.Interaction, **fields: Any) -> discord.Message | None:
    """Edit the interaction's message; a failure is logged, never raised: the work the
    edit reports on goes on without it."""
    try:
        return await interaction.edit_original_response(**fields)
    except discord.HTTPException as exc:
        log.warning("Could not edit the card of %s: %s", interaction.id, exc)
        return None


async def edit_finally(interaction: discord.Interaction, **fields: Any) -> discord.Message | None:
    """The last edit of a card (its result or its error): tried again after a failure,
    unless the message or the interaction is gone."""
    for attempt in range(EDIT_ATTEMPTS):
        try:
            return await interaction.edit_original_response(**fields)
        except discord.NotFound:
            log.info("The card of interaction %s is gone; not edited", interaction.id)
            return None
        except discord.HTTPException as exc:
            log.warning(
                "Could not edit the card of %s (attempt %d): %s", interaction.id, attempt + 1, exc
            )
            if attempt + 1 < EDIT_ATTEMPTS:
                await asyncio.sleep(EDIT_PAUSE)
    return None


async def quietly(what: str, work: Awaitable[object]) -> None:
    """Storage work after the answer was shown: a failure is logged, the answer stands."""
    try:
        await work
    except Exception:
        log.warning("Could not %s after answering", what, exc_info=True)


def where(interaction: discord.Interaction) -> str:
    """The interaction for a log line: what was used, in which server, by whom."""
    data = interaction.data or {}
    what = data.get("custom_id") or data.get("name") or interaction.type.name
    return f"{what} (guild {interaction.guild_id}, user {interaction.user.id})"
