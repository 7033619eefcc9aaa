"""The buttons and menus of every card: DynamicItems that carry ids only, so they are
answered from their custom_id alone, after a restart as before it.

Each flow module registers the handler of its actions with ``@route``; a press
looks its action up here and runs the handler in time (``bot.ui.in_time``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord

from bot.errors import NotFound
from bot.i18n import N_
from bot.ui.cards import Control
from bot.ui.ids import BUTTON_TEMPLATE, MENU_TEMPLATE, PAIR_TEMPLATE, Action, is_id
from bot.ui.in_time import run_safely
from bot.ui.replies import reply_error
from bot.ui.speech import speak_to

if TYPE_CHECKING:
    from bot.ui.context import Interaction

Handler = Callable[["Interaction", int], Awaitable[None]]
PairHandler = Callable[["Interaction", int, int], Awaitable[None]]
ROUTES: dict[Action, Handler] = {}
PAIR_ROUTES: dict[Action, PairHandler] = {}


def route(action: Action) -> Callable[[Handler], Handler]:
    """Register the handler of ``action``'s presses (one per action)."""

    def register(handler: Handler) -> Handler:
        if action in ROUTES:
            raise ValueError(f"{action} already has a handler: {ROUTES[action].__qualname__}")
        ROUTES[action] = handler
        return handler

    return register


def pair_route(action: Action) -> Callable[[PairHandler], PairHandler]:
    """Register the handler of a pair action's presses (``ids.PAIR_ACTIONS``)."""

    def register(handler: PairHandler) -> PairHandler:
        if action in PAIR_ROUTES:
            raise ValueError(f"{action} already has a handler: {PAIR_ROUTES[action].__qualname__}")
        PAIR_ROUTES[action] = handler
        return handler

    return register


def button_of(control: Control) -> discord.ui.Button:
    """The Discord button a card's control is drawn as (every DynamicItem button)."""
    return discord.ui.Button(
        label=control.label,
        style=control.style,
        custom_id=control.custom_id,
        disabled=control.disabled,
    )


class CardButton(discord.ui.DynamicItem[discord.ui.Button], template=BUTTON_TEMPLATE):
    def __init__(self, control: Control) -> None:
        super().__init__(button_of(control))
        self.action = control.action
        self.target = control.target

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> CardButton:
        control = Control(Action(match["action"]), int(match["target"]), item.label or "")
        return cls(control)

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        await run_safely(interaction, ROUTES[self.action], self.target)


class PairButton(discord.ui.DynamicItem[discord.ui.Button], template=PAIR_TEMPLATE):
    """A button carrying two ids: a quiz answer (question, option), a rating (card, grade)."""

    def __init__(self, control: Control) -> None:
        super().__init__(button_of(control))
        self.action = control.action
        self.target = control.target
        self.detail = control.detail or 0

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> PairButton:
        action, target, detail = Action(match["action"]), int(match["target"]), int(match["detail"])
        return cls(Control(action, target, item.label or "", detail=detail))

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        handler = PAIR_ROUTES[self.action]
        detail = self.detail

        async def pressed(interaction: Interaction, target: int) -> None:
            await handler(interaction, target, detail)

        await run_safely(interaction, pressed, self.target)


class CardSelect(discord.ui.DynamicItem[discord.ui.Select], template=MENU_TEMPLATE):
    """The menu of a card's concepts beyond what its sections hold; a choice opens it."""

    def __init__(self, control: Control) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=control.custom_id,
                placeholder=control.label,
                options=[
                    discord.SelectOption(label=label, value=str(concept_id), description=about)
                    for concept_id, label, about in control.options
                ],
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Select, match: re.Match[str], /
    ) -> CardSelect:
        options = tuple((int(o.value), o.label, o.description or "") for o in item.options)
        return cls(Control(Action.PICK, int(match["parent"]), "", options=options))

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        values = (interaction.data or {}).get("values") or []
        speak_to(interaction)
        if not values or not is_id(values[0]):
            await reply_error(interaction, NotFound(N_("Pick a concept from the menu.")))
            return
        await run_safely(interaction, ROUTES[Action.OPEN], int(values[0]))
