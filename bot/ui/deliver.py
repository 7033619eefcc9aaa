"""A card onto Discord: in place of the pressed message, or privately for the presser."""

from __future__ import annotations

import logging

import discord

from bot.ui.cards import Card
from bot.ui.layout import message_kwargs
from bot.ui.respond import answering, edit_finally

log = logging.getLogger(__name__)

# An interaction answered with one of these has its own message (its "original response").
RESPONSES_WITH_A_MESSAGE = (
    discord.InteractionResponseType.channel_message,
    discord.InteractionResponseType.deferred_channel_message,
)


async def answer_in_place(interaction: discord.Interaction, card: Card) -> None:
    """``card`` on the message whose button was pressed: as the interaction's response,
    or, once the interaction was acknowledged, as an edit."""
    fields = message_kwargs(card, edit=True)
    async with answering(interaction):
        if not interaction.response.is_done():
            await interaction.response.edit_message(**fields)
            return
    await interaction.edit_original_response(**fields)


async def edit_card(interaction: discord.Interaction, message_id: int, card: Card) -> None:
    """``card`` on a message this interaction answered with: the pressed message (answered
    in place), the interaction's own response, or one of its followups. A failure is
    logged (the message may be gone); the card it would have replaced stays."""
    fields = message_kwargs(card, edit=True)
    pressed = interaction.message is not None and interaction.message.id == message_id
    responded = interaction.response.type in RESPONSES_WITH_A_MESSAGE
    try:
        if pressed or responded:
            await interaction.edit_original_response(**fields)
        else:
            await interaction.followup.edit_message(message_id, **fields)
    except discord.HTTPException as exc:
        log.info("Could not edit card %s: %s", message_id, exc)


async def answer_privately(interaction: discord.Interaction, card: Card) -> int | None:
    """``card`` for the presser alone; the id of its message. Once acknowledged, it fills
    the "thinking…" message (``in_time``) or follows an acknowledgement in place."""
    async with answering(interaction):
        if not interaction.response.is_done():
            sent = await interaction.response.send_message(ephemeral=True, **message_kwargs(card))
            return sent.message_id
    if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
        message = await edit_finally(interaction, **message_kwargs(card, edit=True))
        return message.id if message is not None else None
    followed = await interaction.followup.send(ephemeral=True, wait=True, **message_kwargs(card))
    return followed.id
