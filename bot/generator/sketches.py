"""Sketches: what a streaming answer has settled so far, for the card to show meanwhile.

Read from the partial JSON text after each piece of the stream; never stored (only
the validated whole answer is, see ``answers``).
"""

from __future__ import annotations

from collections.abc import Callable

import jiter

from bot.generator.answers import _plain
from bot.generator.base import OnSketch, Sketch, SketchConcept
from bot.models import OVERVIEW_MAX, SUMMARY_MAX, TITLE_MAX, TOPIC_MAX


def _sketcher(on_progress: OnSketch) -> Callable[[str], None]:
    """A text callback that reports each new sketch of the answer once."""
    last = Sketch()

    def on_text(snapshot: str) -> None:
        nonlocal last
        sketch = sketch_of(snapshot)
        if sketch is not None and sketch != last:
            last = sketch
            on_progress(sketch)

    return on_text


def search_sketcher(on_progress: OnSketch) -> Callable[[], None]:
    """What tells the card a web search is running (a card already showing part of the
    answer keeps it: the card decides)."""

    def on_search() -> None:
        on_progress(Sketch(searching=True))

    return on_search


def sketch_of(snapshot: str) -> Sketch | None:
    """The complete texts of a partial JSON answer; None if it has nothing to show yet.

    jiter's partial mode leaves out the string still being written, so every text it
    gives is complete as soon as its closing quote has arrived: a concept shows once
    its title and summary are written, without waiting for its detail to begin.
    """
    try:
        data = jiter.from_json(snapshot.encode(), partial_mode="on")
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("kind") not in ("map", "subconcepts"):
        return None
    title, overview = data.get("title"), data.get("overview")
    concepts = []
    for item in data.get("concepts") or []:
        # Concepts are written in order: one without its summary is the last so far.
        if not isinstance(item, dict):
            break
        title_text, summary = item.get("title"), item.get("summary")
        if not isinstance(title_text, str) or not isinstance(summary, str):
            break
        concepts.append(
            SketchConcept(
                _plain(title_text, TITLE_MAX, one_line=True),
                _plain(summary, SUMMARY_MAX, one_line=True),
            )
        )
    return Sketch(
        title=_plain(title, TOPIC_MAX, one_line=True) if isinstance(title, str) else None,
        overview=_plain(overview, OVERVIEW_MAX) if isinstance(overview, str) else None,
        concepts=tuple(concepts),
    )
