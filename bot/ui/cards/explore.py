"""The cards of a map: its overview card, a concept's card, a map still streaming, and
the Map button's picture card."""

from __future__ import annotations

import enum

import discord

from bot.explore import ConceptView, MapView
from bot.generator import Sketch, SketchConcept
from bot.i18n import N_, _, language, ngettext
from bot.languages import name_of
from bot.models import ChildState, Level, Source, topic_key
from bot.render import MapPicture
from bot.text import shorten, width
from bot.ui.cards.blocks import Card, Control, Divider, Picture, Row, Status, accent_of, literal
from bot.ui.cards.fit import (
    BODY_FLOOR,
    HEADING_MAX,
    SUMMARY_FLOOR,
    TITLE_FLOOR,
    Draft,
    Said,
    SectionDraft,
    TextDraft,
    assemble,
    components_left,
    concept_blocks,
    phrase,
)
from bot.ui.cards.kept import kept
from bot.ui.cards.material import material_line
from bot.ui.cards.sources import (
    UNCHECKED_NOTES,
    card_sources,
    footnote,
    provenance_line,
    refresh_button,
    sources_button,
)
from bot.ui.ids import Action
from bot.ui.limits import MEDIA_DESCRIPTION_MAX, TEXT_TOTAL_MAX

# Our own layout choices.
BREADCRUMB_SEPARATOR = " › "
BREADCRUMB_MAX = 256  # one small-text line above the heading
FOOTER_MAX = 300
ERROR_NOTE_MAX = 300
MODEL_NAME_MAX = 100
MAPPING_NOTE = N_("⏳ *Mapping sub-concepts…*")
STREAMING_SUB_NOTE = N_("⏳ *Mapping sub-concepts… {count} so far*")
SEARCHING_SUB_NOTE = N_("⏳ *Mapping sub-concepts… searching the web for sources*")
QUEUED_NOTE = N_(
    "⏳ *Queued: other maps are being generated; these sub-concepts are next in line…*"
)
LEAF_NOTE = N_("*This concept has no sub-concepts: it is as deep as this map goes.*")
NO_KEY_NOTE = N_("*Its sub-concepts can't be mapped in this server for now.*")
ASK_LABEL = N_("Ask")
QUIZ_LABEL = N_("Quiz")
REMEMBER_LABEL = N_("Remember")
DISCUSS_LABEL = N_("Discuss")
NO_KEY_ASK_NOTE = N_("-# Ask is off in this server for now.")
PICTURE_FILENAME = "map.png"
OUTLINE_ON_MAP_CARD_MAX = 1200  # the map card also lists the key concepts
OUTLINE_ON_PICTURE_CARD_MAX = 2800  # leaves room for the heading, note and footer
OUTLINE_INDENT = "  "  # Discord nests a list item indented by two spaces
# The Map button's picture: the concept and its path in orange.
PATH_LEGEND = N_(
    "-# 🟧 {concept} and its path to the topic · 🟦 explored · ⬜ not explored yet (dashed)"
)
# The map card's small picture: the topic in orange, its key concepts and what was explored.
MAP_LEGEND = N_(
    "-# 🟧 the topic · 🟦 explored · ⬜ not explored yet · sub-concepts appear once explored"
)
DRAWING_NOTE = N_("-# ⏳ Drawing the map's picture…")  # in its place until it is edited in
POST_LABEL = N_("Post in channel")
POSTED_LABEL = N_("Posted in channel")
NO_PICTURE_NOTE = N_(
    "-# The picture's fonts cannot draw some characters of this map ({chars}), "
    "so here it is as an outline; **bold**: explored."
)


class Post(enum.Enum):
    """A private card's Post in channel button: offered, or pressed (greyed out)."""

    OFFERED = "offered"
    DONE = "done"


def post_control(action: Action, target: int, post: Post | None) -> tuple[Control, ...]:
    """The Post in channel button of a private card (none on a public one)."""
    if post is None:
        return ()
    if post is Post.DONE:
        return (Control(action, target, _(POSTED_LABEL), disabled=True),)
    return (Control(action, target, _(POST_LABEL), discord.ButtonStyle.primary),)


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
LEVEL_NOTES = {Level.INTRO: N_("for beginners"), Level.EXPERT: N_("expert level")}


def footer(view: MapView | ConceptView) -> str:
    """Where the card's text comes from, and how much of the map is explored."""
    concept_map = view.map
    source = provenance_line(view.provenance, len(card_sources(view.sources)))
    if concept_map.source is not Source.BUNDLED and concept_map.level in LEVEL_NOTES:
        source += f" · {_(LEVEL_NOTES[concept_map.level])}"
    if view.translated_from is not None:
        original = name_of(view.translated_from, language())
        source += " · " + _(
            "translated by Claude from the curated {language} map", language=original
        )
    explored = ngettext(
        "{opened} of {count} concept explored",
        "{opened} of {count} concepts explored",
        concept_map.total,
        opened=concept_map.opened,
    )
    if concept_map.explorers:
        explored = ngettext(
            "{explored} by {count} member",
            "{explored} by {count} members",
            concept_map.explorers,
            explored=explored,
        )
    return shorten(f"-# {source} · {explored}", FOOTER_MAX)


def _footer_section(view: MapView | ConceptView, button: Control) -> SectionDraft:
    """The footnote naming the card's first sources, the reason Ask is off when it is, and
    the footer, beside the Sources button."""
    lines = [_footer_lines(view)]
    if (note := footnote(card_sources(view.sources))) is not None:
        lines.insert(0, note)
    return SectionDraft(button, "\n".join(lines))


def _unchecked(view: MapView | ConceptView, part: str) -> list[Draft]:
    """The small note under text Claude wrote from its training data alone."""
    return [TextDraft(_(UNCHECKED_NOTES[part]))] if view.provenance.unchecked else []


@kept
def map_card(
    view: MapView,
    *,
    can_go_back: bool = False,
    picture: MapPicture | None = None,
    drawing: bool = False,
    post: Post | None = None,
) -> Card:
    """The map's card; with ``picture``, the map drawn under the overview (or, when its
    labels cannot be drawn, its outline); ``drawing``: a note where the picture will be
    once it is drawn. ``post``: a private card's Post in channel button."""
    concept_map = view.map
    drafts: list[Draft] = [
        TextDraft(
            "## ",
            Said(concept_map.topic, HEADING_MAX, TITLE_FLOOR),
            "\n",
            Said(concept_map.overview, TEXT_TOTAL_MAX, BODY_FLOOR),
        ),
        *_unchecked(view, "overview"),
    ]
    if view.material is not None:
        drafts.insert(1, TextDraft(material_line(view.material, concept_map.language)))
    if picture is not None:
        description = _("Map of {topic}", topic=concept_map.topic)
        drafts += _picture_blocks(picture, description, OUTLINE_ON_MAP_CARD_MAX)
        if picture.png is not None:
            drafts.append(TextDraft(_(MAP_LEGEND)))
    elif drawing:
        drafts.append(TextDraft(_(DRAWING_NOTE)))
    nav = map_nav(view, can_go_back=can_go_back, post=post)
    sources = _footer_section(view, sources_button(Action.MAP_SOURCES, concept_map.id))
    tail: list[Draft] = [Divider(), sources, *([Row(nav)] if nav else [])]
    items = [(c.id, c.title, c.summary) for c in view.concepts]
    drafts += concept_blocks(items, parent=0, budget=components_left(drafts, tail))
    return assemble(drafts + tail, accent_of(concept_map.key))


def sketch_card(topic: str, sketch: Sketch) -> Card:
    """A new map while its answer streams: what is complete so far, no buttons yet.

    The concepts have no ids until the whole answer is validated and stored, so
    they are listed without their Open buttons; a progress line stands in for
    the footer.
    """
    drafts: list[Draft] = [
        TextDraft("## ", Said(sketch.title or topic, HEADING_MAX, TITLE_FLOOR)),
    ]
    if sketch.overview:
        drafts.append(TextDraft(Said(sketch.overview, TEXT_TOTAL_MAX, BODY_FLOOR)))
    drafts += _sketched(sketch.concepts)
    count = len(sketch.concepts)
    progress = ngettext(
        "-# ⏳ Mapping… {count} concept so far", "-# ⏳ Mapping… {count} concepts so far", count
    )
    drafts += [Divider(), TextDraft(progress)]
    return assemble(drafts, accent_of(topic_key(topic)))


def _sketched(concepts: tuple[SketchConcept, ...]) -> list[Draft]:
    """Concepts of an answer still streaming, numbered, as text only."""
    if not concepts:
        return []
    return [Divider()] + [
        TextDraft(
            f"**{number} · ",
            Said(concept.title, HEADING_MAX, TITLE_FLOOR),
            "**\n",
            Said(concept.summary, TEXT_TOTAL_MAX, SUMMARY_FLOOR),
        )
        for number, concept in enumerate(concepts, start=1)
    ]


def map_nav(view: MapView, *, can_go_back: bool, post: Post | None = None) -> tuple[Control, ...]:
    """The map card's row of buttons: Back when there is somewhere to go back to, Ask,
    Quiz, and on a private card Post in channel (four at most: BUTTONS_PER_ROW is five)."""
    back = (Control(Action.BACK, 0, _("Back")),) if can_go_back else ()
    quiz = Control(Action.QUIZ_MAP, view.map.id, _(QUIZ_LABEL))
    posting = post_control(Action.POST_MAP, view.map.id, post)
    return (*back, _ask(Action.ASK_MAP, view.map.id, view.can_ask), quiz, *posting)


@kept
def concept_card(
    view: ConceptView, status: Status | None = None, *, post: Post | None = None
) -> Card:
    """A concept's card; ``post``: a private card's Post in channel button."""
    status = status or Status()
    concept = view.concept
    trail = breadcrumb([literal(view.map.topic)] + [literal(c.title) for c in view.path[:-1]])
    drafts: list[Draft] = [
        TextDraft(
            f"-# {trail}\n## ",
            Said(concept.title, HEADING_MAX, TITLE_FLOOR),
            "\n**",
            Said(concept.summary, TEXT_TOTAL_MAX, SUMMARY_FLOOR),
            "**\n",
            Said(concept.detail, TEXT_TOTAL_MAX, BODY_FLOOR),
        ),
        *_unchecked(view, "concept"),
    ]
    note = _note(view, status)
    if note is not None:
        drafts.append(note)
    if status.sketch is not None and status.mapping and not view.children:
        # Sub-concepts still streaming: listed without buttons, they have no ids yet.
        drafts += _sketched(status.sketch.concepts)
    tail: list[Draft] = [
        Divider(),
        _footer_section(view, sources_button(Action.SOURCES, concept.id)),
        Row(concept_nav(view)),
        Row(concept_tools(view, post)),
    ]
    items = [(c.id, c.title, c.summary) for c in view.children]
    drafts += concept_blocks(items, parent=concept.id, budget=components_left(drafts, tail))
    return assemble(drafts + tail, accent_of(view.map.key))


def concept_nav(view: ConceptView) -> tuple[Control, ...]:
    """The concept card's row: at most five buttons (BUTTONS_PER_ROW)."""
    concept = view.concept
    return (
        Control(Action.BACK, concept.id, _("Back")),
        Control(Action.UP, concept.id, _("Up")),
        Control(Action.HOME, view.map.id, _("Overview")),
        Control(Action.PICTURE, concept.id, _("Map")),
        _ask(Action.ASK, concept.id, view.can_ask),
    )


def concept_tools(view: ConceptView, post: Post | None = None) -> tuple[Control, ...]:
    """The concept card's second row, shared by learning together (Quiz, Remember, Discuss),
    a private card's Post in channel and the card's sources (issue 20: Refresh): at most
    five (BUTTONS_PER_ROW)."""
    concept = view.concept
    refresh = (refresh_button(concept.id),) if view.can_refresh else ()
    return (
        Control(Action.QUIZ, concept.id, _(QUIZ_LABEL)),
        Control(Action.REMEMBER, concept.id, _(REMEMBER_LABEL)),
        Control(Action.DISCUSS, concept.id, _(DISCUSS_LABEL)),
        *refresh,
        *post_control(Action.POST, concept.id, post),
    )


def picture_card(view: ConceptView, picture: MapPicture) -> Card:
    """The whole map drawn with the card's concept highlighted (the Map button's answer)."""
    concept = view.concept
    trail = breadcrumb([literal(view.map.topic)] + [literal(c.title) for c in view.path])
    drafts: list[Draft] = [
        TextDraft(
            f"-# {trail}\n## ",
            *phrase(_("Map of {topic}"), topic=Said(view.map.topic, HEADING_MAX, TITLE_FLOOR)),
        )
    ]
    description = _(
        "Map of {topic}, {concept} highlighted", topic=view.map.topic, concept=concept.title
    )
    drafts += _picture_blocks(picture, description, OUTLINE_ON_PICTURE_CARD_MAX)
    if picture.png is not None:
        title = Said(concept.title, HEADING_MAX, TITLE_FLOOR)
        drafts.append(TextDraft(*phrase(_(PATH_LEGEND), concept=title)))
    # Back returns to the concept's card: opening the concept the session already shows
    # leaves Back's history as it was.
    nav = (
        Control(Action.OPEN, concept.id, _("Back")),
        Control(Action.HOME, view.map.id, _("Overview")),
    )
    drafts += [Divider(), TextDraft(footer(view)), Row(nav)]
    return assemble(drafts, accent_of(view.map.key))


def _picture_blocks(picture: MapPicture, description: str, outline_max: int) -> list[Draft]:
    if picture.png is not None:
        alt = shorten(description, MEDIA_DESCRIPTION_MAX)
        return [Picture(PICTURE_FILENAME, alt, picture.png)]
    chars = literal(shorten(" ".join(picture.undrawable), 40))
    return [
        TextDraft(_(NO_PICTURE_NOTE, chars=chars)),
        TextDraft(outline_text(picture, outline_max)),
    ]


def outline_text(picture: MapPicture, limit: int) -> str:
    """The map as a nested markdown list, explored concepts in bold, cut at a whole line."""
    lines: list[str] = []
    used = 0
    for number, (depth, title, opened) in enumerate(picture.outline):
        shown = literal(shorten(title, HEADING_MAX))
        line = f"{OUTLINE_INDENT * (depth - 1)}- {f'**{shown}**' if opened else shown}"
        rest = len(picture.outline) - number
        more = ngettext("- …and {count} more", "- …and {count} more", rest)
        if used + width(line) + 1 + width(more) > limit:
            lines.append(more)
            break
        lines.append(line)
        used += width(line) + 1
    return "\n".join(lines) or "- …"


def _ask(action: Action, target: int, enabled: bool) -> Control:
    return Control(action, target, _(ASK_LABEL), discord.ButtonStyle.success, disabled=not enabled)


def _footer_lines(view: MapView | ConceptView) -> str:
    """The footer, after the reason Ask is off when it is, and that a curated map is not
    in the scope's language, when no key could translate it."""
    lines = [footer(view)]
    if not view.can_ask:
        lines.insert(0, _(NO_KEY_ASK_NOTE))
    if view.untranslated is not None:
        note = _(
            "-# This curated map is in {language}; translating it into {wanted} needs an "
            "Anthropic API key.",
            language=name_of(view.map.language, language()),
            wanted=name_of(view.untranslated, language()),
        )
        lines.insert(0, note)
    return "\n".join(lines)


def _note(view: ConceptView, status: Status) -> Draft | None:
    if view.children:
        return None
    if view.concept.state is ChildState.LEAF:
        return TextDraft(_(LEAF_NOTE))
    if status.no_generator:
        return TextDraft(_(NO_KEY_NOTE))
    if status.error and not status.mapping:
        retry = Control(Action.RETRY, view.concept.id, _("Retry"), discord.ButtonStyle.primary)
        return SectionDraft(retry, "⚠️ ", Said(status.error, ERROR_NOTE_MAX, SUMMARY_FLOOR))
    if status.sketch is not None and status.mapping:
        if status.sketch.searching:
            return TextDraft(_(SEARCHING_SUB_NOTE))
        count = len(status.sketch.concepts)
        return TextDraft(_(STREAMING_SUB_NOTE, count=count))
    return TextDraft(_(QUEUED_NOTE) if status.queued else _(MAPPING_NOTE))
