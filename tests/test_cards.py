"""Cards are pure functions: checked here against Discord's limits without Discord."""

from __future__ import annotations

from bot import cards
from bot.cards import Action, Status
from bot.explorer import ConceptView, MapView
from bot.models import ChildState, Concept, ConceptMap, Source
from bot.text import width

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
        opened=3,
        total=30,
    )


def embed_total(embed) -> int:
    return (
        width(embed.title or "")
        + width(embed.description or "")
        + width(embed.footer.text or "")
        + width(embed.author.name or "")
        + sum(width(f.name) + width(f.value) for f in embed.fields)
    )


def test_map_card_has_a_field_and_a_numbered_button_per_key_concept():
    view = MapView(a_map(), [concept(n, f"Concept {n}") for n in range(1, 6)])
    card = cards.map_card(view)
    assert card.embed.title == "Topic"
    assert [f.name for f in card.embed.fields] == [f"{n} · Concept {n}" for n in range(1, 6)]
    assert [c.label for c in card.controls] == [f"{n} · Concept {n}" for n in range(1, 6)]
    assert [c.row for c in card.controls] == [0, 0, 0, 0, 0]
    assert card.embed.footer.text == "Curated map · 3 of 30 concepts explored"


def test_curated_map_footer_shows_its_date():
    path = [concept(1, "Parent")]
    assert cards.map_card(MapView(a_map(), path, as_of="2026-12")).embed.footer.text == (
        "Curated · as of 2026-12 · 3 of 30 concepts explored"
    )
    card = cards.concept_card(ConceptView(a_map(), path, [], as_of="2026-12-01"))
    assert card.embed.footer.text.startswith("Curated · as of 2026-12-01 · ")


def test_generated_map_footer_names_the_model():
    view = MapView(a_map(source=Source.GENERATED, model="claude-x"), [concept(1, "A")])
    assert cards.map_card(view).embed.footer.text.startswith("Mapped by claude-x")


def test_concept_card_breadcrumb_navigation_and_colour_by_depth():
    path = [concept(1, "Parent"), concept(2, "Child", depth=2, parent=1)]
    kids = [concept(n, f"Grandchild {n}", depth=3, parent=2) for n in range(3, 6)]
    card = cards.concept_card(ConceptView(a_map(), path, kids))
    assert card.embed.author.name == "Topic › Parent"
    assert card.embed.colour.value == cards.DEPTH_COLOURS[2]
    assert [c.label for c in card.controls][-3:] == ["Back", "Up", "Overview"]
    assert {c.row for c in card.controls[-3:]} == {4}
    ids = [c.custom_id for c in card.controls]
    assert len(ids) == len(set(ids))
    assert ids[:3] == ["kin:open:3", "kin:open:4", "kin:open:5"]


def test_mapping_error_and_leaf_notes():
    unexpanded = [concept(1, "Lonely", state=ChildState.UNEXPANDED)]
    view = ConceptView(a_map(), unexpanded, [])
    assert cards.MAPPING_NOTE in cards.concept_card(view, Status(mapping=True)).embed.description
    failed = cards.concept_card(view, Status(error="Claude is busy."))
    assert "Claude is busy." in failed.embed.description
    assert failed.controls[0].action is Action.RETRY
    leaf = ConceptView(a_map(), [concept(1, "Leaf", state=ChildState.LEAF)], [])
    assert cards.LEAF_NOTE in cards.concept_card(leaf).embed.description


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
    embed = card.embed
    assert embed_total(embed) <= cards.EMBED_TOTAL_MAX
    assert width(embed.author.name) <= cards.AUTHOR_NAME_MAX and "…" in embed.author.name
    assert embed.author.name.startswith("X" * 100)
    assert width(embed.description) <= cards.EMBED_DESCRIPTION_MAX
    assert len(embed.fields) <= cards.EMBED_FIELDS_MAX
    assert all(width(f.value) <= cards.FIELD_VALUE_MAX for f in embed.fields)
    rows = [c.row for c in card.controls]
    assert all(rows.count(r) <= 5 for r in set(rows)) and max(rows) <= 4
    assert all(width(c.label) <= cards.BUTTON_LABEL_MAX for c in card.controls)
    menu = [c for c in card.controls if c.options]
    assert len(menu) == 1 and len(menu[0].options) == 15


def test_cuts_never_split_an_emoji():
    label = cards.button_label(7, FAMILY * 40)
    assert width(label) <= 80 and label.endswith("…")
    body = label.removeprefix("7 · ").removesuffix("…")
    assert body == FAMILY * (len(body) // len(FAMILY))


def test_user_text_is_shown_literally():
    view = MapView(a_map("**bold** @everyone"), [concept(1, "_x_")])
    card = cards.map_card(view)
    assert card.embed.title == r"\*\*bold\*\* @everyone"
    assert card.embed.fields[0].name == r"1 · \_x\_"


def test_maps_card_pages_ten_at_a_time_with_unique_ids():
    from bot.storage import MapListing

    listings = [MapListing(f"Map {n}", f"map {n}", Source.BUNDLED, None, 0, 10) for n in range(23)]
    first = cards.maps_card(listings, 0, scope_name="Guild")
    assert len(first.embed.description.splitlines()) == 10
    assert [c.disabled for c in first.controls] == [True, False]
    last = cards.maps_card(listings, 2, scope_name="Guild")
    assert last.embed.description.splitlines()[0].startswith("**21. Map 20**")
    assert [c.disabled for c in last.controls] == [False, True]
    for card in (first, last, cards.maps_card(listings[:3], 0, scope_name="G")):
        ids = [c.custom_id for c in card.controls]
        assert len(ids) == len(set(ids))


def test_custom_id_patterns_accept_only_short_ids():
    from bot.views import CardButton, CardSelect

    button = CardButton.__discord_ui_compiled_template__
    assert button.fullmatch("kin:open:123") and button.fullmatch("kin:maps:0")
    assert not button.fullmatch("kin:open:" + "9" * 19)  # beyond SQLite's integers
    assert not button.fullmatch("kin:open:-1") and not button.fullmatch("kin:drop:1")
    assert CardSelect.__discord_ui_compiled_template__.fullmatch("kin:pick:0")
