"""Where a card's facts come from, as a card shows it: the provenance line of its footer,
a footnote naming its first sources ("Sources: IEA 2025 · EIA 2024 · +2"), the note on
text not checked against sources, and the private card the Sources button answers with
(every source as a link), a refreshed concept's earlier texts, and an answer's sources.

Every link is a stored source: a curated file's entry, or a web search result the API
returned. Links are whole or not shown: a card that runs out of room says how many more
there are instead of cutting a URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import discord
from babel.dates import format_date

from bot.explore import Provenance, SourceGroup, SourcesView, unique_sources
from bot.i18n import N_, _, babel_locale, language, ngettext
from bot.models import Citation
from bot.storage import ConceptVersion
from bot.text import shorten, width
from bot.ui.cards.blocks import Card, Control, Row, Text, accent_of, literal
from bot.ui.ids import Action
from bot.ui.limits import TEXT_TOTAL_MAX

SOURCES_LABEL = N_("Sources")
EARLIER_LABEL = N_("Earlier version")
REFRESH_LABEL = N_("Refresh")
FOOTNOTE_SHOWN = 3  # sources named in a card's footnote; the rest are "+N"
FOOTNOTE_LABEL_MAX = 28  # a publisher longer than this is named by its site
FOOTNOTE_MAX = 200
MODEL_SHOWN_MAX = 60
UNCHECKED_NOTES = {
    "overview": N_(
        "-# This overview comes from Claude's training data and has not been checked against "
        "sources."
    ),
    "concept": N_(
        "-# This concept comes from Claude's training data and has not been checked against "
        "sources."
    ),
}
# The Sources card: one line per source, whole, and a link only when its URL is short
# enough to leave room for the rest (a longer one is named by its site).
SOURCE_TITLE_MAX = 150
SOURCE_QUOTE_MAX = 200
LINKED_URL_MAX = 500
ANSWER_SOURCES_MAX = 700  # characters of links under an answer
MORE_NOTE = N_("-# …and {count} more: `/export` the map to see them all.")
EARLIER_SHOWN = 3
EARLIER_DETAIL_MIN = 100  # an earlier version is shown with at least this much of its detail
EARLIER_DETAIL_MAX = 1000


def written_on(moment: float | None, *, short: bool = True) -> str | None:
    """``7 Dec 2026`` (or ``7 December 2026``), UTC, as the member's language writes it."""
    if moment is None:
        return None
    day = datetime.fromtimestamp(moment, UTC).date()
    return format_date(day, "d MMM y" if short else "d MMMM y", locale=babel_locale(language()))


def provenance_line(provenance: Provenance, count: int) -> str:
    """ "Curated · as of 2026-12", "Written by claude-sonnet-4-6 on 7 Dec 2026 · 3 sources",
    "Written by claude-sonnet-4-6 on 7 Dec 2026 · not checked against sources"."""
    if provenance.curated:
        if provenance.as_of:
            return _("Curated · as of {date}", date=provenance.as_of)
        return _("Curated map")
    model = literal(shorten(provenance.model or "Claude", MODEL_SHOWN_MAX))
    day = written_on(provenance.written)
    who = (
        _("Written by {model} on {day}", model=model, day=day)
        if day is not None
        else _("Written by {model}", model=model)
    )
    if count:
        return f"{who} · " + ngettext("{count} source", "{count} sources", count)
    return f"{who} · " + _("not checked against sources")


def short_name(source: Citation) -> str:
    """How a footnote names a source: its publisher (or site) and year, "IEA 2025"; a place
    in a member's PDF by its pages, "p. 4-5", a passage of a file by the file's name."""
    if source.pages_label is not None:
        return source.pages_label
    if source.url is None:
        return shorten(source.title, FOOTNOTE_LABEL_MAX)
    name = source.publisher
    if name is None or width(name) > FOOTNOTE_LABEL_MAX:
        name = (urlsplit(source.url).hostname or source.url).removeprefix("www.")
    name = shorten(name, FOOTNOTE_LABEL_MAX)
    year = source.date[:4] if source.date else None
    return f"{name} {year}" if year else name


def footnote(sources: Sequence[Citation]) -> str | None:
    """ "-# Sources: IEA 2025 · EIA 2024 · +2", or None when there are none."""
    if not sources:
        return None
    names = list(dict.fromkeys(short_name(s) for s in sources))
    shown = names[:FOOTNOTE_SHOWN]
    rest = len(names) - len(shown)
    text = " · ".join(literal(name) for name in shown) + (f" · +{rest}" if rest else "")
    return shorten(_("-# Sources: {sources}", sources=text), FOOTNOTE_MAX)


def card_sources(groups: Sequence[SourceGroup]) -> list[Citation]:
    return unique_sources(groups)


def link(source: Citation, title_max: int = SOURCE_TITLE_MAX) -> str:
    """A source as a markdown link (its URL whole, never cut), or its title and site when
    the URL is too long to show."""
    title = literal(shorten(source.title, title_max)).replace("[", "(").replace("]", ")")
    if source.url is None:  # a member's own file: nothing to link to
        return f"{title}, {source.pages_label}" if source.pages_label else title
    if len(source.url) > LINKED_URL_MAX:
        site = urlsplit(source.url).hostname or ""
        return f"{title} ({literal(site)})"
    # <...> keeps a URL with brackets or parentheses whole; > and spaces cannot be in it.
    url = quote(source.url, safe=":/?#[]@!$&'()*+,;=%~-._")
    return f"[{title}](<{url}>)"


def entry(source: Citation) -> str:
    """One line of the Sources card: the link, who and when, and the claim it supports."""
    about = ", ".join(
        literal(shorten(part, SOURCE_TITLE_MAX)) for part in (source.publisher, source.date) if part
    )
    line = f"- {link(source)}" + (f" — {about}" if about else "")
    if source.quote:
        line += f"\n  -# “{literal(shorten(source.quote, SOURCE_QUOTE_MAX))}”"
    return line


def provenance_detail(provenance: Provenance) -> str:
    """The provenance of one text, in full, for the Sources card."""
    if provenance.curated:
        if provenance.file and provenance.as_of:
            return _(
                "-# Curated map file `{file}`, facts checked as of {date}.",
                file=provenance.file,
                date=provenance.as_of,
            )
        if provenance.file:
            return _("-# Curated map file `{file}`.", file=provenance.file)
        if provenance.as_of:
            return _("-# Curated map, facts checked as of {date}.", date=provenance.as_of)
        return _("-# Curated map.")
    model = literal(shorten(provenance.model or "Claude", MODEL_SHOWN_MAX))
    day = written_on(provenance.written, short=False)
    who = (
        _("Written by {model} on {day}", model=model, day=day)
        if day
        else _("Written by {model}", model=model)
    )
    if provenance.material:
        return _("-# {who}, from the shared material: the places it cites are below.", who=who)
    if provenance.sources:
        return _("-# {who}, from the web search results below.", who=who)
    return _("-# {who} from its training data; not checked against sources.", who=who)


def sources_card(view: SourcesView) -> Card:
    """The Sources button's private answer: each text's provenance and its sources as
    links, within Discord's limits however many and however long they are."""
    header = _(
        "## Sources\n-# Where **{subject}** comes from",
        subject=literal(shorten(view.subject, 200)),
    )
    blocks: list[Text | Row] = [Text(header)]
    used = width(header)
    more = 0
    for group in view.groups:
        lines = []
        if group.heading is not None:
            lines.append(f"**{literal(shorten(group.heading, 200))}**")
        lines.append(provenance_detail(group.provenance))
        entries = [entry(source) for source in group.provenance.sources]
        head = "\n".join(lines)
        # Room for the "and N more" line, whatever comes after.
        budget = TEXT_TOTAL_MAX - used - width(_(MORE_NOTE)) - 10 - width(head) - 1
        if budget <= 0:
            more += len(entries)
            continue
        kept = []
        for line in entries:
            if width(line) + 1 > budget:
                more += len(entries) - len(kept)
                break
            kept.append(line)
            budget -= width(line) + 1
        text = "\n".join([head, *kept])
        blocks.append(Text(text))
        used += width(text)
    if more:
        blocks.append(Text(_(MORE_NOTE, count=more)))
    if view.earlier and view.concept_id is not None:
        when = written_on(view.earlier[0].replaced_at, short=False)
        note = _("-# Refreshed on {day}; its earlier text is kept.", day=when) if when else ""
        if note and used + width(note) < TEXT_TOTAL_MAX - width(_(MORE_NOTE)) - 10:
            blocks.append(Text(note))
        blocks.append(Row((Control(Action.EARLIER, view.concept_id, _(EARLIER_LABEL)),)))
    return Card(tuple(blocks), accent_of(view.map.key))


def earlier_card(subject: str, key: str, versions: Sequence[ConceptVersion]) -> Card:
    """A refreshed concept's earlier texts, the latest first, each with where it came from
    and as many of its sources as fit."""
    header = _("## Earlier versions\n-# Of **{subject}**", subject=literal(shorten(subject, 200)))
    blocks = [Text(header)]
    used = width(header)
    for version in versions[:EARLIER_SHOWN]:
        provenance = Provenance(
            curated=False,
            model=version.model,
            written=version.created_at,
            sources=tuple(version.sources),
        )
        until = _("**Until {day}**", day=written_on(version.replaced_at, short=False))
        head = (
            f"{until}\n"
            f"{provenance_detail(provenance)}\n"
            f"**{literal(shorten(version.summary, 300))}**\n"
        )
        room = TEXT_TOTAL_MAX - used - width(head)
        if room < EARLIER_DETAIL_MIN:
            break
        text = head + _fitted(version.detail, min(room, EARLIER_DETAIL_MAX))
        for line in (entry(source) for source in version.sources):
            if used + width(text) + 1 + width(line) > TEXT_TOTAL_MAX:
                break
            text += "\n" + line
        blocks.append(Text(text))
        used += width(text)
    return Card(tuple(blocks), accent_of(key))


def _fitted(text: str, limit: int) -> str:
    """``text`` escaped for markdown, its escaped form within ``limit``."""
    cut = limit
    while cut > 0:
        shown = literal(shorten(text, cut))
        if width(shown) <= limit:
            return shown
        cut -= width(shown) - limit
    return ""


def answer_sources(sources: Sequence[Citation]) -> str | None:
    """The sources an answer cites, as one small line of links that fits its budget."""
    if not sources:
        return None
    line = _("-# Sources: {sources}", sources="")
    shown = 0
    for source in sources:
        piece = ("" if shown == 0 else " · ") + link(source, 80)
        if width(line) + width(piece) > ANSWER_SOURCES_MAX:
            break
        line += piece
        shown += 1
    if shown == 0:
        return None
    if shown < len(sources):
        line += f" · +{len(sources) - shown}"
    return line


def sources_button(action: Action, target: int) -> Control:
    return Control(action, target, _(SOURCES_LABEL), discord.ButtonStyle.secondary)


def refresh_button(concept_id: int) -> Control:
    return Control(Action.REFRESH, concept_id, _(REFRESH_LABEL), discord.ButtonStyle.primary)
