"""Cards: pure functions from map and concept views to a Components V2 layout.

A card is described as data: an accent colour and a column of blocks (text,
a section with a button beside its text, a row of buttons, the map picture,
a divider). ``bot.views.layout`` turns that description into a
``discord.ui.LayoutView``; nothing here talks to Discord. Every card stays
within Discord's limits for V2 messages, 40 components and 4,000 characters of
text in all, whatever the map says: text is cut cleanly by ``bot.text.shorten``,
concepts beyond the component budget move to a menu, never rejected.
"""

from __future__ import annotations

import enum
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import discord

from bot.explorer import (
    MAPS_PER_PAGE,
    AnswerView,
    ConceptView,
    MapRef,
    MapsPage,
    MapView,
    bundled_number,
)
from bot.generator import Sketch, SketchConcept
from bot.models import QUESTION_MAX, ChildState, Level, Source, StoredMeaning, topic_key
from bot.render import MapPicture
from bot.text import defuse_mentions, shorten, width

# Discord's limits (https://discord.com/developers/docs/components/reference).
COMPONENTS_MAX = 40  # per message, nested ones included
TEXT_TOTAL_MAX = 4000  # characters of text across all text displays of a message
BUTTON_LABEL_MAX = 80
BUTTONS_PER_ROW = 5
SELECT_OPTIONS_MAX = 25
SELECT_LABEL_MAX = 100
SELECT_DESCRIPTION_MAX = 100
SELECT_PLACEHOLDER_MAX = 150
CUSTOM_ID_MAX = 100
MESSAGE_CONTENT_MAX = 2000

# Our own layout choices.
BREADCRUMB_SEPARATOR = " › "
BREADCRUMB_MAX = 256  # one small-text line above the heading
HEADING_MAX = 256
FOOTER_MAX = 300
ERROR_NOTE_MAX = 300
MODEL_NAME_MAX = 100
# Accent colours, one per map (chosen from the map's key, so it never changes).
MAP_COLOURS = (0x5865F2, 0x3BA55C, 0xFAA61A, 0xEB459E, 0x9B59B6, 0x1ABC9C, 0xE67E22)
MAPPING_NOTE = "⏳ *Mapping sub-concepts…*"
STREAMING_NOTE = "-# ⏳ Mapping… {count} {concepts} so far"
STREAMING_SUB_NOTE = "⏳ *Mapping sub-concepts… {count} so far*"
QUEUED_NOTE = "⏳ *Queued: other maps are being generated; these sub-concepts are next in line…*"
LEAF_NOTE = "*This concept has no sub-concepts: it is as deep as this map goes.*"
NO_KEY_NOTE = "*Sub-concepts of this concept need Claude, and {why}.*"
OPEN_LABEL = "Open"
MEANING_LABEL = "Map this"
MEANINGS_INTRO = "This topic has several meanings; choose the one you mean."
MEANINGS_NOTE = "-# Anyone who sees this card may choose."
ASK_LABEL = "Ask"
SHARE_LABEL = "Share"
SHARED_LABEL = "Shared in the channel"
NO_KEY_ASK_NOTE = "-# Ask is off: questions need Claude, and {why}."
WRITING_NOTE = "-# ✍️ Writing the answer…"
QUEUED_ANSWER_NOTE = (
    "-# ⏳ Queued: other maps and answers are being written; yours is next in line…"
)
PICTURE_FILENAME = "map.png"
MEDIA_DESCRIPTION_MAX = 1024  # a media gallery item's alt text
OUTLINE_ON_MAP_CARD_MAX = 1200  # the map card also lists the key concepts
OUTLINE_ON_PICTURE_CARD_MAX = 2800  # leaves room for the heading, note and footer
OUTLINE_INDENT = "  "  # Discord nests a list item indented by two spaces
LEGEND = "-# 🟦 explored · ⬜ not opened yet (dashed)"
LEGEND_PATH = " and its path to the topic · "  # after the highlighted concept's title
NO_PICTURE_NOTE = (
    "-# The picture's fonts cannot draw some characters of this map ({chars}), "
    "so here it is as an outline; **bold**: explored."
)

# Components a block costs: a section is itself, its text and its button.
SECTION_COMPONENTS = 3
MENU_COMPONENTS = 2  # an action row and its select menu
# When text must be cut, no piece of model text goes below these lengths.
TITLE_FLOOR = 30
SUMMARY_FLOOR = 40
BODY_FLOOR = 200


class Action(enum.StrEnum):
    """What a control does; the custom_id is ``kin:<action>:<id>``."""

    OPEN = "open"  # id: the concept to open
    BACK = "back"  # id: the concept the card shows (0: the overview)
    UP = "up"  # id: the concept the card shows
    HOME = "home"  # id: the map
    RETRY = "retry"  # id: the concept whose expansion failed
    PICK = "pick"  # a select menu; id: the parent concept (0: the overview)
    PAGE = "maps"  # /maps pagination; id: the page to show
    MAP = "map"  # open a stored map privately; id: the map
    CURATED = "curated"  # open a bundled map privately; id: its bundled_number
    PICTURE = "picture"  # the map's picture; id: the concept to highlight
    ASK = "ask"  # the Ask form about a concept; id: the concept the card shows
    ASK_MAP = "askmap"  # the Ask form about the topic; id: the map
    SHARE = "share"  # post an answer in the channel; id: the answer
    MEANING = "meaning"  # map one meaning of an ambiguous topic; id: the stored meaning
    RETRY_TOPIC = "topicretry"  # map a new topic again after a failure; id: the stored retry


def custom_id(action: Action, target: int) -> str:
    return f"kin:{action.value}:{target}"


@dataclass(frozen=True)
class Control:
    """One button, or a select menu when ``options`` is set."""

    action: Action
    target: int
    label: str
    style: discord.ButtonStyle = discord.ButtonStyle.secondary
    disabled: bool = False
    options: tuple[tuple[int, str, str], ...] = ()  # (concept id, label, description)

    @property
    def custom_id(self) -> str:
        return custom_id(self.action, self.target)


# -- the card description -----------------------------------------------------


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
        return 1 + sum(_components(block) for block in self.blocks)

    def text_width(self) -> int:
        return sum(width(text) for text in self.texts)


def _components(block: Block) -> int:
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


def breadcrumb(parts: list[str]) -> str:
    """``Topic › A › B``, elided in the middle when it is too long for its line."""
    text = BREADCRUMB_SEPARATOR.join(parts)
    if width(text) <= BREADCRUMB_MAX:
        return text
    head, tail = parts[0], parts[1:]
    kept: list[str] = []
    budget = BREADCRUMB_MAX - width(head) - 2 * width(BREADCRUMB_SEPARATOR) - 1
    for part in reversed(tail):
        if width(part) + width(BREADCRUMB_SEPARATOR) > budget:
            break
        kept.insert(0, part)
        budget -= width(part) + width(BREADCRUMB_SEPARATOR)
    if not kept:
        kept = [shorten(tail[-1], max(budget, 1))]
    return shorten(BREADCRUMB_SEPARATOR.join([head, "…", *kept]), BREADCRUMB_MAX)


# A generated map written for another audience than standard says so in its footer.
LEVEL_NOTES = {Level.INTRO: "for beginners", Level.EXPERT: "expert level"}


def footer(view: MapView | ConceptView) -> str:
    concept_map = view.map
    if concept_map.source is not Source.BUNDLED:
        source = f"Mapped by {literal(shorten(concept_map.model or 'Claude', MODEL_NAME_MAX))}"
        if concept_map.level in LEVEL_NOTES:
            source += f" · {LEVEL_NOTES[concept_map.level]}"
    else:
        source = f"Curated · as of {view.as_of}" if view.as_of else "Curated map"
    explored = f"{concept_map.opened} of {concept_map.total} concepts explored"
    return shorten(f"-# {source} · {explored}", FOOTER_MAX)


def map_card(
    view: MapView, *, can_go_back: bool = False, picture: MapPicture | None = None
) -> Card:
    """The map's card; with ``picture``, the map drawn under the overview (or, when its
    labels cannot be drawn, its outline)."""
    concept_map = view.map
    drafts: list[_Draft] = [
        _Text(
            "## ",
            Said(concept_map.topic, HEADING_MAX, TITLE_FLOOR),
            "\n",
            Said(concept_map.overview, TEXT_TOTAL_MAX, BODY_FLOOR),
        )
    ]
    if picture is not None:
        description = f"Map of {concept_map.topic}"
        drafts += _picture_blocks(picture, description, OUTLINE_ON_MAP_CARD_MAX)
        if picture.png is not None:
            drafts.append(_Text(LEGEND))
    nav = map_nav(view, can_go_back=can_go_back)
    tail: list[_Draft] = [Divider(), _Text(_footer_lines(view)), *([Row(nav)] if nav else [])]
    items = [(c.id, c.title, c.summary) for c in view.concepts]
    drafts += _concept_blocks(items, parent=0, budget=_budget(drafts, tail))
    return _assemble(drafts + tail, accent_of(concept_map.key))


def sketch_card(topic: str, sketch: Sketch) -> Card:
    """A new map while its answer streams: what is complete so far, no buttons yet.

    The concepts have no ids until the whole answer is validated and stored, so
    they are listed without their Open buttons; a progress line stands in for
    the footer.
    """
    drafts: list[_Draft] = [
        _Text("## ", Said(sketch.title or topic, HEADING_MAX, TITLE_FLOOR)),
    ]
    if sketch.overview:
        drafts.append(_Text(Said(sketch.overview, TEXT_TOTAL_MAX, BODY_FLOOR)))
    drafts += _sketched(sketch.concepts)
    count = len(sketch.concepts)
    progress = STREAMING_NOTE.format(count=count, concepts="concept" if count == 1 else "concepts")
    drafts += [Divider(), _Text(progress)]
    return _assemble(drafts, accent_of(topic_key(topic)))


def _sketched(concepts: tuple[SketchConcept, ...]) -> list[_Draft]:
    """Concepts of an answer still streaming, numbered, as text only."""
    if not concepts:
        return []
    return [Divider()] + [
        _Text(
            f"**{number} · ",
            Said(concept.title, HEADING_MAX, TITLE_FLOOR),
            "**\n",
            Said(concept.summary, TEXT_TOTAL_MAX, SUMMARY_FLOOR),
        )
        for number, concept in enumerate(concepts, start=1)
    ]


def map_nav(view: MapView, *, can_go_back: bool) -> tuple[Control, ...]:
    """The map card's row of buttons: Back when there is somewhere to go back to, and Ask."""
    back = (Control(Action.BACK, 0, "Back"),) if can_go_back else ()
    return (*back, _ask(Action.ASK_MAP, view.map.id, view.can_ask))


def concept_card(view: ConceptView, status: Status | None = None) -> Card:
    status = status or Status()
    concept = view.concept
    trail = breadcrumb([literal(view.map.topic)] + [literal(c.title) for c in view.path[:-1]])
    drafts: list[_Draft] = [
        _Text(
            f"-# {trail}\n## ",
            Said(concept.title, HEADING_MAX, TITLE_FLOOR),
            "\n**",
            Said(concept.summary, TEXT_TOTAL_MAX, SUMMARY_FLOOR),
            "**\n",
            Said(concept.detail, TEXT_TOTAL_MAX, BODY_FLOOR),
        )
    ]
    note = _note(view, status)
    if note is not None:
        drafts.append(note)
    if status.sketch is not None and status.mapping and not view.children:
        # Sub-concepts still streaming: listed without buttons, they have no ids yet.
        drafts += _sketched(status.sketch.concepts)
    tail: list[_Draft] = [Divider(), _Text(_footer_lines(view)), Row(concept_nav(view))]
    items = [(c.id, c.title, c.summary) for c in view.children]
    drafts += _concept_blocks(items, parent=concept.id, budget=_budget(drafts, tail))
    return _assemble(drafts + tail, accent_of(view.map.key))


def concept_nav(view: ConceptView) -> tuple[Control, ...]:
    """The concept card's row: at most five buttons (BUTTONS_PER_ROW)."""
    concept = view.concept
    return (
        Control(Action.BACK, concept.id, "Back"),
        Control(Action.UP, concept.id, "Up"),
        Control(Action.HOME, view.map.id, "Overview"),
        Control(Action.PICTURE, concept.id, "Map"),
        _ask(Action.ASK, concept.id, view.can_ask),
    )


def picture_card(view: ConceptView, picture: MapPicture) -> Card:
    """The whole map drawn with the card's concept highlighted (the Map button's answer)."""
    concept = view.concept
    trail = breadcrumb([literal(view.map.topic)] + [literal(c.title) for c in view.path])
    drafts: list[_Draft] = [
        _Text(f"-# {trail}\n## Map of ", Said(view.map.topic, HEADING_MAX, TITLE_FLOOR))
    ]
    description = f"Map of {view.map.topic}, {concept.title} highlighted"
    drafts += _picture_blocks(picture, description, OUTLINE_ON_PICTURE_CARD_MAX)
    if picture.png is not None:
        title = Said(concept.title, HEADING_MAX, TITLE_FLOOR)
        drafts.append(_Text("-# 🟧 ", title, LEGEND_PATH, LEGEND.removeprefix("-# ")))
    # Back returns to the concept's card: opening the concept the session already shows
    # leaves Back's history as it was.
    nav = (
        Control(Action.OPEN, concept.id, "Back"),
        Control(Action.HOME, view.map.id, "Overview"),
    )
    drafts += [Divider(), _Text(footer(view)), Row(nav)]
    return _assemble(drafts, accent_of(view.map.key))


def _picture_blocks(picture: MapPicture, description: str, outline_max: int) -> list[_Draft]:
    if picture.png is not None:
        alt = shorten(description, MEDIA_DESCRIPTION_MAX)
        return [Picture(PICTURE_FILENAME, alt, picture.png)]
    chars = literal(shorten(" ".join(picture.undrawable), 40))
    return [_Text(NO_PICTURE_NOTE.format(chars=chars)), _Text(outline_text(picture, outline_max))]


def outline_text(picture: MapPicture, limit: int) -> str:
    """The map as a nested markdown list, explored concepts in bold, cut at a whole line."""
    lines: list[str] = []
    used = 0
    for number, (depth, title, opened) in enumerate(picture.outline):
        shown = literal(shorten(title, HEADING_MAX))
        line = f"{OUTLINE_INDENT * (depth - 1)}- {f'**{shown}**' if opened else shown}"
        rest = len(picture.outline) - number
        more = f"- …and {rest} more"
        if used + width(line) + 1 + width(more) > limit:
            lines.append(more)
            break
        lines.append(line)
        used += width(line) + 1
    return "\n".join(lines) or "- …"


def _ask(action: Action, target: int, enabled: bool) -> Control:
    return Control(action, target, ASK_LABEL, discord.ButtonStyle.success, disabled=not enabled)


def _footer_lines(view: MapView | ConceptView) -> str:
    """The footer, after the reason Ask is off when it is."""
    if view.can_ask:
        return footer(view)
    return f"{NO_KEY_ASK_NOTE.format(why=view.generation_off)}\n{footer(view)}"


def maps_card(maps: MapsPage, *, title: str) -> Card:
    """A page of the scope's maps, each a section with its Open button beside it; the
    numbers go on from the pages before."""
    shown = maps.listings[:MAPS_PER_PAGE]
    page, pages = maps.number, maps.count
    drafts: list[_Draft] = [
        _Text(f"## {literal(shorten(title, HEADING_MAX))}"),
    ]
    if not shown:
        drafts.append(_Text("No maps yet."))
    for number, listing in enumerate(shown, start=page * MAPS_PER_PAGE + 1):
        if listing.source is Source.BUNDLED:
            source = "curated"
        else:
            source = f"mapped by {literal(shorten(listing.model or 'Claude', MODEL_NAME_MAX))}"
        ref = MapRef(listing.topic, map_id=listing.id)
        if listing.id is None:
            ref = MapRef(listing.topic, bundled=bundled_number(listing.key))
        drafts.append(
            _Section(
                open_map_control(ref),
                f"**{number}. ",
                Said(listing.topic, HEADING_MAX, TITLE_FLOOR),
                f"**\n-# {listing.opened} of {listing.total} opened · {source}",
            )
        )
    controls = [
        Control(Action.PAGE, page - 1, "Previous", disabled=page == 0),
        Control(Action.PAGE, page + 1, "Next", disabled=page >= pages - 1),
    ]
    # Distinct custom_ids even when both are disabled at the edges.
    if page == 0:
        controls[0] = Control(Action.PAGE, pages + 1, "Previous", disabled=True)
    if page >= pages - 1:
        controls[1] = Control(Action.PAGE, pages + 2, "Next", disabled=True)
    drafts += [
        _Text(f"-# Page {page + 1} of {pages} · Open a map, or /explore a topic"),
        Row(tuple(controls)),
    ]
    return _assemble(drafts, MAP_COLOURS[0])


def open_map_control(ref: MapRef, label: str = OPEN_LABEL) -> Control:
    """A button that opens ``ref``'s map privately for whoever presses it."""
    style = discord.ButtonStyle.primary
    if ref.map_id is not None:
        return Control(Action.MAP, ref.map_id, label, style)
    assert ref.bundled is not None
    return Control(Action.CURATED, ref.bundled, label, style)


def suggestions_card(message: str, refs: list[MapRef]) -> Card:
    """``message`` (why the topic asked for cannot be mapped now), then buttons that open
    the closest maps there are."""
    drafts: list[_Draft] = [_Text(message)]
    if refs:
        buttons = tuple(
            open_map_control(ref, shorten(ref.topic, BUTTON_LABEL_MAX))
            for ref in refs[:BUTTONS_PER_ROW]
        )
        drafts += [_Text("-# Maps you can open now:"), Row(buttons)]
    return _assemble(drafts, MAP_COLOURS[0])


def meanings_card(topic: str, choices: list[StoredMeaning]) -> Card:
    """Which meaning of ``topic``? One section per meaning, its title in bold and its line,
    with the button that maps it beside it."""
    drafts: list[_Draft] = [
        _Text("## Which ", Said(topic, HEADING_MAX, TITLE_FLOOR), "?\n", MEANINGS_INTRO),
    ]
    for meaning in choices:
        button = Control(Action.MEANING, meaning.id, MEANING_LABEL, discord.ButtonStyle.primary)
        drafts.append(
            _Section(
                button,
                "**",
                Said(meaning.title, HEADING_MAX, TITLE_FLOOR),
                "**\n",
                Said(meaning.line, TEXT_TOTAL_MAX, SUMMARY_FLOOR),
            )
        )
    drafts += [Divider(), _Text(MEANINGS_NOTE)]
    return _assemble(drafts, accent_of(topic_key(topic)))


def answer_card(
    subject: str,
    question: str,
    *,
    answer: str | None,
    note: str,
    accent: int | None,
    share: int | None = None,
    shared: bool = False,
) -> Card:
    """A reader's question and its answer: the card it was asked on, the question quoted,
    the answer (None: not written yet), a ``note`` line (markdown, ours) and, with
    ``share`` (the answer's id), the button that posts it in the channel (``shared``:
    greyed out once it has been)."""
    drafts: list[_Draft] = [
        _Text(
            "-# Question about **",
            Said(subject, HEADING_MAX, TITLE_FLOOR),
            "**\n> ",
            # Twice the form's limit: escaping can double a question made of markdown.
            Said(defuse_mentions(question), QUESTION_MAX * 2, SUMMARY_FLOOR),
        )
    ]
    if answer:
        drafts.append(_Text(Said(answer, TEXT_TOTAL_MAX, BODY_FLOOR)))
    drafts.append(_Text(note))
    if share is not None:
        label = SHARED_LABEL if shared else SHARE_LABEL
        button = Control(Action.SHARE, share, label, discord.ButtonStyle.primary, shared)
        drafts.append(Row((button,)))
    return _assemble(drafts, accent)


def answered_card(view: AnswerView, *, can_share: bool, shared: bool = False) -> Card:
    """A stored answer: privately with its Share button (greyed out once ``shared``),
    or without it, as posted in the channel."""
    answer = view.answer
    model = literal(shorten(answer.model, MODEL_NAME_MAX))
    topic = literal(shorten(view.map.topic, HEADING_MAX))
    return answer_card(
        view.subject,
        answer.question,
        answer=answer.text,
        note=shorten(f"-# Answered by {model} from the map of {topic}", FOOTER_MAX),
        accent=accent_of(view.map.key),
        share=answer.id if can_share else None,
        shared=shared,
    )


def _note(view: ConceptView, status: Status) -> _Draft | None:
    if view.children:
        return None
    if view.concept.state is ChildState.LEAF:
        return _Text(LEAF_NOTE)
    if status.no_generator:
        return _Text(NO_KEY_NOTE.format(why=view.generation_off))
    if status.error and not status.mapping:
        retry = Control(Action.RETRY, view.concept.id, "Retry", discord.ButtonStyle.primary)
        return _Section(retry, "⚠️ ", Said(status.error, ERROR_NOTE_MAX, SUMMARY_FLOOR))
    if status.sketch is not None and status.mapping:
        count = len(status.sketch.concepts)
        return _Text(STREAMING_SUB_NOTE.format(count=count))
    return _Text(QUEUED_NOTE if status.queued else MAPPING_NOTE)


# -- building a card within the limits -----------------------------------------


@dataclass(frozen=True)
class Said:
    """Map or user text on a card: shown literally, cut to ``limit``, and when the
    card's text must shrink, cut further but not below ``floor`` unless it must."""

    text: str
    limit: int
    floor: int


class _Text:
    def __init__(self, *parts: str | Said) -> None:
        self.parts = parts


class _Section:
    def __init__(self, button: Control, *parts: str | Said) -> None:
        self.button = button
        self.parts = parts


_Draft = _Text | _Section | Row | Picture | Divider


def _concept_blocks(items: list[tuple[int, str, str]], *, parent: int, budget: int) -> list[_Draft]:
    """A section per concept with its Open button; past the component budget, a menu."""
    if not items:
        return []
    budget -= 1  # the divider above them
    if len(items) * SECTION_COMPONENTS <= budget:
        as_sections, in_menu = items, []
    else:
        fit = max(0, (budget - MENU_COMPONENTS) // SECTION_COMPONENTS)
        as_sections, in_menu = items[:fit], items[fit : fit + SELECT_OPTIONS_MAX]
    blocks: list[_Draft] = [Divider()]
    for number, (concept_id, title, summary) in enumerate(as_sections, start=1):
        button = Control(Action.OPEN, concept_id, OPEN_LABEL, discord.ButtonStyle.primary)
        blocks.append(
            _Section(
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
        placeholder = shorten(f"More concepts ({start} to {end})…", SELECT_PLACEHOLDER_MAX)
        blocks.append(Row((Control(Action.PICK, parent, placeholder, options=options),)))
    return blocks


def _budget(*groups: list[_Draft]) -> int:
    """Components left for the concept list once the container and ``groups`` are placed."""
    used = 1 + sum(_components(_block_shape(d)) for group in groups for d in group)
    return COMPONENTS_MAX - used


def _block_shape(draft: _Draft) -> Block:
    if isinstance(draft, _Text):
        return Text("")
    if isinstance(draft, _Section):
        return Section("", draft.button)
    return draft


def _assemble(drafts: list[_Draft], accent: int) -> Card:
    """Join the drafts' text; when it is too long, cut the longest pieces first.

    Every piece is held to one common length (never above its own limit, never
    below its floor), the longest length with which the card's text fits: a
    long detail is cut before a short summary is touched.
    """
    said = [p for d in drafts if isinstance(d, _Text | _Section) for p in d.parts]
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


def _finish(draft: _Draft, texts: Iterator[str]) -> Block:
    if isinstance(draft, _Text):
        return Text(_join(draft.parts, texts))
    if isinstance(draft, _Section):
        return Section(_join(draft.parts, texts), draft.button)
    return draft


def _join(parts: Iterable[str | Said], texts: Iterator[str]) -> str:
    return "".join(part if isinstance(part, str) else next(texts) for part in parts)


def _shown(text: str, limit: int) -> str:
    """``text`` escaped for markdown and cut so that the escaped form fits ``limit``."""
    cut = limit
    while cut > 0:
        shown = literal(shorten(text, cut))
        if width(shown) <= limit:
            return shown
        cut -= width(shown) - limit
    return ""
