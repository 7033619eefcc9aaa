"""Claude's structured answers: the schema every call shares, and what an answer becomes.

An answer's text is parsed, its texts cleaned (control characters, mentions),
stripped of repeated titles, validated, and checked for what the schema cannot
say (sentences, Markdown, lengths). A first answer with problems is ``_Unusable``,
whose problems the repair request quotes; a repaired one (``lenient``) has its
over-long texts cut instead. ``_decided`` turns an answer that declines, names no
known topic or finds the topic ambiguous into its error.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import anthropic
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bot.errors import Ambiguous, Refused, UnknownTopic
from bot.generator.base import ExpandRequest, OutlineNode, RefreshRequest
from bot.generator.grounding import SOURCES_PER_CONCEPT, Grounding
from bot.i18n import N_
from bot.models import (
    DETAIL_MAX,
    DETAIL_SENTENCES,
    MEANINGS_MAX,
    MEANINGS_MIN,
    OVERVIEW_MAX,
    OVERVIEW_SENTENCES,
    SUMMARY_MAX,
    SUMMARY_SENTENCES,
    TITLE_MAX,
    TOPIC_MAX,
    ConceptDraft,
    Expansion,
    MapDraft,
    Meaning,
    Usage,
)
from bot.text import (
    clean_text,
    count_sentences,
    defuse_mentions,
    shorten,
    width,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

PROBLEMS_SHOWN = 8  # validation problems quoted back to Claude in the repair request
# What an answer is cut to when stored: 250 words are about 1,600 characters, and a card
# quoting the question and naming the concept must still fit in one Discord message.
ANSWER_MAX = 1800

UNKNOWN = N_(
    "Claude doesn't know this topic well enough to map it (it may be made up, too obscure or "
    "misspelled), so nothing was saved. Try another name for it."
)


# -- the answer format: one schema for every call ------------------------------
#
# Map and expansion calls share one output schema (a union tagged by "kind"), so
# the whole prefix the API caches (system prompt and schema) is identical on every
# call: a different schema per task would miss the cache on every switch.


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


SOURCES_ABOUT = (
    f"At most {SOURCES_PER_CONCEPT} URLs of web search results returned in this task that "
    "support this text, copied exactly from the results; [] when there was no search or "
    "no result supports it. Never any other URL."
)


class AnswerConcept(Answer):
    """A concept as the model writes it: its texts, then the search results behind them."""

    title: str
    summary: str
    detail: str
    sources: list[str] = Field(description=SOURCES_ABOUT)


class MapAnswer(Answer):
    kind: Literal["map"]
    title: str
    volatile: bool = Field(
        description="true when the topic's facts change over time (prices, rates, office "
        "holders, records, ongoing events, recent technology); false for settled subjects"
    )
    overview: str
    sources: list[str] = Field(description=SOURCES_ABOUT)
    concepts: list[AnswerConcept]


class MeaningsAnswer(Answer):
    kind: Literal["meanings"]
    meanings: list[Meaning]


class SubConceptsAnswer(Answer):
    kind: Literal["subconcepts"]
    concepts: list[AnswerConcept]


class ConceptAnswer(Answer):
    """A concept written again with today's facts (the refresh task): its title stays."""

    kind: Literal["concept"]
    summary: str
    detail: str
    sources: list[str] = Field(description=SOURCES_ABOUT)


class LeafAnswer(Answer):
    kind: Literal["leaf"]


class UnknownAnswer(Answer):
    kind: Literal["unknown"]


class DeclinedAnswer(Answer):
    kind: Literal["declined"]


# transform_schema moves maxLength/minItems into descriptions: the answer is
# checked here after it arrives, whatever the schema could say.
ANSWER_SCHEMA: dict[str, Any] = anthropic.transform_schema(
    TypeAdapter(
        MapAnswer
        | MeaningsAnswer
        | SubConceptsAnswer
        | ConceptAnswer
        | LeafAnswer
        | UnknownAnswer
        | DeclinedAnswer
    ).json_schema()
)
MAP_KINDS = ("map", "meanings", "unknown", "declined")
EXPAND_KINDS = ("subconcepts", "leaf", "declined")
REFRESH_KINDS = ("concept", "declined")

# What Markdown looks like in a text meant to be plain: emphasis, code, headings,
# list items, links. Cards show text as it is, so these would show as symbols.
_MARKDOWN = re.compile(
    r"\*\*|__|`|\[[^\]\n]+\]\([^)\n]*\)|^\s{0,3}(?:#{1,6}\s|[-*+]\s|\d+[.)]\s)", re.MULTILINE
)
# A URL the model wrote into a text: never shown (a source is only ever a search result,
# kept apart from the text).
_URL = re.compile(r"(?:\bhttps?://|\bwww\.)[^\s)\]>]+", re.IGNORECASE)


def strip_urls(text: str) -> str:
    """``text`` without the URLs written into it (a link nobody checked is never shown)."""
    if _URL.search(text) is None:
        return text
    stripped = _URL.sub("", text)
    return "\n".join(" ".join(line.split()) for line in stripped.split("\n"))


class _Unusable(Exception):
    """An answer that failed validation; ``problems`` is what the repair request quotes."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _decided(
    build: Callable[[str, bool, Grounding], T],
    answer: str,
    lenient: bool,
    refused: str,
    usage: list[Usage],
    grounding: Grounding,
) -> T:
    """``build``'s value; an answer that declines or names no known topic ends here."""
    kind = _kind(answer)
    if kind == "declined":
        raise Refused(refused, usage=list(usage))
    if kind == "unknown":
        raise UnknownTopic(UNKNOWN, usage=list(usage))
    value = build(answer, lenient, grounding)
    if isinstance(value, list):  # the meanings of an ambiguous topic
        titles = "; ".join(meaning.title for meaning in value)
        message = N_(
            "This topic has several meanings: {meanings}. Explore the one you mean.",
            meanings=titles,
        )
        raise Ambiguous(message, value, usage=list(usage))
    return value


def _kind(answer: str) -> str | None:
    try:
        data = json.loads(answer)
    except json.JSONDecodeError:
        return None
    return data.get("kind") if isinstance(data, dict) else None


def answer_text(text: str) -> str:
    """A model's plain-text answer cleaned, defused and cut to ``ANSWER_MAX``.

    Paragraphs stay apart by one blank line; Markdown is left to whoever shows it.
    """
    paragraphs = strip_urls(clean_text(text)).split("\n")
    # After clean_text, which would drop the zero-width space as a format character.
    return shorten(defuse_mentions("\n\n".join(paragraphs)), ANSWER_MAX)


def _plain(text: str, limit: int, *, one_line: bool = False) -> str:
    """A model text cleaned, without URLs, defused and cut to ``limit``."""
    text = strip_urls(clean_text(text))
    if one_line:
        text = " ".join(text.split("\n"))
    # After clean_text, which would drop the zero-width space as a format character.
    return shorten(defuse_mentions(text), limit)


# -- checking a whole answer ---------------------------------------------------


class _Checker:
    """Fits an answer's texts and collects what the schema could not check.

    ``soft`` problems (too long, wrong number of sentences, Markdown) send the
    first answer back for a repair; on the repaired one they are tolerated and
    over-long texts are cut. ``notes`` explain concepts left out as repeats.
    """

    def __init__(self) -> None:
        self.soft: list[str] = []
        self.notes: list[str] = []

    def fit(
        self,
        value: object,
        where: str,
        limit: int,
        *,
        one_line: bool = False,
        sentences: tuple[int, int] | None = None,
    ) -> object:
        if not isinstance(value, str):
            return value  # left to validation
        text = _plain(value, limit, one_line=one_line)
        cleaned = clean_text(value)
        if (length := width(cleaned)) > limit:
            self.soft.append(f"{where} is {length} characters long; the limit is {limit}")
        if _MARKDOWN.search(cleaned):
            self.soft.append(f"{where} uses Markdown; write plain prose")
        if _URL.search(cleaned):
            self.soft.append(f'{where} contains a URL; URLs go in "sources", never in a text')
        if sentences is not None:
            count = count_sentences(cleaned)
            low, high = sentences
            if not low <= count <= high:
                wanted = f"exactly {low}" if low == high else f"{low} to {high}"
                written = "1 sentence" if count == 1 else f"{count} sentences"
                self.soft.append(f"{where} has {written}; write {wanted}")
        return text

    def concepts(
        self, value: object, seen: dict[str, str], kind: str, grounding: Grounding
    ) -> object:
        """The answer's concepts, their texts fitted and their sources the returned search
        results they name, minus those that repeat a title in ``seen``.

        ``seen`` maps a title key to how to name what it repeats ("the topic", ...).
        """
        if not isinstance(value, list):
            return value
        kept: list[object] = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                kept.append(item)
                continue
            concept = dict(item)
            where = f"concepts.{index}"
            if "title" in concept:
                concept["title"] = self.fit(
                    concept["title"], f"{where}.title", TITLE_MAX, one_line=True
                )
            if "summary" in concept:
                concept["summary"] = self.fit(
                    concept["summary"],
                    f"{where}.summary",
                    SUMMARY_MAX,
                    one_line=True,
                    sentences=SUMMARY_SENTENCES,
                )
            if "detail" in concept:
                concept["detail"] = self.fit(
                    concept["detail"], f"{where}.detail", DETAIL_MAX, sentences=DETAIL_SENTENCES
                )
            concept["sources"] = grounding.supporting(concept.get("sources"))
            key = _title_key(concept.get("title"))
            if key is not None and key in seen:
                self.notes.append(
                    f"the {kind} {concept['title']!r} repeats {seen[key]}, so it was left out"
                )
                continue
            if key is not None:
                seen[key] = f"another {kind}"
            kept.append(concept)
        return kept

    def validate(self, model: type[M], data: dict[str, Any], *, lenient: bool) -> M:
        try:
            value = model.model_validate(data)
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(part) for part in error['loc']) or 'answer'}: {error['msg']}"
                for error in exc.errors(include_url=False)
            ]
            raise _Unusable((self.notes + problems + self.soft)[:PROBLEMS_SHOWN]) from None
        if self.soft and not lenient:
            raise _Unusable((self.notes + self.soft)[:PROBLEMS_SHOWN])
        if self.soft:
            log.info("Kept a repaired answer despite: %s", "; ".join(self.soft))
        return value


def _title_key(title: object) -> str | None:
    if not isinstance(title, str):
        return None
    return " ".join(title.casefold().split()).rstrip(".…")


def _load(answer: str, kinds: tuple[str, ...]) -> dict[str, Any]:
    try:
        data = json.loads(answer)
    except json.JSONDecodeError as exc:
        raise _Unusable(
            [f"the answer is not valid JSON ({exc.msg} at character {exc.pos})"]
        ) from None
    if not isinstance(data, dict):
        raise _Unusable(["the answer is not a JSON object"])
    if data.get("kind") not in kinds:
        wanted = ", ".join(f'"{kind}"' for kind in kinds)
        raise _Unusable([f"kind: this task is answered with a kind of {wanted}"])
    return data


def _map_answer(
    answer: str, topic: str, grounding: Grounding, *, lenient: bool
) -> MapDraft | list[Meaning]:
    """The map, or the meanings of an ambiguous topic."""
    data = _load(answer, MAP_KINDS)
    check = _Checker()
    if data.pop("kind") == "meanings":
        meanings = data.get("meanings")
        if isinstance(meanings, list):
            for index, item in enumerate(meanings):
                if isinstance(item, dict):
                    where = f"meanings.{index}"
                    item["title"] = check.fit(item.get("title"), f"{where}.title", TOPIC_MAX)
                    item["line"] = check.fit(item.get("line"), f"{where}.line", SUMMARY_MAX)
            if not MEANINGS_MIN <= len(meanings) <= MEANINGS_MAX:
                check.soft.append(f"meanings: give {MEANINGS_MIN} to {MEANINGS_MAX} meanings")
        return check.validate(_Meanings, data, lenient=lenient).meanings
    if "title" in data:
        data["title"] = check.fit(data["title"], "title", TOPIC_MAX, one_line=True)
    if "overview" in data:
        data["overview"] = check.fit(
            data["overview"], "overview", OVERVIEW_MAX, sentences=OVERVIEW_SENTENCES
        )
    data["sources"] = grounding.supporting(data.get("sources"))
    data["volatile"] = data.get("volatile") is True
    seen = {key: "the topic" for key in {_title_key(topic), _title_key(data.get("title"))} if key}
    if "concepts" in data:
        data["concepts"] = check.concepts(data["concepts"], seen, "key concept", grounding)
    return check.validate(MapDraft, data, lenient=lenient)


class _Meanings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meanings: list[Meaning]


def _expansion(
    answer: str, request: ExpandRequest, grounding: Grounding, *, lenient: bool
) -> Expansion:
    data = _load(answer, EXPAND_KINDS)
    if data["kind"] == "leaf":
        # A leaf has no sub-concepts, whatever else came with it.
        return Expansion(leaf=True)
    check = _Checker()
    seen: dict[str, str] = {}
    names = [(request.topic, "the topic")]
    names += [(title, "a concept elsewhere in the map") for title in _titles(request.outline)]
    names += [(sibling, "a sibling") for sibling in request.siblings]
    names += [(ancestor.title, "an ancestor") for ancestor in request.path[:-1]]
    names.append((request.path[-1].title, "the concept being expanded"))
    for name, role in names:
        if key := _title_key(name):
            seen[key] = role
    concepts = check.concepts(data.get("concepts"), seen, "sub-concept", grounding)
    return check.validate(Expansion, {"leaf": False, "concepts": concepts}, lenient=lenient)


def _refreshed(
    answer: str, request: RefreshRequest, grounding: Grounding, *, lenient: bool
) -> ConceptDraft:
    """The concept written again: the same title, new texts and their sources."""
    data = _load(answer, REFRESH_KINDS)
    check = _Checker()
    concept = {
        "title": request.path[-1].title,
        "summary": check.fit(
            data.get("summary"),
            "summary",
            SUMMARY_MAX,
            one_line=True,
            sentences=SUMMARY_SENTENCES,
        ),
        "detail": check.fit(data.get("detail"), "detail", DETAIL_MAX, sentences=DETAIL_SENTENCES),
        "sources": grounding.supporting(data.get("sources")),
    }
    return check.validate(ConceptDraft, concept, lenient=lenient)


def _titles(nodes: Sequence[OutlineNode]) -> list[str]:
    return [title for node in nodes for title in (node.title, *_titles(node.children))]
