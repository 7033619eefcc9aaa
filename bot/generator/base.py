"""The ``Generator`` protocol the explore core knows, and what goes in and out of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from bot.models import (
    Citation,
    ConceptDraft,
    Expansion,
    Level,
    MapDraft,
    MaterialKind,
    QuizDraft,
    Usage,
)

T = TypeVar("T")

Clock = Callable[[], float]


@dataclass(frozen=True)
class Generated(Generic[T]):
    """A validated answer and the usage of every call it took (repairs included)."""

    value: T
    usage: list[Usage] = field(default_factory=list)
    # A plain-text answer's sources: the web search results it cited (a map's and a
    # concept's are in their drafts).
    sources: list[Citation] = field(default_factory=list)
    # A map of a member's material: what the model read of it (a page's text as fetched).
    read: Read | None = None


@dataclass(frozen=True)
class Material:
    """A member's own material that a generation is made from and cites: a PDF or a text
    file (its bytes, and once uploaded its Files API id), or a web page (``name`` is its
    URL; ``data`` its text once the API's web fetch tool has fetched it, None before)."""

    kind: MaterialKind
    name: str  # the file's name, or the page's URL
    media_type: str = "text/plain"  # application/pdf, or text/plain
    data: bytes | None = None
    file_id: str | None = None
    title: str | None = None  # a fetched page's title

    @property
    def url(self) -> str | None:
        return self.name if self.kind is MaterialKind.PAGE else None

    def __repr__(self) -> str:  # never the whole document in a log line
        size = len(self.data) if self.data is not None else 0
        return f"Material({self.kind.value}, {self.name!r}, {size} bytes)"


@dataclass(frozen=True)
class Read:
    """What the model made of a material: the language it is written in (when not the
    map's), and for a page, what the fetch tool returned (kept to ground later calls)."""

    language: str | None = None
    title: str | None = None  # a fetched page's title
    text: str | None = None  # a fetched page's text


@dataclass(frozen=True)
class Search:
    """Ground a generation with the API's web search: results from ``block`` domains are
    never returned; ``prefer`` domains are named to the model as the ones to favour."""

    prefer: tuple[str, ...] = ()
    block: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutlineNode:
    """One concept of the map so far, as the expansion prompt's outline shows it."""

    title: str
    children: list[OutlineNode] = field(default_factory=list)
    on_path: bool = False  # an ancestor of the concept to expand, or the concept itself


@dataclass(frozen=True)
class ExpandRequest:
    """What the model needs to expand one concept without repeating its surroundings."""

    topic: str
    language: str
    path: list[ConceptDraft]  # from the key concept down to the concept to expand
    siblings: list[str]  # titles of the concept's siblings
    # The whole map so far (its key concepts, each with what is known below it).
    outline: list[OutlineNode] = field(default_factory=list)
    level: Level = Level.STANDARD


@dataclass(frozen=True)
class SketchConcept:
    title: str
    summary: str


@dataclass(frozen=True)
class Sketch:
    """What a streaming answer has settled so far: only texts that are complete.

    For a map, ``title`` and ``overview`` once written; for both kinds of answer,
    each concept once its title and summary are complete. Shown on the card while
    the answer streams, never stored: only the validated whole is. ``searching``: the
    API is running a web search, before any text of the answer.
    """

    title: str | None = None
    overview: str | None = None
    concepts: tuple[SketchConcept, ...] = ()
    searching: bool = False


# Called with each new sketch as the answer streams; must not block (the card edit
# it leads to is throttled and done elsewhere).
OnSketch = Callable[[Sketch], None]


@dataclass(frozen=True)
class AskRequest:
    """A reader's question about one card, with what the card and the map around it say.

    For the map's overview card, ``title`` is the topic, ``summary`` the overview
    and ``subconcepts`` the key concepts.
    """

    topic: str
    language: str
    path: list[str]  # titles above the card, from the key concept down to its parent
    title: str
    summary: str
    detail: str
    subconcepts: list[str]
    question: str
    level: Level = Level.STANDARD  # who the map is written for; the answer matches it
    # Where the card's text comes from ("Curated, facts checked as of 2026-06", "Written
    # by claude-sonnet-4-6 on 7 December 2026 from 3 web sources"), and its sources.
    provenance: str = ""
    sources: list[Citation] = field(default_factory=list)


@dataclass(frozen=True)
class RefreshRequest:
    """A generated concept to write again with today's facts: its place in the map, and
    the text it has now (its title stays)."""

    topic: str
    language: str
    path: list[ConceptDraft]  # from the key concept down to the concept to refresh
    written: str  # when the current text was written, as people read a date
    level: Level = Level.STANDARD


@dataclass(frozen=True)
class TranslateRequest:
    """A part of a curated map to write in another language: the map's top (``overview``
    set: its title, overview and key concepts) or the children of one of its concepts
    (``path``: the titles above them, in the target language, the parent last)."""

    language: str
    topic: str
    concepts: list[ConceptDraft]
    overview: str | None = None
    path: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class QuizConcept:
    """A concept to write a quiz question about: its card, where it sits, and the map's
    other titles (wrong answers come from the map, so they are plausible)."""

    title: str
    summary: str
    detail: str
    path: list[str]  # titles above it, from the key concept down to its parent
    others: list[str]


@dataclass(frozen=True)
class QuizRequest:
    """Concepts of one map, each to get one multiple-choice question grounded in its card."""

    topic: str
    language: str
    concepts: list[QuizConcept]
    level: Level = Level.STANDARD


# Called with the whole answer so far, cleaned, each time more of it arrives.
Progress = Callable[[str], Awaitable[None]]


class Generator(Protocol):
    model: str

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
        """Title, overview and key concepts for a topic; with ``search``, grounded by the
        web search where the API allows it (each text's sources among what it returned).

        Raises ``Ambiguous`` with the topic's meanings, ``UnknownTopic``, ``Refused``
        or another ``GenerationError``.
        """
        ...

    async def expand(
        self,
        request: ExpandRequest,
        *,
        on_progress: OnSketch | None = None,
        search: Search | None = None,
        material: Material | None = None,
    ) -> Generated[Expansion]:
        """Sub-concepts of the last concept on ``request.path``, or a leaf."""
        ...

    async def translate(self, request: TranslateRequest) -> Generated[MapDraft]:
        """The part in ``request.language``: the same concepts in the same order (and for
        the map's top, its ``title`` and ``overview``); raises ``GenerationError``."""
        ...

    async def refresh(
        self, request: RefreshRequest, *, search: Search | None = None
    ) -> Generated[ConceptDraft]:
        """The last concept on ``request.path`` written again with today's facts (same
        title), with the sources the search returned for it."""
        ...

    async def ask(
        self,
        request: AskRequest,
        on_text: Progress | None = None,
        *,
        search: Search | None = None,
        material: Material | None = None,
    ) -> Generated[str]:
        """A plain-text answer to ``request.question``, streamed to ``on_text`` as it is
        written, with the search results it cited as ``sources``; raises
        ``GenerationError`` (``Refused`` when Claude declines)."""
        ...

    async def write_quiz(self, request: QuizRequest) -> Generated[list[QuizDraft | None]]:
        """One question per concept of ``request``, in its order (None for a concept it
        could not write one for), each answerable from the concept's card; raises
        ``GenerationError``."""
        ...

    async def count_tokens(self, topic: str, language: str, material: Material) -> int:
        """The input tokens of the call that maps ``material`` (the API's count_tokens)."""
        ...

    async def upload(self, material: Material) -> str | None:
        """Upload a file to the API's Files API; its id, or None when it was not kept there."""
        ...

    async def delete_file(self, file_id: str) -> None:
        """Delete a file uploaded with ``upload`` (one already gone is no error)."""
        ...
