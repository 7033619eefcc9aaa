"""Sketches of a streaming answer: what the card shows while the model writes."""

from __future__ import annotations

import json

from bot.generator.sketches import sketch_of
from tests.support.standin import concept, valid_map


def prefix_through(text: str, marker: str) -> str:
    """``text`` up to the end of the first ``marker`` in it."""
    return text[: text.index(marker) + len(marker)]


def test_a_concept_shows_as_soon_as_its_summary_is_written():
    answer = json.dumps(valid_map(3))
    summary = json.dumps("Key concept 1 in one sentence.")

    sketch = sketch_of(prefix_through(answer, summary))  # its detail not begun

    assert sketch is not None
    assert [(c.title, c.summary) for c in sketch.concepts] == [
        ("Key concept 1", "Key concept 1 in one sentence.")
    ]


def test_the_title_and_overview_show_as_soon_as_each_is_written():
    answer = json.dumps(valid_map(3, title="Volcanoes"))

    title_only = sketch_of(prefix_through(answer, '"Volcanoes"'))
    overview = sketch_of(prefix_through(answer, 'It has two sentences."'))

    assert title_only is not None and title_only.title == "Volcanoes"
    assert title_only.overview is None
    assert overview is not None
    assert overview.overview == "An overview of the topic. It has two sentences."
    assert overview.concepts == ()


def test_a_text_being_written_never_shows():
    """At every cut of the answer, even inside an escape, a text shown is a whole text of
    the final answer."""
    tricky = concept(
        'The "Moon\'s" pull',
        summary='It pulls \\ "harder" — on the near side.',
        detail="It matters. It connects. It fits.",
    )
    whole = {**valid_map(2, title="Tides"), "overview": 'Tides "rise" and fall.\nTwice a day.'}
    whole["concepts"].insert(0, tricky)
    answer = json.dumps(whole)
    titles = {c["title"] for c in whole["concepts"]}
    summaries = {c["summary"] for c in whole["concepts"]}

    shown = 0
    for end in range(len(answer) + 1):
        sketch = sketch_of(answer[:end])
        if sketch is None:
            continue
        assert sketch.title in (None, "Tides")
        assert sketch.overview in (None, whole["overview"])
        for item in sketch.concepts:
            assert item.title in titles and item.summary in summaries
        shown = max(shown, len(sketch.concepts))
    assert shown == 3


def test_nothing_to_show_before_the_kind_is_known():
    assert sketch_of('{"kind": "ma') is None
    assert sketch_of('{"kind": "leaf"}') is None
    assert sketch_of("not json") is None
