"""The cards that list maps: a page of /maps, the maps to open instead of a topic that
cannot be mapped now, and the meanings of an ambiguous topic."""

from __future__ import annotations

import discord

from bot.explore import MapRef, MapsPage
from bot.explore.library import MAPS_PER_PAGE
from bot.i18n import N_, _
from bot.models import Source, StoredMeaning, topic_key
from bot.text import shorten
from bot.ui.cards.blocks import MAP_COLOURS, Card, Control, Divider, Row, accent_of, literal
from bot.ui.cards.explore import MODEL_NAME_MAX
from bot.ui.cards.fit import (
    HEADING_MAX,
    OPEN_LABEL,
    SUMMARY_FLOOR,
    TITLE_FLOOR,
    Draft,
    Said,
    SectionDraft,
    TextDraft,
    assemble,
    phrase,
)
from bot.ui.cards.material import mark
from bot.ui.ids import Action
from bot.ui.limits import BUTTON_LABEL_MAX, BUTTONS_PER_ROW, TEXT_TOTAL_MAX

MEANING_LABEL = N_("Map this")
MEANINGS_INTRO = N_("This topic has several meanings; choose the one you mean.")
MEANINGS_NOTE = N_("-# Anyone who sees this card may choose.")
NO_RELATED_NOTE = N_("-# No map here is related yet; /maps lists every map you can open.")


def maps_card(maps: MapsPage, *, title: str) -> Card:
    """A page of the scope's maps, each a section with its Open button beside it; the
    numbers go on from the pages before."""
    shown = maps.listings[:MAPS_PER_PAGE]
    page, pages = maps.number, maps.count
    drafts: list[Draft] = [
        TextDraft(f"## {literal(shorten(title, HEADING_MAX))}"),
    ]
    if not shown:
        drafts.append(TextDraft(_("No maps yet.")))
    for number, listing in enumerate(shown, start=page * MAPS_PER_PAGE + 1):
        if listing.source is Source.BUNDLED:
            source = _("curated")
        elif listing.material is not None:
            source = _("from a page") if listing.material == "page" else _("from a file")
        else:
            model = literal(shorten(listing.model or "Claude", MODEL_NAME_MAX))
            source = _("mapped by {model}", model=model)
        ref = MapRef.of_listing(listing)
        drafts.append(
            SectionDraft(
                open_map_control(ref),
                f"**{number}. {mark(listing.material)}",
                Said(listing.topic, HEADING_MAX, TITLE_FLOOR),
                "**\n",
                _(
                    "-# {opened} of {total} explored · {source}",
                    opened=listing.opened,
                    total=listing.total,
                    source=source,
                ),
            )
        )
    controls = [
        Control(Action.PAGE, page - 1, _("Previous"), disabled=page == 0),
        Control(Action.PAGE, page + 1, _("Next"), disabled=page >= pages - 1),
    ]
    # Distinct custom_ids even when both are disabled at the edges.
    if page == 0:
        controls[0] = Control(Action.PAGE, pages + 1, _("Previous"), disabled=True)
    if page >= pages - 1:
        controls[1] = Control(Action.PAGE, pages + 2, _("Next"), disabled=True)
    drafts += [
        TextDraft(
            _(
                "-# Page {page} of {pages} · Open a map, or /explore a topic",
                page=page + 1,
                pages=pages,
            )
        ),
        Row(tuple(controls)),
    ]
    return assemble(drafts, MAP_COLOURS[0])


def open_map_control(ref: MapRef, label: str | None = None) -> Control:
    """A button that opens ``ref``'s map privately for whoever presses it."""
    label = label or _(OPEN_LABEL)
    style = discord.ButtonStyle.primary
    if ref.map_id is not None:
        return Control(Action.MAP, ref.map_id, label, style)
    assert ref.bundled is not None
    return Control(Action.CURATED, ref.bundled, label, style)


def suggestions_card(message: str, refs: list[MapRef]) -> Card:
    """``message`` (why the topic asked for cannot be mapped now), then buttons that open
    the related maps there are, or where to look when none is."""
    drafts: list[Draft] = [TextDraft(message)]
    if refs:
        buttons = tuple(
            open_map_control(ref, shorten(ref.topic, BUTTON_LABEL_MAX))
            for ref in refs[:BUTTONS_PER_ROW]
        )
        drafts += [TextDraft(_("-# Related maps you can open now:")), Row(buttons)]
    else:
        drafts.append(TextDraft(_(NO_RELATED_NOTE)))
    return assemble(drafts, MAP_COLOURS[0])


def meanings_card(topic: str, choices: list[StoredMeaning]) -> Card:
    """Which meaning of ``topic``? One section per meaning, its title in bold and its line,
    with the button that maps it beside it."""
    drafts: list[Draft] = [
        TextDraft(
            "## ",
            *phrase(_("Which {topic}?"), topic=Said(topic, HEADING_MAX, TITLE_FLOOR)),
            "\n",
            _(MEANINGS_INTRO),
        ),
    ]
    for meaning in choices:
        button = Control(Action.MEANING, meaning.id, _(MEANING_LABEL), discord.ButtonStyle.primary)
        drafts.append(
            SectionDraft(
                button,
                "**",
                Said(meaning.title, HEADING_MAX, TITLE_FLOOR),
                "**\n",
                Said(meaning.line, TEXT_TOTAL_MAX, SUMMARY_FLOOR),
            )
        )
    drafts += [Divider(), TextDraft(_(MEANINGS_NOTE))]
    return assemble(drafts, accent_of(topic_key(topic)))
