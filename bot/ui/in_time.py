"""Discord hears from the bot within its 3 seconds, whatever holds the answer up.

An interaction not answered ``ACK_AFTER`` seconds after it was created is
acknowledged (deferred) and its answer follows as an edit or a followup; a
write that waits for another process's lock defers at once. One lock per
interaction (``respond.answering``) keeps the handler's answer and the
deferral from both going out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import discord

from bot.explore import lock_wait_listener
from bot.ui.replies import reply_error
from bot.ui.respond import acknowledge, answering, defer
from bot.ui.speech import speak_to

log = logging.getLogger(__name__)

T = TypeVar("T")

# Discord's window for the first response is 3 seconds; an answer not ready 2 seconds
# after the interaction was created is deferred and edited in later.
ACK_AFTER = 2.0
TRUSTED_LAG = 1.0  # seconds of gateway delay believed from the interaction's timestamp


def patience(interaction: discord.Interaction) -> float:
    """Seconds left until the interaction should have had a first response."""
    lag = (discord.utils.utcnow() - interaction.created_at).total_seconds()
    # A lag beyond TRUSTED_LAG is a clock out of step, not a slow gateway.
    return ACK_AFTER - min(max(lag, 0.0), TRUSTED_LAG)


async def run_safely(
    interaction: discord.Interaction,
    handler: Callable[[discord.Interaction, int], Awaitable[None]],
    target: int,
) -> None:
    """Run a button's handler; every failure becomes a short private reply (DynamicItem
    errors are otherwise only logged, leaving the user with "This interaction failed"),
    and an answer that is not ready in time is acknowledged first (``answered_in_time``).
    It is answered in the member's language."""
    speak_to(interaction)
    async with answered_in_time(interaction, thinking=False, ephemeral=False):
        try:
            await handler(interaction, target)
        except Exception as exc:
            await reply_error(interaction, exc)


@asynccontextmanager
async def answered_in_time(
    interaction: discord.Interaction, *, thinking: bool, ephemeral: bool
) -> AsyncIterator[None]:
    """Whatever holds the answer up inside the block (a database that is slow or locked
    by another process), Discord hears from the bot in time: ``ACK_AFTER`` seconds after
    the interaction was created, one still unanswered is acknowledged (``thinking``, and
    ``ephemeral`` for a command whose answer is private; a button's message is edited
    later), and the answer follows (``answer_in_place``, ``answer_privately``).

    A timer, not a task: most answers are ready long before it, and cancelling a timer
    costs nothing."""
    late: list[asyncio.Task[None]] = []

    def acknowledge_late() -> None:
        late.append(asyncio.ensure_future(_acknowledge_late(interaction, thinking, ephemeral)))

    timer = asyncio.get_running_loop().call_later(patience(interaction), acknowledge_late)
    try:
        yield
    finally:
        timer.cancel()
        for task in late:
            if answering(interaction).locked():
                await task  # acknowledging this very moment: cut off, it could answer twice
            else:
                task.cancel()


async def _acknowledge_late(
    interaction: discord.Interaction, thinking: bool, ephemeral: bool
) -> None:
    async with answering(interaction):
        if not interaction.response.is_done():
            log.info("Interaction %s acknowledged before its answer was ready", interaction.id)
            await defer(interaction, thinking=thinking, ephemeral=ephemeral)


async def in_time(
    interaction: discord.Interaction, work: Awaitable[T], *, ephemeral: bool = False
) -> T:
    """``work``'s result, with the interaction deferred first if the answer will be late:
    at once when a write has to wait for another process's lock, else ``ACK_AFTER``
    seconds after the interaction was created (a slow disk or server, say). Discord's
    window for the first response is kept whatever the wait; a deferred answer is
    edited in (privately if ``ephemeral``).
    """
    # The work runs here, in the handler's own task (most often it never waits: what it
    # reads is held), watched by a timer and by storage's word that it waits for a lock.
    deferring: list[asyncio.Task[None]] = []

    def defer_now(why: str) -> None:
        if not deferring:
            log.info("Interaction %s deferred: storage %s", interaction.id, why)
            acknowledged = acknowledge(interaction, thinking=True, ephemeral=ephemeral)
            deferring.append(asyncio.ensure_future(acknowledged))

    timer = asyncio.get_running_loop().call_later(patience(interaction), defer_now, "is slow")
    listening = lock_wait_listener.set(lambda: defer_now("waits for another process's lock"))
    try:
        return await work
    finally:
        lock_wait_listener.reset(listening)
        timer.cancel()
        if deferring:
            await deferring[0]  # the answer follows the acknowledgement, never races it
