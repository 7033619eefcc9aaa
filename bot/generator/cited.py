"""Answers about a member's material: the tagged text Claude writes with citations turned
into the answer ``answers`` validates, each concept with the places it cites.

The API's citations (``page_location`` for a PDF, ``char_location`` for text and fetched
pages, ``content_block_location``) come on text blocks, never with structured output, so
a map of a material is written in tags (``<map>``, ``<concept>``, ``<title>``...). The
blocks are joined, the tags read, and each block's citations go to the concept whose
``<concept>`` holds the block (or to the overview). Only places the API cited are kept:
never a page number or passage the model wrote itself.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote as urlquote

from pydantic import ValidationError

from bot.generator.answers import _plain
from bot.generator.base import Material, Sketch, SketchConcept
from bot.generator.grounding import Grounding, answer_blocks
from bot.models import (
    CITATION_QUOTE_MAX,
    CITATION_TITLE_MAX,
    OVERVIEW_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    Citation,
)
from bot.text import shorten

PLACES_PER_CONCEPT = 4  # places a concept keeps, the first it cites
PLACES_PER_ANSWER = 5
FRAGMENT_WORDS = 8  # words of a cited passage its link's text fragment looks for
_TAG = r"<{0}>(.*?)</{0}>"
_CONCEPT = re.compile(r"<concept>(.*?)</concept>", re.DOTALL)
_EMPTY_TAG = re.compile(r"<(declined|unusable|leaf)\s*/>")


def _field(tag: str, text: str) -> str | None:
    found = re.search(_TAG.format(tag), text, re.DOTALL)
    return found[1].strip() if found else None


def place(citation: object, material: Material) -> Citation | None:
    """An API citation of ``material`` as a stored source, or None for another kind."""
    kind = getattr(citation, "type", None)
    quoted = getattr(citation, "cited_text", None)
    quote = " ".join(quoted.split()) if isinstance(quoted, str) else ""
    title = material.title or material.name
    pages = None
    if kind == "page_location":
        first = getattr(citation, "start_page_number", None)
        end = getattr(citation, "end_page_number", None)  # exclusive
        if not isinstance(first, int) or first < 1:
            return None
        last = end - 1 if isinstance(end, int) and end - 1 >= first else first
        pages = (first, last)
    elif kind not in ("char_location", "content_block_location"):
        return None
    try:
        return Citation(
            title=shorten(title, CITATION_TITLE_MAX),
            url=passage_link(material.url, quote),
            pages=pages,
            quote=shorten(quote, CITATION_QUOTE_MAX) if quote else None,
        )
    except ValidationError:
        return None


def passage_link(url: str | None, quote: str) -> str | None:
    """A fetched page's address, pointing at the cited passage with a text fragment
    (``#:~:text=``, which browsers scroll to and highlight): each passage its own link."""
    if url is None or not quote:
        return url
    words = quote.split()[:FRAGMENT_WORDS]
    return f"{url.split('#', 1)[0]}#:~:text={urlquote(' '.join(words), safe='')}"


@dataclass
class Cited(Grounding):
    """The places one answer cites, numbered; a concept's "sources" name them by number."""

    places: list[Citation] = field(default_factory=list)

    def number(self, found: Citation) -> str:
        for n, known in enumerate(self.places):
            if known.key == found.key:
                return str(n)
        self.places.append(found)
        return str(len(self.places) - 1)

    def supporting(self, named: object, limit: int = PLACES_PER_CONCEPT) -> list[Citation]:
        if not isinstance(named, list):
            return []
        kept: list[Citation] = []
        for n in named:
            if isinstance(n, str) and n.isdigit() and int(n) < len(self.places):
                found = self.places[int(n)]
                if found not in kept and len(kept) < limit:
                    kept.append(found)
        return kept


@dataclass(frozen=True)
class Tagged:
    """A tagged answer's text (its blocks joined) and where each cited block starts."""

    text: str
    cites: list[tuple[int, int, Citation]]  # (start, end, place) of each cited block


def read_tagged(message: object, material: Material) -> Tagged:
    parts: list[str] = []
    cites: list[tuple[int, int, Citation]] = []
    at = 0
    for block in answer_blocks(message):
        text = getattr(block, "text", None)
        if not isinstance(text, str):
            continue
        for citation in getattr(block, "citations", None) or []:
            found = place(citation, material)
            if found is not None:
                cites.append((at, at + len(text), found))
        parts.append(text)
        at += len(text)
    return Tagged("".join(parts), cites)


def answer_of(tagged: Tagged, task: str, cited: Cited) -> tuple[str, str | None]:
    """The JSON answer ``answers`` reads, from a tagged one, with every concept's
    "sources" naming its places in ``cited``; and the material's language as named."""
    text = tagged.text
    empty = _EMPTY_TAG.search(text)
    if empty is not None and "<concept>" not in text:
        kind = {"declined": "declined", "unusable": "unknown", "leaf": "leaf"}[empty[1]]
        return json.dumps({"kind": kind}), None

    def places(start: int, end: int) -> list[str]:
        return [cited.number(found) for s, e, found in tagged.cites if s < end and e > start]

    concepts: list[dict[str, Any]] = []
    first_concept = len(text)
    for match in _CONCEPT.finditer(text):
        first_concept = min(first_concept, match.start())
        body = match[1]
        concepts.append(
            {
                "title": _field("title", body) or "",
                "summary": _field("summary", body) or "",
                "detail": _field("detail", body) or "",
                "sources": places(match.start(), match.end()),
            }
        )
    head = text[:first_concept]
    if task == "map":
        overview = re.search(_TAG.format("overview"), head, re.DOTALL)
        data: dict[str, Any] = {
            "kind": "map",
            "title": _field("title", head) or "",
            "overview": overview[1].strip() if overview else "",
            "sources": places(overview.start(), overview.end()) if overview else [],
            "volatile": False,
            "concepts": concepts,
        }
        return json.dumps(data), _field("material_language", head)
    return json.dumps({"kind": "subconcepts", "concepts": concepts}), None


def cited_places(message: object, material: Material) -> list[Citation]:
    """The places a plain-text answer cites, each once, the first ``PLACES_PER_ANSWER``."""
    kept: list[Citation] = []
    for _, _, found in read_tagged(message, material).cites:
        if all(known.key != found.key for known in kept) and len(kept) < PLACES_PER_ANSWER:
            kept.append(found)
    return kept


def sketch_of_tagged(snapshot: str) -> Sketch | None:
    """The complete texts of a partial tagged answer, for the card while it streams."""
    concepts = []
    for match in _CONCEPT.finditer(snapshot):
        title, summary = _field("title", match[1]), _field("summary", match[1])
        if title and summary:
            concepts.append(
                SketchConcept(
                    _plain(title, TITLE_MAX, one_line=True),
                    _plain(summary, SUMMARY_MAX, one_line=True),
                )
            )
    head = snapshot.split("<concept>", 1)[0]
    overview = _field("overview", head)
    if overview is None and not concepts:
        return None
    title = _field("title", head)
    return Sketch(
        title=_plain(title, TITLE_MAX, one_line=True) if title else None,
        overview=_plain(overview, OVERVIEW_MAX) if overview else None,
        concepts=tuple(concepts),
    )
