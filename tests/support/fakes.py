"""A scriptable stand-in for the Claude generator, implementing ``bot.generator.Generator``;
and test data stored through the real storage."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.errors import Ambiguous, GenerationError
from bot.generator import (
    AskRequest,
    ExpandRequest,
    Generated,
    Material,
    OnSketch,
    Progress,
    QuizRequest,
    RefreshRequest,
    Search,
    TranslateRequest,
)
from bot.models import (
    DETAIL_MAX,
    OVERVIEW_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    Citation,
    ConceptDraft,
    Expansion,
    Level,
    MapDraft,
    Meaning,
    QuizDraft,
    Source,
    Usage,
    topic_key,
)
from bot.storage import MapListing, Storage

FAKE_MODEL = "fake-model"


def draft(title: str, summary: str | None = None, detail: str | None = None) -> ConceptDraft:
    """A valid concept draft; summary and detail are derived from the title unless given."""
    return ConceptDraft(
        title=title,
        summary=summary or f"{title} in one sentence.",
        detail=detail or f"{title} explained in a short paragraph. It matters here.",
    )


def default_map(topic: str, count: int = 4) -> MapDraft:
    return MapDraft(
        overview=f"An overview of {topic}. It has {count} key concepts.",
        concepts=[draft(f"{topic} part {n}"[:60]) for n in range(1, count + 1)],
    )


def default_expansion(request: ExpandRequest, count: int = 3) -> Expansion:
    parent = request.path[-1].title
    return Expansion(concepts=[draft(f"{parent} / sub {n}"[:60]) for n in range(1, count + 1)])


def default_answer(request: AskRequest) -> str:
    return (
        f"{request.title} answers {request.question!r} within {request.topic}. "
        "It is a short answer in plain text."
    )


def default_question(title: str, summary: str, others: list[str]) -> QuizDraft:
    return QuizDraft(
        prompt=f"Claude asks: which concept is {summary}",
        options=[title, *others[:3]],
        correct=0,
        explanation=f"Claude explains: {title} is the one.",
    )


@dataclass
class Call:
    kind: str  # "map", "expand", "refresh", "ask", "quiz" or "translate"
    subject: str  # the topic, the title of the concept expanded, or the question
    language: str
    request: ExpandRequest | AskRequest | RefreshRequest | QuizRequest | TranslateRequest | None = (
        None
    )
    level: Level = Level.STANDARD
    search: Search | None = None


@dataclass
class FakeGenerator:
    """Answers from scripts, counts calls, can fail, and can hold calls open on a gate.

    - ``maps``: topic key -> MapDraft; other topics get ``default_map``.
    - ``meanings``: topic key -> the meanings a map call of that topic answers with
      (raised as ``Ambiguous``, as the real generator does).
    - ``expansions``: concept title -> Expansion; other concepts get ``default_expansion``.
    - ``failure``: when set, every call raises it (after passing the gate).
    - ``gate``: when set, every call waits for it; ``entered`` is set once a call is waiting.
    - ``answers``: question -> answer text; other questions get ``default_answer``,
      streamed to ``on_text`` word by word.
    - ``usage``: the token usage each successful call reports.
    """

    model: str = FAKE_MODEL
    maps: dict[str, MapDraft] = field(default_factory=dict)
    meanings: dict[str, list[Meaning]] = field(default_factory=dict)
    expansions: dict[str, Expansion] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)
    refreshes: dict[str, ConceptDraft] = field(default_factory=dict)
    cited: list[Citation] = field(default_factory=list)  # what every answer cites
    failure: GenerationError | None = None
    gate: asyncio.Event | None = None
    usage: Usage = field(
        default_factory=lambda: Usage(model=FAKE_MODEL, input_tokens=100, output_tokens=50)
    )
    calls: list[Call] = field(default_factory=list)
    entered: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def call_count(self) -> int:
        return len(self.calls)

    def fail_with(self, message: str = "Claude could not map that topic.") -> None:
        self.failure = GenerationError(message, usage=[self.usage])

    async def _hold(self) -> None:
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.failure is not None:
            raise self.failure

    async def generate_map(
        self,
        topic: str,
        language: str,
        *,
        level: Level = Level.STANDARD,
        on_progress: OnSketch | None = None,
        search: Search | None = None,
        material: Material | None = None,
    ) -> Generated[MapDraft]:
        self.calls.append(Call("map", topic, language, level=level, search=search))
        await self._hold()
        if meanings := self.meanings.get(topic_key(topic)):
            raise Ambiguous(f"{topic} has several meanings.", meanings, usage=[self.usage])
        value = self.maps.get(topic_key(topic)) or default_map(topic)
        return Generated(value, [self.usage])

    async def expand(
        self,
        request: ExpandRequest,
        *,
        on_progress: OnSketch | None = None,
        search: Search | None = None,
        material: Material | None = None,
    ) -> Generated[Expansion]:
        title = request.path[-1].title
        self.calls.append(Call("expand", title, request.language, request, request.level, search))
        await self._hold()
        value = self.expansions.get(title) or default_expansion(request)
        return Generated(value, [self.usage])

    async def translate(self, request: TranslateRequest) -> Generated[MapDraft]:
        """Every text with the language's tag in front: "[ja] AI Agents"."""
        self.calls.append(Call("translate", request.topic, request.language, request))
        await self._hold()
        tag = request.language.rsplit("(", 1)[-1].rstrip(")")

        def said(text: str, limit: int) -> str:
            return f"[{tag}] {text}"[:limit]

        concepts = [
            ConceptDraft(
                title=said(c.title, TITLE_MAX),
                summary=said(c.summary, SUMMARY_MAX),
                detail=said(c.detail, DETAIL_MAX),
            )
            for c in request.concepts
        ]
        value = MapDraft.model_construct(
            title=said(request.topic, TITLE_MAX) if request.overview is not None else None,
            overview=said(request.overview, OVERVIEW_MAX) if request.overview else "",
            concepts=concepts,
        )
        return Generated(value, [self.usage])

    async def refresh(
        self, request: RefreshRequest, *, search: Search | None = None
    ) -> Generated[ConceptDraft]:
        title = request.path[-1].title
        self.calls.append(Call("refresh", title, request.language, request, request.level, search))
        await self._hold()
        value = self.refreshes.get(title) or draft(
            title, f"{title} as it stands today.", f"{title} with today's facts. It moved."
        )
        return Generated(value, [self.usage])

    async def ask(
        self,
        request: AskRequest,
        on_text: Progress | None = None,
        *,
        search: Search | None = None,
        material: Material | None = None,
    ) -> Generated[str]:
        self.calls.append(
            Call("ask", request.question, request.language, request, request.level, search)
        )
        await self._hold()
        text = self.answers.get(request.question) or default_answer(request)
        if on_text is not None:
            words = text.split(" ")
            for end in range(1, len(words) + 1):
                await on_text(" ".join(words[:end]))
        return Generated(text, [self.usage], list(self.cited))

    async def write_quiz(self, request: QuizRequest) -> Generated[list[QuizDraft | None]]:
        self.calls.append(Call("quiz", request.topic, request.language, request, request.level))
        await self._hold()
        value: list[QuizDraft | None] = [
            default_question(c.title, c.summary, c.others) for c in request.concepts
        ]
        return Generated(value, [self.usage])

    async def count_tokens(self, topic: str, language: str, material: Material) -> int:
        return len(material.data or b"") // 4

    async def upload(self, material: Material) -> str | None:
        return None

    async def delete_file(self, file_id: str) -> None:
        return None


def write_map_file(
    folder: Path,
    topic: str,
    *,
    aliases: Sequence[str] = (),
    titles: Sequence[str] = ("Alpha", "Beta", "Gamma", "Delta"),
    children: Mapping[int, Sequence[str]] | None = None,
    leaves: Sequence[int] = (),
    name: str | None = None,
) -> Path:
    """Write a small valid bundled map file; ``children`` and ``leaves`` by key-concept index."""
    children = children or {}
    concepts = []
    for index, title in enumerate(titles):
        entry: dict = draft(title).model_dump()
        if index in children:
            entry["children"] = [draft(child).model_dump() for child in children[index]]
        if index in leaves:
            entry["leaf"] = True
        concepts.append(entry)
    data = {
        "topic": topic,
        "aliases": list(aliases),
        "overview": f"An overview of {topic}. Two sentences.",
        "concepts": concepts,
    }
    path = folder / (name or f"{topic_key(topic).replace(' ', '-')}.yaml")
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class Clock:
    """A clock the test moves by hand: pass it as ``Explorer(clock=...)``."""

    now: float = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


async def store_many_maps(storage: Storage, scope: int, count: int) -> list[MapListing]:
    """``count`` generated maps in ``scope``, as /maps lists them (expected order).

    They need every rule of the order: 0 to 2 concepts opened, and topics in pairs
    that differ only in case ("map 00", "Map 00"), which only their ids set apart.
    """
    stored: list[MapListing] = []
    for n in range(count):
        topic = f"{'Map' if n % 2 else 'map'} {n // 2:02d}"
        created = await storage.create_map(
            scope=scope,
            key=f"map {n:02d}",
            topic=topic,
            language="en",
            overview="An overview. It has three key concepts.",
            source=Source.GENERATED,
            model=FAKE_MODEL,
            concepts=[draft(title) for title in ("One", "Two", "Three")],
            now=0.0,
        )
        opened = n % 3
        for concept in (await storage.key_concepts(created.id))[:opened]:
            await storage.count_open(concept.id)
        stored.append(
            MapListing(topic, created.key, Source.GENERATED, FAKE_MODEL, opened, 3, created.id)
        )
    return sorted(stored, key=lambda m: (-m.opened, m.topic.lower(), m.id))


async def store_topics(storage: Storage, scope: int, topics: Sequence[str]) -> None:
    """A generated map with no concepts for each topic, keyed by its casefolded topic."""
    for topic in topics:
        await storage.create_map(
            scope=scope,
            key=topic.casefold(),
            topic=topic,
            language="en",
            overview="An overview. Two sentences.",
            source=Source.GENERATED,
            model="m",
            concepts=[],
            now=0.0,
        )
