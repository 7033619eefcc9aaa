"""Cards: pure functions from map and concept views to an embed and its controls.

Nothing here talks to Discord; everything stays within Discord's message
limits, cut cleanly by ``bot.text.shorten`` rather than rejected. Controls are
described as data (``Control``); ``bot.views`` turns them into DynamicItems.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import discord

from bot.explorer import ConceptView, MapView
from bot.models import ChildState, Source
from bot.storage import MapListing
from bot.text import shorten, width

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits)
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_TEXT_MAX = 2048
AUTHOR_NAME_MAX = 256
EMBED_TOTAL_MAX = 6000
BUTTON_LABEL_MAX = 80
BUTTONS_PER_ROW = 5
ROWS_MAX = 5
SELECT_OPTIONS_MAX = 25
SELECT_LABEL_MAX = 100
SELECT_DESCRIPTION_MAX = 100
SELECT_PLACEHOLDER_MAX = 150
CUSTOM_ID_MAX = 100
MESSAGE_CONTENT_MAX = 2000

# Our own layout choices.
CONCEPT_ROWS = 4  # rows of concept buttons above the navigation row
CONCEPT_BUTTONS_MAX = CONCEPT_ROWS * BUTTONS_PER_ROW
BREADCRUMB_SEPARATOR = " › "
MAPS_PER_PAGE = 10
DEPTH_COLOURS = (0x5865F2, 0x3BA55C, 0xFAA61A, 0xEB459E, 0x9B59B6, 0x1ABC9C)
MAPPING_NOTE = "⏳ *Mapping sub-concepts…*"
LEAF_NOTE = "*This concept has no sub-concepts: it is as deep as this map goes.*"
NO_KEY_NOTE = "*Sub-concepts of this concept need Claude, and ANTHROPIC_API_KEY is not set.*"


class Action(enum.StrEnum):
    """What a control does; the custom_id is ``kin:<action>:<id>``."""

    OPEN = "open"  # id: the concept to open
    BACK = "back"  # id: the concept the card shows (0: the overview)
    UP = "up"  # id: the concept the card shows
    HOME = "home"  # id: the map
    RETRY = "retry"  # id: the concept whose expansion failed
    PICK = "pick"  # a select menu; id: the parent concept (0: the overview)
    PAGE = "maps"  # /maps pagination; id: the page to show


def custom_id(action: Action, target: int) -> str:
    return f"kin:{action.value}:{target}"


@dataclass(frozen=True)
class Control:
    """One button, or a select menu when ``options`` is set."""

    action: Action
    target: int
    label: str
    row: int
    style: discord.ButtonStyle = discord.ButtonStyle.secondary
    disabled: bool = False
    options: tuple[tuple[int, str, str], ...] = ()  # (concept id, label, description)

    @property
    def custom_id(self) -> str:
        return custom_id(self.action, self.target)


@dataclass(frozen=True)
class Card:
    embed: discord.Embed
    controls: list[Control] = field(default_factory=list)


@dataclass(frozen=True)
class Status:
    """What the card says about sub-concepts that are not shown yet."""

    mapping: bool = False  # a generation is under way
    error: str | None = None  # the last generation failed
    no_generator: bool = False


def literal(text: str) -> str:
    """User or model text shown as written: no markdown, no mention syntax."""
    return discord.utils.escape_markdown(text, as_needed=False)


def button_label(number: int, title: str) -> str:
    return shorten(f"{number} · {title}", BUTTON_LABEL_MAX)


def breadcrumb(parts: list[str]) -> str:
    """``Topic › A › B``, elided in the middle when it is too long for the author line."""
    text = BREADCRUMB_SEPARATOR.join(parts)
    if width(text) <= AUTHOR_NAME_MAX:
        return text
    head, tail = parts[0], parts[1:]
    kept: list[str] = []
    budget = AUTHOR_NAME_MAX - width(head) - 2 * width(BREADCRUMB_SEPARATOR) - 1
    for part in reversed(tail):
        if width(part) + width(BREADCRUMB_SEPARATOR) > budget:
            break
        kept.insert(0, part)
        budget -= width(part) + width(BREADCRUMB_SEPARATOR)
    if not kept:
        kept = [shorten(tail[-1], max(budget, 1))]
    return shorten(BREADCRUMB_SEPARATOR.join([head, "…", *kept]), AUTHOR_NAME_MAX)


def footer(view: MapView | ConceptView) -> str:
    concept_map = view.map
    if concept_map.source is not Source.BUNDLED:
        source = f"Mapped by {concept_map.model}"
    else:
        source = f"Curated · as of {view.as_of}" if view.as_of else "Curated map"
    explored = f"{concept_map.opened} of {concept_map.total} concepts explored"
    return shorten(f"{source} · {explored}", FOOTER_TEXT_MAX)


def map_card(view: MapView, *, can_go_back: bool = False) -> Card:
    embed = discord.Embed(
        title=shorten(literal(view.map.topic), EMBED_TITLE_MAX),
        description=shorten(literal(view.map.overview), EMBED_DESCRIPTION_MAX),
        colour=DEPTH_COLOURS[0],
    )
    controls = _concept_controls(
        [(c.id, c.title, c.summary) for c in view.concepts], parent=0, embed=embed
    )
    if can_go_back:
        controls.append(Control(Action.BACK, 0, "Back", row=ROWS_MAX - 1))
    embed.set_footer(text=footer(view))
    return Card(_fit(embed), controls)


def concept_card(view: ConceptView, status: Status | None = None) -> Card:
    status = status or Status()
    concept = view.concept
    embed = discord.Embed(
        title=shorten(literal(concept.title), EMBED_TITLE_MAX),
        colour=DEPTH_COLOURS[min(concept.depth, len(DEPTH_COLOURS) - 1)],
    )
    embed.set_author(name=breadcrumb([view.map.topic] + [c.title for c in view.path[:-1]]))
    note = _note(view, status)
    body = f"**{literal(concept.summary)}**\n\n{literal(concept.detail)}"
    if note:
        body = f"{shorten(body, EMBED_DESCRIPTION_MAX - width(note) - 2)}\n\n{note}"
    embed.description = shorten(body, EMBED_DESCRIPTION_MAX)
    controls = _concept_controls(
        [(c.id, c.title, c.summary) for c in view.children], parent=concept.id, embed=embed
    )
    nav_row = ROWS_MAX - 1
    if status.error and not status.mapping:
        controls.append(
            Control(Action.RETRY, concept.id, "Retry", nav_row, discord.ButtonStyle.primary)
        )
    controls += [
        Control(Action.BACK, concept.id, "Back", nav_row),
        Control(Action.UP, concept.id, "Up", nav_row),
        Control(Action.HOME, view.map.id, "Overview", nav_row),
    ]
    embed.set_footer(text=footer(view))
    return Card(_fit(embed), controls)


def maps_card(listings: list[MapListing], page: int, *, scope_name: str) -> Card:
    pages = max(1, -(-len(listings) // MAPS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = listings[page * MAPS_PER_PAGE : (page + 1) * MAPS_PER_PAGE]
    lines = []
    for number, listing in enumerate(shown, start=page * MAPS_PER_PAGE + 1):
        source = "curated" if listing.source is Source.BUNDLED else f"mapped by {listing.model}"
        lines.append(
            f"**{number}. {literal(shorten(listing.topic, 100))}** · "
            f"{listing.opened} of {listing.total} opened · {source}"
        )
    embed = discord.Embed(
        title=shorten(f"Maps in {literal(scope_name)}", EMBED_TITLE_MAX),
        description=shorten("\n".join(lines) or "No maps yet.", EMBED_DESCRIPTION_MAX),
        colour=DEPTH_COLOURS[0],
    )
    embed.set_footer(text=f"Page {page + 1} of {pages} · /explore a topic to open its map")
    controls = [
        Control(Action.PAGE, page - 1, "Previous", 0, disabled=page == 0),
        Control(Action.PAGE, page + 1, "Next", 0, disabled=page >= pages - 1),
    ]
    # Distinct custom_ids even when both are disabled at the edges.
    if page == 0:
        controls[0] = Control(Action.PAGE, pages + 1, "Previous", 0, disabled=True)
    if page >= pages - 1:
        controls[1] = Control(Action.PAGE, pages + 2, "Next", 0, disabled=True)
    return Card(embed, controls)


def _note(view: ConceptView, status: Status) -> str:
    if view.children:
        return ""
    if view.concept.state is ChildState.LEAF:
        return LEAF_NOTE
    if status.no_generator:
        return NO_KEY_NOTE
    if status.error and not status.mapping:
        return f"⚠️ {literal(shorten(status.error, 300))}"
    return MAPPING_NOTE


def _concept_controls(
    items: list[tuple[int, str, str]], *, parent: int, embed: discord.Embed
) -> list[Control]:
    """A field and a button per concept; past 20, the rest in a select menu."""
    fields_free = EMBED_FIELDS_MAX
    for number, (_, title, summary) in enumerate(items, start=1):
        if fields_free == 1 and number < len(items):
            rest = len(items) - number + 1
            embed.add_field(
                name=f"…and {rest} more",
                value="Pick them from the menu below.",
                inline=False,
            )
            break
        embed.add_field(
            name=shorten(f"{number} · {literal(title)}", FIELD_NAME_MAX),
            value=shorten(literal(summary), FIELD_VALUE_MAX),
            inline=False,
        )
        fields_free -= 1

    if len(items) <= CONCEPT_BUTTONS_MAX:
        as_buttons, in_menu = items, []
    else:
        # Three rows of buttons, then a menu row for the rest (25 options at most each).
        as_buttons = items[: (CONCEPT_ROWS - 1) * BUTTONS_PER_ROW]
        in_menu = items[len(as_buttons) : len(as_buttons) + SELECT_OPTIONS_MAX]
    controls = [
        Control(
            Action.OPEN,
            concept_id,
            button_label(number, title),
            row=(number - 1) // BUTTONS_PER_ROW,
            style=discord.ButtonStyle.primary,
        )
        for number, (concept_id, title, _) in enumerate(as_buttons, start=1)
    ]
    if in_menu:
        start = len(as_buttons) + 1
        options = tuple(
            (
                concept_id,
                shorten(f"{number} · {title}", SELECT_LABEL_MAX),
                shorten(summary, SELECT_DESCRIPTION_MAX),
            )
            for number, (concept_id, title, summary) in enumerate(in_menu, start=start)
        )
        controls.append(
            Control(
                Action.PICK,
                parent,
                shorten(
                    f"More concepts ({start} to {start + len(in_menu) - 1})…",
                    SELECT_PLACEHOLDER_MAX,
                ),
                row=CONCEPT_ROWS - 1,
                options=options,
            )
        )
    return controls


def _fit(embed: discord.Embed) -> discord.Embed:
    """Keep the embed within Discord's 6,000-character total, trimming fields then description."""
    excess = _embed_width(embed) - EMBED_TOTAL_MAX
    if excess <= 0:
        return embed
    fields = list(embed.fields)
    embed.clear_fields()
    # Shorten the longest field values first, never below a readable line.
    values = [f.value or "" for f in fields]
    while excess > 0:
        longest = max(range(len(values)), key=lambda i: width(values[i]), default=None)
        if longest is None or width(values[longest]) <= 80:
            break
        target = max(80, width(values[longest]) - excess)
        excess -= width(values[longest]) - width(shorten(values[longest], target))
        values[longest] = shorten(values[longest], target)
    for f, value in zip(fields, values, strict=True):
        embed.add_field(name=f.name, value=value, inline=f.inline)
    if excess > 0 and embed.description:
        embed.description = shorten(embed.description, max(1, width(embed.description) - excess))
    return embed


def _embed_width(embed: discord.Embed) -> int:
    total = width(embed.title or "") + width(embed.description or "")
    total += width(embed.footer.text or "") + width(embed.author.name or "")
    total += sum(width(f.name or "") + width(f.value or "") for f in embed.fields)
    return total
