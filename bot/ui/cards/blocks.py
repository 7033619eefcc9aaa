"""What a card is, as data: an accent colour and a column of blocks (text, a section with
a button beside its text, a row of buttons, the map picture, a divider).

``bot.ui.layout`` turns a card into a ``discord.ui.LayoutView``; nothing in
``bot.ui.cards`` talks to Discord, so every card can be built and checked in a test.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import discord

from bot.generator import Sketch
from bot.text import width
from bot.ui.ids import Action, custom_id

# Accent colours, one per map (chosen from the map's key, so it never changes).
# Accent colours, one per map (chosen from the map's key, so it never changes).
MAP_COLOURS = (0x5865F2, 0x3BA55C, 0xFAA61A, 0xEB459E, 0x9B59B6, 0x1ABC9C, 0xE67E22)
# Components a block costs: a section is itself, its text and its button.
# Components a block costs: a section is itself, its text and its button.
SECTION_COMPONENTS = 3


@dataclass(frozen=True)
class Control:
    """One button, or a select menu when ``options`` is set."""

    action: Action
    target: int
    label: str
    style: discord.ButtonStyle = discord.ButtonStyle.secondary
    disabled: bool = False
    options: tuple[tuple[int, str, str], ...] = ()  # (concept id, label, description)
    detail: int | None = None  # the second id of a pair action (ids.PAIR_ACTIONS)

    @property
    def custom_id(self) -> str:
        return custom_id(self.action, self.target, self.detail)


@dataclass(frozen=True)
class Text:
    """A text display (markdown)."""

    content: str


@dataclass(frozen=True)
class Section:
    """Text with a button beside it (the section's accessory)."""

    content: str
    button: Control


@dataclass(frozen=True)
class Row:
    """An action row: up to five buttons, or one select menu."""

    controls: tuple[Control, ...]


@dataclass(frozen=True)
class Picture:
    """An image attached to the message, shown in a media gallery."""

    filename: str
    description: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Divider:
    pass


Block = Text | Section | Row | Picture | Divider


@dataclass(frozen=True)
class Card:
    """A V2 card: one container with an accent colour around ``blocks``."""

    blocks: tuple[Block, ...]
    accent: int | None = None

    @property
    def controls(self) -> list[Control]:
        found: list[Control] = []
        for block in self.blocks:
            if isinstance(block, Section):
                found.append(block.button)
            elif isinstance(block, Row):
                found += block.controls
        return found

    @property
    def texts(self) -> list[str]:
        return [b.content for b in self.blocks if isinstance(b, Text | Section)]

    @property
    def picture(self) -> Picture | None:
        return next((b for b in self.blocks if isinstance(b, Picture)), None)

    def component_count(self) -> int:
        """Components as Discord counts them: the container and everything nested in it."""
        return 1 + sum(components_of(block) for block in self.blocks)

    def text_width(self) -> int:
        return sum(width(text) for text in self.texts)


def components_of(block: Block) -> int:
    if isinstance(block, Section):
        return SECTION_COMPONENTS
    if isinstance(block, Row):
        return 1 + len(block.controls)
    return 1


@dataclass(frozen=True)
class Status:
    """What the card says about sub-concepts that are not shown yet."""

    mapping: bool = False  # a generation is under way
    queued: bool = False  # ... waiting for a free generation slot
    error: str | None = None  # the last generation failed
    no_generator: bool = False
    sketch: Sketch | None = None  # ... and what its answer says so far, while it streams


def literal(text: str) -> str:
    """User or model text shown as written: no markdown, no mention syntax."""
    return discord.utils.escape_markdown(text, as_needed=False)


def accent_of(key: str) -> int:
    """A map's accent colour: the same for a map every time, different across most maps."""
    return MAP_COLOURS[zlib.crc32(key.encode()) % len(MAP_COLOURS)]
