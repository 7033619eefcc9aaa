"""Answering an interaction: the first response (once, whoever tries), edits of its
message later, and private lines of text."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

import discord

from bot.text import shorten
from bot.ui.limits import INTERACTION_TOKEN_SECONDS, MESSAGE_CONTENT_MAX

log = logging.getLogger(__name__)

FIRST_RESPONSE = "kinapse: first response"  # the key of its lock in interaction.extras
# A card that must end as the map or an error is edited this many times before giving up.
EDIT_ATTEMPTS = 3
EDIT_PAUSE = 0.5  # seconds between those attempts
# A rate-limited final edit waits what Discord says, within these bounds (seconds).
RATE_LIMIT_PAUSE_MIN, RATE_LIMIT_PAUSE_MAX = 0.1, 30.0


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
    unless the message or the interaction is gone. A rate limit (429) is no failure:
    however often Discord answers it (discord.py retries each request a few times, then
    raises), the edit waits as long as Discord says and goes again, for as long as the
    interaction's token works, so the card never stays "Mapping…" once the limit passes."""
    failures = 0
    while True:
        try:
            return await interaction.edit_original_response(**fields)
        except discord.NotFound:
            log.info("The card of interaction %s is gone; not edited", interaction.id)
            return None
        except discord.HTTPException as exc:
            wait = rate_limited_for(exc)
            if wait is not None:
                if _token_left(interaction) <= wait:
                    log.warning("The card of %s stayed rate-limited to its end", interaction.id)
                    return None
                log.info("The card of %s is rate-limited; edited in %.1f s", interaction.id, wait)
                await asyncio.sleep(wait)
                continue
            failures += 1
            log.warning(
                "Could not edit the card of %s (attempt %d): %s", interaction.id, failures, exc
            )
            if failures >= EDIT_ATTEMPTS:
                return None
            await asyncio.sleep(EDIT_PAUSE)


def rate_limited_for(exc: discord.HTTPException) -> float | None:
    """Seconds Discord said to wait, when ``exc`` is its rate limit (429); else None."""
    if exc.status != 429:
        return None
    headers = getattr(exc.response, "headers", None) or {}
    for header in ("Retry-After", "X-RateLimit-Reset-After"):
        try:
            return min(max(float(headers[header]), RATE_LIMIT_PAUSE_MIN), RATE_LIMIT_PAUSE_MAX)
        except (KeyError, TypeError, ValueError):
            continue
    return RATE_LIMIT_PAUSE_MAX


def _token_left(interaction: discord.Interaction) -> float:
    """Seconds until the interaction's token no longer edits its message."""
    age = (discord.utils.utcnow() - interaction.created_at).total_seconds()
    return INTERACTION_TOKEN_SECONDS - age


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
