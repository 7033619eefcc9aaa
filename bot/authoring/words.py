"""What the linter reads in a map's text: content words, sentences that nearly repeat
each other, and figures that can change."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import regex

from bot.models import BundledConcept, BundledMap
from bot.text import content_words, shorten, split_sentences

# Near-duplicate sentences: share this much of their content words (Jaccard), counted only
# for sentences of at least NEAR_MIN_WORDS content words, so short generic ones never clash.
NEAR_DUPLICATE = 0.4
NEAR_MIN_WORDS = 5
# In a volatile map a summary keeps no figure that can change; a year this many years or more
# before as_of is history, not a figure.
HISTORY_YEARS = 10
QUOTE_MAX = 60  # how much of a sentence a problem quotes

# A number standing on its own: "4.25", "3.50-3.75%", "$120", "12 members"; not "G7", "ERC-20"
# or a decade ("the 1920s").
FIGURE = regex.compile(r"(?<![\p{L}\d.,-])\d+(?:[.,]\d+)*(?![\p{L}\d]|[.,]\d)")
# The day in a date ("7 October", "October 7") is not a figure; its year is judged on its own.
MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
DAY = regex.compile(rf"(?:{MONTHS}) \d{{1,2}}(?!\d)|(?<!\d)\d{{1,2}} (?:{MONTHS})")
YEAR = regex.compile(r"1\d{3}|20\d{2}")


@dataclass(frozen=True)
class Sentence:
    """One sentence of a map, where it stands, and its content words."""

    trail: tuple[str, ...]
    field: str  # overview, summary or detail
    text: str
    words: frozenset[str]

    def place(self) -> str:
        return f"the {self.field} of {' > '.join(self.trail)}"

    def quote(self) -> str:
        return f'"{shorten(self.text, QUOTE_MAX)}"'


def map_sentences(bundled: BundledMap) -> list[Sentence]:
    found: list[Sentence] = []

    def add(trail: tuple[str, ...], field: str, text: str) -> None:
        for sentence in split_sentences(text):
            found.append(Sentence(trail, field, sentence, content_words(sentence)))

    def walk(concepts: Sequence[BundledConcept], path: tuple[str, ...]) -> None:
        for concept in concepts:
            trail = (*path, concept.title)
            add(trail, "summary", concept.summary)
            add(trail, "detail", concept.detail)
            walk(concept.children or [], trail)

    add((bundled.topic,), "overview", bundled.overview)
    walk(bundled.concepts, (bundled.topic,))
    return found


def near_duplicates(words: Sequence[frozenset[str]]) -> list[tuple[int, int]]:
    """The pairs (earlier, later) of indexes whose word sets nearly match.

    An index of who uses each word finds the overlaps without comparing every
    pair: the whole library is some thousands of sentences.
    """
    users: defaultdict[str, list[int]] = defaultdict(list)
    pairs = []
    for later, these in enumerate(words):
        if len(these) < NEAR_MIN_WORDS:
            continue
        shared: defaultdict[int, int] = defaultdict(int)
        for word in these:
            for earlier in users[word]:
                shared[earlier] += 1
            users[word].append(later)
        for earlier, count in shared.items():
            if count / (len(these) + len(words[earlier]) - count) >= NEAR_DUPLICATE:
                pairs.append((earlier, later))
    return sorted(pairs, key=lambda pair: (pair[1], pair[0]))


def figures(text: str, as_of: str | None) -> list[str]:
    """The figures in ``text`` that can change: numbers, and years too recent to be history."""
    recent = int(as_of[:4]) - HISTORY_YEARS if as_of else None
    dates = [match.span() for match in DAY.finditer(text)]
    found = []
    for match in FIGURE.finditer(text):
        number = match.group()
        if any(start <= match.start() < end for start, end in dates):
            continue
        if recent is not None and YEAR.fullmatch(number) and int(number) <= recent:
            continue
        found.append(number)
    return found


def sentence_count(count: int) -> str:
    return "1 sentence" if count == 1 else f"{count} sentences"


def wanted(limits: tuple[int, int]) -> str:
    low, high = limits
    if low == high:
        return "one" if low == 1 else str(low)
    return f"{low} to {high}"
