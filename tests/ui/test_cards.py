"""Cards are pure functions: checked here against Discord's limits without Discord."""

from __future__ import annotations

import pytest

from bot.explore import ConceptView, MapRef, MapsPage, MapView, bundled_number
from bot.i18n import shipped, speaking
from bot.models import ChildState, Concept, ConceptMap, Level, Source
from bot.text import width
from bot.ui import cards, limits
from bot.ui.cards import Status
from bot.ui.cards.blocks import MAP_COLOURS
from bot.ui.cards.explore import BREADCRUMB_MAX, LEAF_NOTE, MAPPING_NOTE, QUEUED_NOTE
from bot.ui.cards.fit import HEADING_MAX, TITLE_FLOOR
from bot.ui.ids import Action

FAMILY = "👨‍👩‍👧‍👦"


def concept(cid: int, title: str, *, depth: int = 1, parent: int | None = None, **kw) -> Concept:
    return Concept(
        id=cid,
        map_id=1,
        parent_id=parent,
        position=cid,
        depth=depth,
        title=title,
        summary=kw.get("summary", f"{title} in a sentence."),
        detail=kw.get("detail", f"{title} in detail. Two sentences."),
        state=kw.get("state", ChildState.EXPANDED),
    )


def a_map(topic: str = "Topic", **kw) -> ConceptMap:
    return ConceptMap(
        id=1,
        scope=1,
        topic=topic,
        key=topic.casefold(),
        language="en",
        overview=kw.get("overview", "An overview."),
        source=kw.get("source", Source.BUNDLED),
        model=kw.get("model"),
        level=kw.get("level", Level.STANDARD),
        opened=3,
        total=30,
    )


def concept_sections(card: cards.Card) -> list[cards.Section]:
    """The sections that open a concept (not the footer beside its Sources button)."""
    return [
        b for b in card.blocks if isinstance(b, cards.Section) and b.button.action is Action.OPEN
    ]


def section_lines(card: cards.Card) -> list[str]:
    return [b.content.splitlines()[0] for b in concept_sections(card)]


def heading(card: cards.Card) -> str:
    lines = "\n".join(card.texts).splitlines()
    return next(line.removeprefix("## ") for line in lines if line.startswith("## "))


def small_lines(card: cards.Card) -> list[str]:
    lines = "\n".join(card.texts).splitlines()
    return [line.removeprefix("-# ") for line in lines if line.startswith("-# ")]


def nav_row(card: cards.Card) -> cards.Row:
    """The row of a card's navigation (a concept card's first row, above its tools)."""
    return next(
        b
        for b in card.blocks
        if isinstance(b, cards.Row) and any(c.label == "Ask" for c in b.controls)
    )


def tools_row(card: cards.Card) -> cards.Row:
    return [b for b in card.blocks if isinstance(b, cards.Row)][-1]


def test_map_card_has_a_section_with_an_open_button_per_key_concept():
    view = MapView(a_map(), [concept(n, f"Concept {n}") for n in range(1, 6)])
    card = cards.map_card(view)
    assert heading(card) == "Topic"
    assert "An overview." in card.texts[0]
    assert section_lines(card) == [f"**{n} · Concept {n}**" for n in range(1, 6)]
    sections = concept_sections(card)
    assert [s.button.custom_id for s in sections] == [f"kin:open:{n}" for n in range(1, 6)]
    assert all(s.content.endswith(f"Concept {n} in a sentence.") for n, s in enumerate(sections, 1))
    assert small_lines(card) == ["Curated map · 3 of 30 concepts explored"]
    (row,) = [b for b in card.blocks if isinstance(b, cards.Row)]
    # Nowhere to go back to; Ask about the map, and a quiz on it.
    assert [c.custom_id for c in row.controls] == ["kin:askmap:1", "kin:quizmap:1"]
    back = cards.map_card(view, can_go_back=True)
    assert [c.label for c in back.controls][-3:] == ["Back", "Ask", "Quiz"]


def test_curated_map_footer_shows_its_date():
    path = [concept(1, "Parent")]
    assert small_lines(cards.map_card(MapView(a_map(), path, as_of="2026-12")))[-1] == (
        "Curated · as of 2026-12 · 3 of 30 concepts explored"
    )
    card = cards.concept_card(ConceptView(a_map(), path, [], as_of="2026-12-01"))
    assert small_lines(card)[-1].startswith("Curated · as of 2026-12-01 · ")


def test_generated_map_footer_names_the_model():
    view = MapView(a_map(source=Source.GENERATED, model="claude-x"), [concept(1, "A")])
    footer = small_lines(cards.map_card(view))[-1]
    assert footer.startswith("Written by claude-x · not checked against sources")


def test_generated_map_footer_names_a_level_other_than_standard():
    def footer_of(level: Level) -> str:
        concept_map = a_map(source=Source.GENERATED, model="claude-x", level=level)
        return small_lines(cards.map_card(MapView(concept_map, [concept(1, "A")])))[-1]

    written = "Written by claude-x · not checked against sources"
    assert footer_of(Level.STANDARD) == f"{written} · 3 of 30 concepts explored"
    assert footer_of(Level.INTRO) == f"{written} · for beginners · 3 of 30 concepts explored"
    assert footer_of(Level.EXPERT) == f"{written} · expert level · 3 of 30 concepts explored"


def test_accent_colour_is_stable_per_map():
    view = MapView(a_map("Volcanoes"), [concept(1, "A")])
    path = [concept(1, "A")]
    colour = cards.map_card(view).accent
    assert colour in MAP_COLOURS
    assert cards.concept_card(ConceptView(a_map("Volcanoes"), path, [])).accent == colour
    others = {cards.accent_of(f"topic {n}") for n in range(30)}
    assert len(others) > 1


def test_concept_card_breadcrumb_heading_and_navigation():
    path = [concept(1, "Parent"), concept(2, "Child", depth=2, parent=1)]
    kids = [concept(n, f"Grandchild {n}", depth=3, parent=2) for n in range(3, 6)]
    card = cards.concept_card(ConceptView(a_map(), path, kids))
    first = card.texts[0].splitlines()
    assert first[:3] == ["-# Topic › Parent", "## Child", "**Child in a sentence.**"]
    assert first[3] == "Child in detail. Two sentences."
    assert [c.label for c in nav_row(card).controls] == ["Back", "Up", "Overview", "Map", "Ask"]
    # The second row: learning together (and, beside it, the card's sources: issue 20).
    assert [c.custom_id for c in tools_row(card).controls] == [
        "kin:quiz:2",
        "kin:remember:2",
        "kin:discuss:2",
    ]
    ids = [c.custom_id for c in card.controls]
    assert len(ids) == len(set(ids))
    assert ids[:3] == ["kin:open:3", "kin:open:4", "kin:open:5"]
    assert small_lines(card)[-1] == "Curated map · 3 of 30 concepts explored"


def test_mapping_error_and_leaf_notes():
    unexpanded = [concept(1, "Lonely", state=ChildState.UNEXPANDED)]
    view = ConceptView(a_map(), unexpanded, [])
    assert MAPPING_NOTE in cards.concept_card(view, Status(mapping=True)).texts
    queued = cards.concept_card(view, Status(mapping=True, queued=True)).texts
    assert QUEUED_NOTE in queued and MAPPING_NOTE not in queued
    failed = cards.concept_card(view, Status(error="Claude is busy."))
    [note] = [
        b for b in failed.blocks if isinstance(b, cards.Section) and b.button.action is Action.RETRY
    ]
    assert "Claude is busy." in note.content
    assert note.button.action is Action.RETRY and note.button.label == "Retry"
    assert failed.controls[0].action is Action.RETRY
    leaf = ConceptView(a_map(), [concept(1, "Leaf", state=ChildState.LEAF)], [])
    assert LEAF_NOTE in cards.concept_card(leaf).texts


def assert_within_v2_limits(card: cards.Card) -> None:
    assert card.component_count() <= limits.COMPONENTS_MAX
    assert card.text_width() <= limits.TEXT_TOTAL_MAX
    assert all(text for text in card.texts)  # a text display is never empty
    for row in (b for b in card.blocks if isinstance(b, cards.Row)):
        assert len(row.controls) <= limits.BUTTONS_PER_ROW
    for control in card.controls:
        assert width(control.label) <= limits.BUTTON_LABEL_MAX
        assert len(control.custom_id) <= limits.CUSTOM_ID_MAX
        assert len(control.options) <= limits.SELECT_OPTIONS_MAX


def test_huge_text_is_cut_within_every_discord_limit():
    long = ("Word " * 2000).strip()
    path = [
        concept(
            n, f"{FAMILY} " * 30 + str(n), depth=n, parent=n - 1 or None, summary=long, detail=long
        )
        for n in range(1, 9)
    ]
    kids = [concept(100 + n, "T" * 60, depth=9, parent=8, summary=long) for n in range(30)]
    card = cards.concept_card(ConceptView(a_map("X" * 100, overview=long), path, kids))
    assert_within_v2_limits(card)
    trail = small_lines(card)[0]
    assert width(trail) <= BREADCRUMB_MAX and "…" in trail
    assert trail.startswith("X" * 100)
    menu = [c for c in card.controls if c.options]
    shown = [c for c in card.controls if c.action is Action.OPEN]
    assert len(menu) == 1 and len(shown) + len(menu[0].options) == 30
    # Every concept keeps a readable part of its text.
    assert all(len(line) > TITLE_FLOOR for line in section_lines(card))


def test_markdown_heavy_text_stays_within_the_text_limit_once_escaped():
    # Escaping doubles text made of markdown characters: the limit is on what is sent.
    stars = "*_" * 80
    kids = [concept(10 + n, stars[:60], depth=2, parent=1, summary=stars) for n in range(6)]
    path = [concept(1, stars[:60], summary=stars, detail=("*_~" * 300)[:900])]
    card = cards.concept_card(ConceptView(a_map(stars[:100], overview=stars * 7), path, kids))
    assert_within_v2_limits(card)
    assert width(card.texts[0]) > 1000  # cut, not emptied


def test_cuts_never_split_an_emoji():
    card = cards.map_card(MapView(a_map(FAMILY * 100), [concept(1, "A")]))
    title = heading(card)
    assert width(title) <= HEADING_MAX and title.endswith("…")
    body = title.removesuffix("…")
    assert body == FAMILY * (len(body) // len(FAMILY))


def test_user_text_is_shown_literally():
    view = MapView(a_map("**bold** @everyone"), [concept(1, "_x_")])
    card = cards.map_card(view)
    assert heading(card) == r"\*\*bold\*\* @everyone"
    assert section_lines(card)[0] == r"**1 · \_x\_**"


def test_maps_card_pages_ten_at_a_time_with_an_open_button_per_map():
    from bot.storage import MapListing

    listings = [
        MapListing(f"Map {n}", f"map {n}", Source.BUNDLED, None, 0, 10, id=n if n % 2 else None)
        for n in range(23)
    ]
    first = cards.maps_card(MapsPage(listings[:10], 0, 3), title="Maps in Guild")
    assert first.texts[0] == "## Maps in Guild"
    assert len(first.texts) == 1 + 10 + 1  # the heading, ten maps, the page line
    nav = [c for c in first.controls if c.action is Action.PAGE]
    assert [c.disabled for c in nav] == [True, False]
    # A stored map opens by its row id; a bundled one not opened yet by its stable number.
    opens = [c for c in first.controls if c.action is not Action.PAGE]
    assert [c.action for c in opens[:2]] == [Action.CURATED, Action.MAP]
    assert opens[0].target == bundled_number("map 0") and opens[1].target == 1
    assert first.texts[-1].startswith("-# Page 1 of 3")
    # The numbers go on from the pages before.
    middle = cards.maps_card(MapsPage(listings[10:20], 1, 3), title="Maps in Guild")
    assert middle.texts[1].startswith("**11. Map 10**")
    assert [c.disabled for c in middle.controls if c.action is Action.PAGE] == [False] * 2
    last = cards.maps_card(MapsPage(listings[20:], 2, 3), title="Maps in Guild")
    assert last.texts[1].startswith("**21. Map 20**")
    assert last.texts[-1].startswith("-# Page 3 of 3")
    assert [c.disabled for c in last.controls if c.action is Action.PAGE] == [False, True]
    only = cards.maps_card(MapsPage(listings[:3], 0, 1), title="G")
    assert [c.disabled for c in only.controls if c.action is Action.PAGE] == [True, True]
    empty = cards.maps_card(MapsPage([], 0, 1), title="G")
    assert empty.texts[1:] == ["No maps yet.", "-# Page 1 of 1 · Open a map, or /explore a topic"]
    for card in (first, middle, last, only, empty):
        ids = [c.custom_id for c in card.controls]
        assert len(ids) == len(set(ids))
        assert card.component_count() <= limits.COMPONENTS_MAX


def test_suggestions_card_offers_a_row_of_maps_to_open():
    refs = [MapRef(f"Topic {n}", map_id=n) for n in range(1, 8)]
    card = cards.suggestions_card("No map of **X** yet.", refs)
    assert card.texts[0] == "No map of **X** yet."
    assert [c.label for c in card.controls] == [f"Topic {n}" for n in range(1, 6)]
    assert {c.custom_id for c in card.controls} == {f"kin:map:{n}" for n in range(1, 6)}
    assert cards.suggestions_card("Nothing.", []).controls == []


def test_custom_id_patterns_accept_only_short_ids():
    from bot.ui.items import CardButton, CardSelect

    button = CardButton.__discord_ui_compiled_template__
    assert button.fullmatch("kin:open:123") and button.fullmatch("kin:maps:0")
    assert button.fullmatch("kin:map:7") and button.fullmatch(f"kin:curated:{2**56 - 1}")
    assert button.fullmatch("kin:picture:7")
    assert not button.fullmatch("kin:open:" + "9" * 19)  # beyond SQLite's integers
    assert not button.fullmatch("kin:open:-1") and not button.fullmatch("kin:drop:1")
    assert CardSelect.__discord_ui_compiled_template__.fullmatch("kin:pick:0")


def cards_of_bundled(bundled) -> list[cards.Card]:
    """Every card a bundled map can show, built from its file as the bot would show it."""
    concept_map = a_map(bundled.topic, overview=bundled.overview)
    ids = iter(range(1, 100_000))
    found: list[cards.Card] = []

    def walk(nodes, parent: Concept | None, path: list[Concept]) -> list[Concept]:
        made = [
            concept(
                next(ids),
                node.title,
                depth=len(path) + 1,
                parent=parent.id if parent else None,
                summary=node.summary,
                detail=node.detail,
            )
            for node in nodes
        ]
        for node, made_one in zip(nodes, made, strict=True):
            kids = walk(node.children or [], made_one, [*path, made_one])
            found.append(cards.concept_card(ConceptView(concept_map, [*path, made_one], kids)))
        return made

    key_concepts = walk(bundled.concepts, None, [])
    found.append(cards.map_card(MapView(concept_map, key_concepts), can_go_back=True))
    return found


def test_every_bundled_map_fits_the_v2_limits():
    from bot.config import PROJECT_ROOT
    from bot.maps import BundledMaps

    bundled_maps = BundledMaps.load(PROJECT_ROOT / "maps")
    checked = 0
    for topic, _ in bundled_maps.names():
        for card in cards_of_bundled(bundled_maps.find(topic.casefold())):
            assert_within_v2_limits(card)
            checked += 1
    assert checked > 50


def test_the_models_longest_allowed_output_fits_the_v2_limits():
    from bot.models import (
        CHILDREN_MAX,
        DETAIL_MAX,
        KEY_CONCEPTS_MAX,
        OVERVIEW_MAX,
        SUMMARY_MAX,
        TITLE_MAX,
        TOPIC_MAX,
    )

    # Markdown characters, escaped on the card, double the text sent.
    def text(n: int) -> str:
        return "_" * n

    def full(cid: int, depth: int, parent: int | None) -> Concept:
        return concept(
            cid,
            text(TITLE_MAX),
            depth=depth,
            parent=parent,
            summary=text(SUMMARY_MAX),
            detail=text(DETAIL_MAX),
        )

    concept_map = a_map(text(TOPIC_MAX), overview=text(OVERVIEW_MAX))
    keys = [full(n, 1, None) for n in range(1, KEY_CONCEPTS_MAX + 1)]
    assert_within_v2_limits(cards.map_card(MapView(concept_map, keys), can_go_back=True))
    path = [full(100 + d, d, 100 + d - 1 if d > 1 else None) for d in range(1, 13)]
    kids = [full(200 + n, 13, path[-1].id) for n in range(CHILDREN_MAX)]
    for status in (Status(), Status(error=text(1000)), Status(mapping=True)):
        card = cards.concept_card(ConceptView(concept_map, path, kids), status)
        assert_within_v2_limits(card)
        assert len([c for c in card.controls if c.action is Action.OPEN]) == CHILDREN_MAX
    failed = cards.concept_card(ConceptView(concept_map, path, []), Status(error=text(1000)))
    assert_within_v2_limits(failed)


@pytest.mark.parametrize("locale", ["en-US", *sorted(shipped())])
def test_every_card_fits_the_v2_limits_in_every_language(locale: str):
    """Translations run longer (German by a third): every card still fits, every label too."""
    from bot.config import PROJECT_ROOT
    from bot.maps import BundledMaps

    bundled_maps = BundledMaps.load(PROJECT_ROOT / "maps")
    long = ("Wort " * 400).strip()
    path = [concept(n, "T" * 60, depth=n, parent=n - 1 or None, detail=long) for n in range(1, 5)]
    kids = [concept(100 + n, "K" * 60, depth=5, parent=4, summary=long) for n in range(8)]
    translated = a_map("X" * 100, overview=long, model="claude-sonnet-4-6")
    with speaking(locale):
        found = [
            card
            for topic, _ in bundled_maps.names()
            for card in cards_of_bundled(bundled_maps.find(topic.casefold()))
        ]
        view = ConceptView(translated, path, [], "2026-08", False, translated_from="en")
        for status in (Status(mapping=True), Status(queued=True), Status(no_generator=True)):
            found.append(cards.concept_card(view, status))
        found.append(cards.concept_card(view, Status(error=long)))
        found.append(
            cards.concept_card(ConceptView(translated, path, kids, None, False, untranslated="ja"))
        )
        found.append(cards.map_card(MapView(translated, kids, "2026-08", False, untranslated="ja")))
        page = MapsPage([], 0, 1)
        found += [cards.maps_card(page, title=long), cards.suggestions_card(long, [])]
        found.append(
            cards.answer_card("T" * 60, long, answer=long, note=long, accent=None, share=1)
        )
    for card in found:
        assert_within_v2_limits(card)


def test_a_kept_card_is_kept_for_each_language():
    """Cards are kept once built (cards/kept.py): the same view read by a French member
    and then an English one gets each its own labels, not the first reader's."""
    view = MapView(a_map(), [concept(1, "One")])
    with speaking("fr"):
        french = cards.map_card(view)
    english = cards.map_card(view)
    with speaking("fr"):
        again = cards.map_card(view)
    assert [c.label for c in french.controls if c.action is Action.OPEN] == ["Ouvrir"]
    assert [c.label for c in english.controls if c.action is Action.OPEN] == ["Open"]
    assert again is french  # kept
