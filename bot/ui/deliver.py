"""A card onto Discord: in place of the pressed message, or privately for the presser."""

from __future__ import annotations

import discord

from bot.ui.cards import Card
from bot.ui.layout import message_kwargs
from bot.ui.respond import answering, edit_finally


async def answer_in_place(interaction: discord.Interaction, card: Card) -> None:
    """``card`` on the message whose button was pressed: as the interaction's response,
    or, once the interaction was acknowledged, as an edit."""
    fields = message_kwargs(card, edit=True)
    async with answering(interaction):
        if not interaction.response.is_done():
            await interaction.response.edit_message(**fields)
            return
    await interaction.edit_original_response(**fields)


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
