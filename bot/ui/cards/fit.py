"""Building a card within Discord's limits: 40 components and 4,000 characters of text
in all, whatever the map says. Text is cut cleanly by ``bot.text.shorten``, the longest
pieces first; concepts beyond the component budget move to a menu, never rejected."""

from __future__ import annotations

import functools
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import discord

from bot.i18n import N_, _
from bot.text import shorten, width
from bot.ui.cards.blocks import (
    SECTION_COMPONENTS,
    Block,
    Card,
    Control,
    Divider,
    Picture,
    Row,
    Section,
    Text,
    components_of,
    literal,
)
from bot.ui.ids import Action
from bot.ui.limits import (
    COMPONENTS_MAX,
    SELECT_DESCRIPTION_MAX,
    SELECT_LABEL_MAX,
    SELECT_OPTIONS_MAX,
    SELECT_PLACEHOLDER_MAX,
    TEXT_TOTAL_MAX,
)

MENU_COMPONENTS = 2  # an action row and its select menu
# When text must be cut, no piece of model text goes below these lengths.
TITLE_FLOOR = 30
SUMMARY_FLOOR = 40
BODY_FLOOR = 200
OPEN_LABEL = N_("Open")
HEADING_MAX = 256
SHOWN_CACHED = 4_096  # pieces of card text kept escaped and cut (a few MB at most)


@dataclass(frozen=True)
class Said:
    """Map or user text on a card: shown literally, cut to ``limit``, and when the
    card's text must shrink, cut further but not below ``floor`` unless it must."""

    text: str
    limit: int
    floor: int


class TextDraft:
    def __init__(self, *parts: str | Said) -> None:
        self.parts = parts


class SectionDraft:
    def __init__(self, button: Control, *parts: str | Said) -> None:
        self.button = button
        self.parts = parts


Draft = TextDraft | SectionDraft | Row | Picture | Divider


def phrase(template: str, **pieces: str | Said) -> tuple[str | Said, ...]:
    """A translated ``template`` as a draft's parts: its own text, and each ``{name}`` as
    the piece given (map or user text stays a ``Said``, to be cut if the card is long)."""
    parts: list[str | Said] = []
    for text, name, _spec, _conversion in string.Formatter().parse(template):
        if text:
            parts.append(text)
        if name is not None:
            parts.append(pieces[name])
    return tuple(parts)


def concept_blocks(items: list[tuple[int, str, str]], *, parent: int, budget: int) -> list[Draft]:
    """A section per concept with its Open button; past the component budget, a menu."""
    if not items:
        return []
    budget -= 1  # the divider above them
    if len(items) * SECTION_COMPONENTS <= budget:
        as_sections, in_menu = items, []
    else:
        fit = max(0, (budget - MENU_COMPONENTS) // SECTION_COMPONENTS)
        as_sections, in_menu = items[:fit], items[fit : fit + SELECT_OPTIONS_MAX]
    blocks: list[Draft] = [Divider()]
    for number, (concept_id, title, summary) in enumerate(as_sections, start=1):
        button = Control(Action.OPEN, concept_id, _(OPEN_LABEL), discord.ButtonStyle.primary)
        blocks.append(
            SectionDraft(
                button,
                f"**{number} · ",
                Said(title, HEADING_MAX, TITLE_FLOOR),
                "**\n",
                Said(summary, TEXT_TOTAL_MAX, SUMMARY_FLOOR),
            )
        )
    if in_menu:
        start = len(as_sections) + 1
        end = start + len(in_menu) - 1
        options = tuple(
            (
                concept_id,
                shorten(f"{number} · {title}", SELECT_LABEL_MAX),
                shorten(summary, SELECT_DESCRIPTION_MAX),
            )
            for number, (concept_id, title, summary) in enumerate(in_menu, start=start)
        )
        more = _("More concepts ({start} to {end})…", start=start, end=end)
        placeholder = shorten(more, SELECT_PLACEHOLDER_MAX)
        blocks.append(Row((Control(Action.PICK, parent, placeholder, options=options),)))
    return blocks


def components_left(*groups: list[Draft]) -> int:
    """Components left for the concept list once the container and ``groups`` are placed."""
    used = 1 + sum(components_of(_block_shape(d)) for group in groups for d in group)
    return COMPONENTS_MAX - used


def _block_shape(draft: Draft) -> Block:
    if isinstance(draft, TextDraft):
        return Text("")
    if isinstance(draft, SectionDraft):
        return Section("", draft.button)
    return draft


def assemble(drafts: list[Draft], accent: int) -> Card:
    """Join the drafts' text; when it is too long, cut the longest pieces first.

    Every piece is held to one common length (never above its own limit, never
    below its floor), the longest length with which the card's text fits: a
    long detail is cut before a short summary is touched.
    """
    said = [p for d in drafts if isinstance(d, TextDraft | SectionDraft) for p in d.parts]
    pieces = [p for p in said if isinstance(p, Said)]
    fixed = sum(width(p) for p in said if isinstance(p, str))

    def fitted(cap: int, *, floors: bool) -> list[str]:
        return [_shown(p.text, min(p.limit, max(p.floor if floors else 1, cap))) for p in pieces]

    def fits(texts: list[str]) -> bool:
        return fixed + sum(map(width, texts)) <= TEXT_TOTAL_MAX

    shown = fitted(TEXT_TOTAL_MAX, floors=True)
    if not fits(shown):
        floors = fits(fitted(0, floors=True))
        low, high = 0, TEXT_TOTAL_MAX  # fits at low, not at high
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if fits(fitted(middle, floors=floors)) else (low, middle)
        shown = fitted(low, floors=floors)
    texts: Iterator[str] = iter(shown)
    return Card(tuple(_finish(d, texts) for d in drafts), accent)


def _finish(draft: Draft, texts: Iterator[str]) -> Block:
    if isinstance(draft, TextDraft):
        return Text(_join(draft.parts, texts))
    if isinstance(draft, SectionDraft):
        return Section(_join(draft.parts, texts), draft.button)
    return draft


def _join(parts: Iterable[str | Said], texts: Iterator[str]) -> str:
    return "".join(part if isinstance(part, str) else next(texts) for part in parts)


@functools.lru_cache(maxsize=SHOWN_CACHED)
def _shown(text: str, limit: int) -> str:
    """``text`` escaped for markdown and cut so that the escaped form fits ``limit``.

    Kept: the same titles and summaries come back card after card, and escaping them
    is most of what building a card costs."""
    cut = limit
    while cut > 0:
        shown = literal(shorten(text, cut))
        if width(shown) <= limit:
            return shown
        cut -= width(shown) - limit
    return ""
