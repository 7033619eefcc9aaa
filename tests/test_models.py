"""Topic keys and the limits of the concept-map model."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.models import (
    TOPIC_MAX,
    BundledConcept,
    BundledMap,
    ConceptDraft,
    Expansion,
    MapDraft,
    TopicError,
    clean_topic,
    search_key,
    topic_key,
)


@pytest.mark.parametrize(
    ("raw", "cleaned", "key"),
    [
        ("Quantum  Physics", "Quantum Physics", "quantum physics"),
        ("quantum physics", "quantum physics", "quantum physics"),
        ("Ｑｕａｎｔｕｍ Physics", "Quantum Physics", "quantum physics"),
        ("  Quantum Physics  ", "Quantum Physics", "quantum physics"),
        ("Quantum\tPhysics", "Quantum Physics", "quantum physics"),
        ("Quantum\n\n Physics\r\n", "Quantum Physics", "quantum physics"),
        ("Quan\u200dtum Phy\u00adsics", "Quantum Physics", "quantum physics"),
        # A zero-width space or word joiner between words stands for a space.
        ("Quantum\u200bPhysics", "Quantum Physics", "quantum physics"),
        ("Quantum\u2060Physics", "Quantum Physics", "quantum physics"),
        ("Quantum\u200b \u200bPhysics\u200b", "Quantum Physics", "quantum physics"),
        ("\ufeffQuantum\u00adPhysics", "QuantumPhysics", "quantumphysics"),
        ("\u202eQuantum Physics", "Quantum Physics", "quantum physics"),
        ("Black\u2066 \u2069Holes", "Black Holes", "black holes"),
        ("Straße", "Straße", "strasse"),
        ("🧬 Genetics", "🧬 Genetics", "🧬 genetics"),
        ("Café 🚀", "Café 🚀", "café 🚀"),
        ("Cafe\u0301", "Café", "café"),
        ("Bell\x07 Labs\x00", "Bell Labs", "bell labs"),
    ],
)
def test_clean_topic_and_key(raw: str, cleaned: str, key: str) -> None:
    assert clean_topic(raw) == cleaned
    assert topic_key(raw) == key


def test_spellings_of_one_topic_share_a_key() -> None:
    spellings = [
        "Quantum  Physics",
        "quantum physics",
        "Ｑｕａｎｔｕｍ Physics",
        "QUANTUM\tphysics",
    ]
    assert {topic_key(s) for s in spellings} == {"quantum physics"}


@pytest.mark.parametrize("raw", ["", "   ", "\u200b\u200d", "\u202e\t\n", "\x00\x1b"])
def test_topic_empty_after_cleaning_is_refused(raw: str) -> None:
    with pytest.raises(TopicError, match="empty once invisible characters are removed"):
        topic_key(raw)


def test_topic_length_limit() -> None:
    assert clean_topic("x" * TOPIC_MAX) == "x" * TOPIC_MAX
    with pytest.raises(TopicError, match=f"at most {TOPIC_MAX} characters"):
        clean_topic("x" * (TOPIC_MAX + 1))
    # Invisible characters do not count toward the limit.
    assert clean_topic("x" * TOPIC_MAX + "\u200b" * 5) == "x" * TOPIC_MAX


# -- model limits ---------------------------------------------------------------


def concept(title: str = "Title", **overrides: object) -> dict:
    return {"title": title, "summary": "One sentence.", "detail": "A paragraph.", **overrides}


def concepts(count: int) -> list[dict]:
    return [concept(f"Concept {n}") for n in range(count)]


def map_data(**overrides: object) -> dict:
    return {"topic": "Topic", "overview": "An overview.", "concepts": concepts(4), **overrides}


@pytest.mark.parametrize(("field", "limit"), [("title", 60), ("summary", 160), ("detail", 900)])
def test_concept_text_limits(field: str, limit: int) -> None:
    ok = ConceptDraft.model_validate(concept(**{field: "a" * limit}))
    assert len(getattr(ok, field)) == limit
    with pytest.raises(ValidationError) as raised:
        ConceptDraft.model_validate(concept(**{field: "a" * (limit + 1)}))
    assert raised.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize("field", ["title", "summary", "detail"])
def test_concept_text_must_not_be_blank(field: str) -> None:
    with pytest.raises(ValidationError):
        ConceptDraft.model_validate(concept(**{field: "   "}))


def test_concept_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        ConceptDraft.model_validate(concept(children_count=3))


@pytest.mark.parametrize(("count", "valid"), [(3, False), (4, True), (7, True), (8, False)])
def test_key_concept_count(count: int, valid: bool) -> None:
    data = {"overview": "An overview.", "concepts": concepts(count)}
    if valid:
        assert len(MapDraft.model_validate(data).concepts) == count
        assert len(BundledMap.model_validate(map_data(concepts=concepts(count))).concepts) == count
    else:
        with pytest.raises(ValidationError):
            MapDraft.model_validate(data)
        with pytest.raises(ValidationError):
            BundledMap.model_validate(map_data(concepts=concepts(count)))


@pytest.mark.parametrize(("count", "valid"), [(2, False), (3, True), (6, True), (7, False)])
def test_children_count(count: int, valid: bool) -> None:
    bundled = concept(children=concepts(count))
    expansion = {"concepts": concepts(count)}
    if valid:
        assert len(BundledConcept.model_validate(bundled).children or []) == count
        assert len(Expansion.model_validate(expansion).concepts) == count
    else:
        with pytest.raises(ValidationError):
            BundledConcept.model_validate(bundled)
        with pytest.raises(ValidationError):
            Expansion.model_validate(expansion)


def test_expansion_leaf_needs_no_concepts() -> None:
    leaf = Expansion.model_validate({"leaf": True, "concepts": []})
    assert leaf.leaf is True
    assert leaf.concepts == []
    assert Expansion.model_validate({"leaf": True}).concepts == []


def test_expansion_not_leaf_needs_enough_concepts() -> None:
    with pytest.raises(ValidationError, match="sub-concepts, or mark a leaf"):
        Expansion.model_validate({"leaf": False, "concepts": concepts(2)})
    with pytest.raises(ValidationError, match="sub-concepts, or mark a leaf"):
        Expansion.model_validate({})


def test_bundled_map_keys_include_aliases() -> None:
    bundled = BundledMap.model_validate(
        map_data(topic="Large Language Models", aliases=["LLM", "ＬＬＭｓ"])
    )
    assert bundled.key == "large language models"
    assert bundled.alias_keys == ["llm", "llms"]
    assert bundled.language == "en"


def test_bundled_map_topic_limit() -> None:
    with pytest.raises(ValidationError):
        BundledMap.model_validate(map_data(topic="x" * (TOPIC_MAX + 1)))


@pytest.mark.parametrize(
    ("typed", "key"),
    [("", ""), ("  ", ""), ("\u200b", ""), ("Quantum\u200bPh", "quantum ph"), ("ＬＬＭ", "llm")],
)
def test_search_key_normalizes_like_a_topic_key_without_refusing(typed: str, key: str) -> None:
    assert search_key(typed) == key
