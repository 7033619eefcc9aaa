"""A card description (``bot.ui.cards``) as a message: a V2 ``LayoutView`` and its files."""

from __future__ import annotations

import io
from typing import Any, TypeVar

import discord

from bot.ui import cards
from bot.ui.cards import Card, Control
from bot.ui.items import CardButton, CardSelect, PairButton

V = TypeVar("V", discord.ui.View, discord.ui.LayoutView)


def unkept(view: V) -> V:
    """``view``, finished before it is sent, so discord.py does not keep it.

    Every button and menu is a DynamicItem, answered from its custom_id alone
    (after a restart as before it). Kept, a private card's view would hold a
    task and a 15-minute timer each, for nothing.
    """
    view.stop()
    return view


def layout(card: Card) -> discord.ui.LayoutView:
    """The card as a V2 layout; its buttons work for as long as the message exists."""
    container = discord.ui.Container(accent_colour=card.accent)
    for block in card.blocks:
        container.add_item(_item(block))
    view = discord.ui.LayoutView(timeout=None)
    view.add_item(container)
    return unkept(view)


def _item(block: cards.Block) -> discord.ui.Item[Any]:
    if isinstance(block, cards.Text):
        return discord.ui.TextDisplay(block.content)
    if isinstance(block, cards.Section):
        return discord.ui.Section(block.content, accessory=_control(block.button))
    if isinstance(block, cards.Row):
        return discord.ui.ActionRow(*(_control(control) for control in block.controls))
    if isinstance(block, cards.Picture):
        media = f"attachment://{block.filename}"
        return discord.ui.MediaGallery(
            discord.MediaGalleryItem(media, description=block.description)
        )
    return discord.ui.Separator()


def _control(control: Control) -> discord.ui.Item[Any]:
    if control.options:
        return CardSelect(control)
    return PairButton(control) if control.detail is not None else CardButton(control)


def message_kwargs(card: Card, *, edit: bool = False) -> dict[str, Any]:
    """Keyword arguments that send the card, or with ``edit`` put it on an existing message.

    An edit clears the content and embeds the message may carry (a card posted
    as an embed before V2, or a "Mapping…" line): Discord rejects a V2 message
    that still has them. It also replaces the attachments, so a map picture
    leaves with the card that showed it.
    """
    kwargs: dict[str, Any] = {"view": layout(card)}
    files = [
        discord.File(io.BytesIO(block.data), filename=block.filename)
        for block in card.blocks
        if isinstance(block, cards.Picture)
    ]
    if edit:
        kwargs |= {"content": None, "embeds": [], "attachments": files}
    elif files:
        kwargs["files"] = files
    return kwargs


def line(
    text: str, *, retry: discord.ui.Item[Any] | None = None, v2: bool = False
) -> dict[str, Any]:
    """One line of text (with its ``retry`` button) as message fields: plain content, or a
    V2 text display once the message is a V2 card, which Discord keeps V2 for good."""
    if not v2:
        buttons = None
        if retry is not None:
            buttons = discord.ui.View(timeout=None)
            buttons.add_item(retry)
            buttons = unkept(buttons)
        return {"content": text, "embeds": [], "view": buttons}
    view = discord.ui.LayoutView(timeout=None)
    container = discord.ui.Container(discord.ui.TextDisplay(text))
    if retry is not None:
        container.add_item(discord.ui.ActionRow(retry))
    view.add_item(container)
    return {"content": None, "embeds": [], "view": unkept(view)}
