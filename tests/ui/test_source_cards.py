"""The cards of sources, checked against Discord's limits: a card whose texts have many long
sources stays within every limit, links are whole (never a cut URL), and what does not fit
is counted."""

from __future__ import annotations

import re

from bot.explore import ConceptView, MapView, Provenance, SourceGroup, SourcesView
from bot.models import Answer, Citation
from bot.storage import ConceptVersion
from bot.text import width
from bot.ui import cards
from bot.ui.cards.sources import (
    FOOTNOTE_MAX,
    answer_sources,
    earlier_card,
    footnote,
    provenance_line,
    sources_card,
)
from tests.ui.test_cards import FAMILY, a_map, assert_within_v2_limits, concept

LINK = re.compile(r"\]\(<([^>]+)>\)")


def long_source(n: int, *, url_length: int = 400) -> Citation:
    path = f"/{n}/" + "segment-" * (url_length // 8)
    return Citation(
        title=f"{FAMILY} A very long report title with [brackets] and *stars* number {n} " * 4,
        url=f"https://www.publisher-{n}.example{path}"[:url_length],
        publisher="The Organisation for Very Long Publisher Names and Their Reports " * 1,
        date="2026-11-30",
        quote=("A quoted claim that goes on and on. " * 14).strip()[:500],
    )


def sources(count: int, **kw) -> tuple[Citation, ...]:
    return tuple(long_source(n, **kw) for n in range(1, count + 1))


def generated(count: int, **kw) -> Provenance:
    return Provenance(
        curated=False, model="claude-x", written=1_765_000_000.0, sources=sources(count, **kw)
    )


def test_a_concept_card_with_many_long_sources_stays_within_the_limits() -> None:
    path = [concept(1, "Parent"), concept(2, "Child", depth=2, parent=1)]
    kids = [concept(n, f"Kid {n}", depth=3, parent=2) for n in range(3, 9)]
    view = ConceptView(a_map(), path, kids, own=generated(40), can_refresh=True)

    card = cards.concept_card(view)

    assert_within_v2_limits(card)
    assert [c.label for c in card.controls][-2:] == ["Discuss", "Refresh"]
    small = [line for line in "\n".join(card.texts).splitlines() if line.startswith("-# ")]
    assert small[-2].startswith("-# Sources: publisher-1.example 2026 · ")
    assert small[-2].endswith(" · +37") and width(small[-2]) <= FOOTNOTE_MAX
    assert "Written by claude-x on 6 Dec 2025 · 40 sources" in small[-1]


def test_a_map_card_with_many_long_sources_stays_within_the_limits() -> None:
    keys = [concept(n, f"Key {n}") for n in range(1, 8)]
    groups = (
        SourceGroup(None, generated(10)),
        *(SourceGroup(k.title, generated(10, url_length=1900)) for k in keys),
    )
    card = cards.map_card(MapView(a_map(), keys, sources=groups), can_go_back=True)
    assert_within_v2_limits(card)


def test_the_sources_card_fits_however_many_long_sources_and_counts_the_rest() -> None:
    groups = (
        SourceGroup(None, generated(25)),
        *(SourceGroup(f"Key concept {n} " * 20, generated(25, url_length=1900)) for n in range(7)),
    )
    earlier = (ConceptVersion("Old.", "Old detail.", "claude-x", 1.0, list(sources(30)), 9e8),)
    view = SourcesView(a_map(), "Subject " * 100, groups, concept_id=5, earlier=earlier)

    card = sources_card(view)

    assert_within_v2_limits(card)
    text = "\n".join(card.texts)
    shown = LINK.findall(text)
    every = {s.url for g in groups for s in g.provenance.sources}
    assert shown and set(shown) <= every  # whole URLs only
    assert re.search(r"…and (\d+) more", text)
    more = int(re.search(r"…and (\d+) more", text)[1])
    named = text.count("\n- ")
    assert named + more == 8 * 25  # each one shown or counted
    assert [c.label for c in card.controls] == ["Earlier version"]


def test_a_url_too_long_to_show_is_named_by_its_site() -> None:
    source = long_source(1, url_length=1900)
    view = SourcesView(
        a_map(), "S", (SourceGroup(None, Provenance(curated=True, sources=(source,))),)
    )
    text = "\n".join(sources_card(view).texts)
    assert "(www.publisher-1.example)" in text and "](<" not in text


def test_the_earlier_versions_card_fits() -> None:
    versions = [
        ConceptVersion("Summary " * 40, "Detail " * 200, "claude-x", 1.0, list(sources(20)), 2.0)
        for _ in range(5)
    ]
    assert_within_v2_limits(earlier_card("Subject " * 60, "key", versions))


def test_an_answer_with_many_cited_sources_fits() -> None:
    answer = Answer(
        id=1,
        scope=1,
        map_id=1,
        concept_id=None,
        question="Why " * 70,
        text="Because. " * 220,
        model="claude-x",
        sources=list(sources(12)),
    )
    from bot.explore import AnswerView

    card = cards.answered_card(AnswerView(answer, a_map(), None), can_share=True)
    assert_within_v2_limits(card)
    line = answer_sources(answer.sources)
    assert line is not None and line.endswith(tuple(f" · +{n}" for n in range(1, 12)))
    assert line in "\n".join(card.texts)


def test_footnote_and_provenance_lines() -> None:
    iea = Citation(title="Oil", url="https://www.iea.org/r", publisher="IEA", date="2025-06")
    eia = Citation(title="Outlook", url="https://www.eia.gov/o", publisher="EIA", date="2024")
    rest = tuple(Citation(title="x", url=f"https://x{n}.example/") for n in range(2))
    assert footnote([iea, eia, *rest]) == "-# Sources: IEA 2025 · EIA 2024 · x0.example · +1"
    assert footnote([]) is None
    assert provenance_line(Provenance(curated=True, as_of="2026-12"), 3) == (
        "Curated · as of 2026-12"
    )
    written = Provenance(curated=False, model="claude-sonnet-4-6", written=1_796_601_600.0)
    assert provenance_line(written, 3) == "Written by claude-sonnet-4-6 on 7 Dec 2026 · 3 sources"
    assert provenance_line(written, 0) == (
        "Written by claude-sonnet-4-6 on 7 Dec 2026 · not checked against sources"
    )
