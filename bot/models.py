"""The concept-map model: what a map and a concept are, and their limits.

No discord import here: these models are shared by the bundled maps, storage,
the generator and the explore core.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterator, Sequence
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    field_validator,
)

# Re-exported: a citation is part of the map model.
from bot.citations import CITATION_PUBLISHER_MAX as CITATION_PUBLISHER_MAX
from bot.citations import CITATION_QUOTE_MAX as CITATION_QUOTE_MAX
from bot.citations import CITATION_TITLE_MAX as CITATION_TITLE_MAX
from bot.citations import CITATION_URL_MAX as CITATION_URL_MAX
from bot.citations import Citation as Citation
from bot.citations import MaterialKind as MaterialKind
from bot.citations import citations_json as citations_json
from bot.citations import date_floor as date_floor
from bot.citations import iso_date as iso_date
from bot.citations import stored_citations as stored_citations
from bot.i18n import N_

TITLE_MAX = 60  # fits a Discord button label with its "12 · " prefix
SUMMARY_MAX = 160
DETAIL_MAX = 900
OVERVIEW_MAX = 1200
TOPIC_MAX = 100  # Discord's limit on a slash-command string option
KEY_CONCEPTS_MIN, KEY_CONCEPTS_MAX = 4, 7
CHILDREN_MIN, CHILDREN_MAX = 3, 6
MEANINGS_MIN, MEANINGS_MAX = 2, 5
# Sentences each text should have; the schema cannot say so, the generator checks after it.
OVERVIEW_SENTENCES = (2, 3)
SUMMARY_SENTENCES = (1, 1)
DETAIL_SENTENCES = (2, 5)
LANGUAGE_DEFAULT = "en"

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX)]
Summary = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=SUMMARY_MAX)
]
Detail = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=DETAIL_MAX)
]
Overview = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=OVERVIEW_MAX)
]


TopicTitle = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TOPIC_MAX)
]


class TopicError(ValueError):
    """A topic that cannot name a map (empty once cleaned, or too long)."""


_WHITESPACE = re.compile(r"\s+")
# Invisible characters that stand between words as a space would: "Quantum\u200bPhysics"
# is "Quantum Physics". Other format characters are dropped outright.
_INVISIBLE_SPACES = str.maketrans(dict.fromkeys("\u200b\u2060\ufeff", " "))


def normalize_spaces(text: str) -> str:
    """NFKC, invisible characters dropped (or made spaces between words), spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE_SPACES)
    # Tabs and newlines are control characters too: make them spaces before dropping controls.
    text = _WHITESPACE.sub(" ", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in {"Cf", "Cc", "Co", "Cs"})
    return _WHITESPACE.sub(" ", text).strip()


def search_key(text: str) -> str:
    """What a half-typed topic is matched by: a topic key, but never an error ("" when empty)."""
    return normalize_spaces(text).casefold()


def clean_topic(text: str) -> str:
    """The topic as the user wrote it, minus invisible and control characters.

    NFKC folds full-width and compatibility forms; format characters (Cf:
    zero-width joiners, bidi overrides, soft hyphens) and controls are dropped,
    so a right-to-left override cannot reorder what other members see.
    """
    text = normalize_spaces(text)
    if not text:
        raise TopicError(N_("That topic is empty once invisible characters are removed."))
    if len(text) > TOPIC_MAX:
        raise TopicError(N_("Topics can be at most {count} characters long.", count=TOPIC_MAX))
    return text


def topic_key(text: str) -> str:
    """The normalized key under which a topic's map is stored and found.

    "Quantum  Physics", "quantum physics" and "Ｑｕａｎｔｕｍ Physics" share one key.
    """
    return clean_topic(text).casefold()


class ChildState(enum.StrEnum):
    """Whether a concept's sub-concepts are known."""

    UNEXPANDED = "unexpanded"
    PENDING = "pending"
    EXPANDED = "expanded"
    LEAF = "leaf"

    @property
    def settled(self) -> bool:
        """The sub-concepts are known (stored, or known to be none)."""
        return self in (ChildState.EXPANDED, ChildState.LEAF)


class Level(enum.StrEnum):
    """Who a server's new maps are written for."""

    INTRO = "intro"
    STANDARD = "standard"
    EXPERT = "expert"


class Source(enum.StrEnum):
    BUNDLED = "bundled"
    GENERATED = "generated"


class ConceptDraft(BaseModel):
    """One concept's text, as written in a map file or returned by the model, and what it
    rests on: a curated file's ``sources``, or the web search results the API returned
    that the model named as supporting it (never a URL the model wrote)."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    summary: Summary
    detail: Detail
    sources: list[Citation] = Field(default_factory=list)


class BundledConcept(ConceptDraft):
    """A concept in a bundled map file: optionally with its sub-concepts and sources."""

    children: list[BundledConcept] | None = Field(
        default=None, min_length=CHILDREN_MIN, max_length=CHILDREN_MAX
    )
    leaf: bool = False


class TreeConcept(BundledConcept):
    """A concept as an export carries it: what is stored, however many sub-concepts an
    older version stored (the limits are for writing maps, not for reading them back).
    A ``BundledConcept`` is read as one by its attributes. Its sources, and who wrote it
    when (``model`` and ``written`` are None for a curated concept)."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    children: list[TreeConcept] | None = None
    model: str | None = None
    written: str | None = None  # ISO date


class MapDraft(BaseModel):
    """What the *map* generation returns: an overview and the key concepts.

    ``title`` is the topic's canonical title ("Interest Rates" for "intrest
    rats"); None keeps the topic as the member typed it.
    """

    model_config = ConfigDict(extra="forbid")

    title: TopicTitle | None = None
    overview: Overview
    concepts: list[ConceptDraft] = Field(min_length=KEY_CONCEPTS_MIN, max_length=KEY_CONCEPTS_MAX)
    sources: list[Citation] = Field(default_factory=list)  # what the overview rests on
    # The topic's facts change (prices, office holders, ongoing events): its generated
    # concepts can be refreshed once they are old.
    volatile: bool = False


class Expansion(BaseModel):
    """What the *expand* generation returns: sub-concepts, or a leaf."""

    model_config = ConfigDict(extra="forbid")

    leaf: bool = False
    # validate_default: an answer that leaves out "concepts" must still be a leaf to pass.
    concepts: list[ConceptDraft] = Field(
        default_factory=list, max_length=CHILDREN_MAX, validate_default=True
    )

    @field_validator("concepts")
    @classmethod
    def _enough_unless_leaf(cls, concepts: list[ConceptDraft], info) -> list[ConceptDraft]:
        if not info.data.get("leaf") and len(concepts) < CHILDREN_MIN:
            raise ValueError(f"give {CHILDREN_MIN} to {CHILDREN_MAX} sub-concepts, or mark a leaf")
        return concepts


class Meaning(BaseModel):
    """One meaning of an ambiguous topic: a qualified title and one line that tells it apart."""

    model_config = ConfigDict(extra="forbid")

    title: TopicTitle  # "Mercury (planet)"
    line: Summary


class StoredMeaning(BaseModel):
    """A meaning stored for a scope's typed topic; its id is what its button carries."""

    id: int
    scope: int
    key: str  # the typed topic's key
    topic: str  # the topic as typed
    title: str
    line: str

    @property
    def qualified(self) -> str:
        """The topic this meaning is mapped under: its title when that already names the
        typed topic ("Mercury (planet)"), else the typed topic with the title in brackets
        (the title alone when that would be longer than a topic may be)."""
        qualified = f"{self.topic} ({self.title})"
        if topic_key(self.title).startswith(self.key) or len(qualified) > TOPIC_MAX:
            return self.title
        return qualified


class StoredRetry(BaseModel):
    """The request behind the Retry of a new topic whose map failed; its id is what the
    button carries."""

    id: int
    scope: int
    topic: str  # the topic to map, as typed (or the chosen meaning's qualified topic)
    meaning_id: int | None = None  # the chosen meaning it came from, whose alias to record


_AS_OF = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")


class BundledMap(BaseModel):
    """One file in maps/: a curated map, at most two levels deep."""

    model_config = ConfigDict(extra="forbid")

    topic: TopicTitle
    aliases: list[str] = Field(default_factory=list)
    language: str = LANGUAGE_DEFAULT
    # When the map's facts were last checked, "YYYY-MM" or "YYYY-MM-DD", shown on its cards.
    as_of: str | None = None
    # Facts that change (prices, rates, office holders): the linter then requires as_of.
    volatile: bool = False
    overview: Overview
    concepts: list[BundledConcept] = Field(min_length=KEY_CONCEPTS_MIN, max_length=KEY_CONCEPTS_MAX)
    sources: list[Citation] = Field(default_factory=list)  # what the overview rests on

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of_date(cls, value: Any) -> Any:
        if isinstance(value, str) and _AS_OF.fullmatch(value.strip()) is None:
            raise ValueError("write a date as YYYY-MM or YYYY-MM-DD")
        return iso_date(value)

    # The file it was loaded from (``maps/interest-rates.yaml``), for provenance; and its
    # concepts by their path of title keys, built on first use.
    _file: str | None = PrivateAttr(default=None)
    _by_path: dict[tuple[str, ...], BundledConcept] | None = PrivateAttr(default=None)

    @property
    def key(self) -> str:
        return topic_key(self.topic)

    @property
    def alias_keys(self) -> list[str]:
        return [topic_key(alias) for alias in self.aliases]

    @property
    def file(self) -> str | None:
        return self._file

    def loaded_from(self, file: str) -> None:
        self._file = file

    def concept_at(self, titles: Sequence[str]) -> BundledConcept | None:
        """The file's concept at this path of titles (key concept first), or None: a
        server's stored copy finds its curated concepts, and their sources, by their place."""
        if self._by_path is None:
            found: dict[tuple[str, ...], BundledConcept] = {}

            def down(concepts: list[BundledConcept], above: tuple[str, ...]) -> None:
                for concept in concepts:
                    path = (*above, search_key(concept.title))
                    found.setdefault(path, concept)
                    down(concept.children or [], path)

            down(self.concepts, ())
            self._by_path = found
        return self._by_path.get(tuple(search_key(title) for title in titles))


# What one web search counts against a server's daily token budget: Anthropic charges
# $10 per 1,000 searches (as of December 2026), $0.01 a search, what 3,334 input tokens of
# Claude Sonnet 4.6 cost at $3 per million. The results it returns are billed as input
# tokens besides, and counted as such.
SEARCH_TOKENS = 3_334


class Usage(BaseModel):
    """Token usage of one generation call, and the web searches it ran."""

    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    web_searches: int = 0

    @property
    def tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )

    @property
    def total(self) -> int:
        """Its tokens and its searches at their price in tokens: what it counts against
        the daily budget."""
        return self.tokens + self.web_searches * SEARCH_TOKENS


class ConceptMap(BaseModel):
    """A map as stored for one scope. Frozen: the one read is shared by every card that
    shows it (``bot.explore.cache``)."""

    model_config = ConfigDict(frozen=True)

    id: int
    scope: int
    topic: str
    key: str
    language: str
    overview: str
    source: Source
    model: str | None = None
    level: Level = Level.STANDARD  # who it was written for
    opened: int = 0  # concepts opened at least once
    total: int = 0  # concepts known in the map
    created_at: float | None = None
    # A generated map's: the search results its overview rests on, and whether its facts
    # change (a curated map's come from its file).
    sources: tuple[Citation, ...] = ()
    volatile: bool = False
    # A map of a member's own material (a file or a page), or None.
    material: MaterialKind | None = None

    @field_validator("sources", mode="before")
    @classmethod
    def _stored_sources(cls, value: Any) -> Any:
        return stored_citations(value)

    explorers: int = 0  # members who opened at least one of its concepts


class Concept(BaseModel):
    """A concept as stored: its place in the tree and the state of its children. Frozen,
    like ``ConceptMap``."""

    model_config = ConfigDict(frozen=True)

    id: int
    map_id: int
    parent_id: int | None
    position: int
    depth: int  # 1 for a key concept
    title: str
    summary: str
    detail: str
    state: ChildState
    error: str | None = None
    opened: bool = False  # opened at least once in its scope
    # Who wrote it and when: None for a curated concept (its file says where its facts
    # come from), or one stored before provenance was recorded.
    model: str | None = None
    created_at: float | None = None
    # The web search results a generated concept rests on (a curated one's are in its file).
    sources: tuple[Citation, ...] = ()

    @field_validator("sources", mode="before")
    @classmethod
    def _stored_sources(cls, value: Any) -> Any:
        return stored_citations(value)


class Session(BaseModel):
    """Where one user stands on one message: the current card and how they got there."""

    message_id: int
    owner_id: int
    scope: int
    map_id: int
    concept_id: int | None  # None: the map's overview card
    history: list[int | None] = Field(default_factory=list)


QUESTION_MIN, QUESTION_MAX = 3, 300  # the Ask form's limits
# Ending punctuation does not change a question: "Why?" and "why" are one question.
_QUESTION_END = " ?!.…？！。¿¡"


def clean_question(text: str) -> str:
    """A reader's question on one line, minus invisible and control characters."""
    return normalize_spaces(text)


def question_key(text: str) -> str:
    """The normalized question under which an answer is stored and found again."""
    return clean_question(text).casefold().strip(_QUESTION_END)


class Answer(BaseModel):
    """A stored answer to a question about a concept (or, with no concept, about the map)."""

    id: int
    scope: int
    map_id: int
    concept_id: int | None
    question: str
    text: str
    model: str
    # The web search results the answer cited (as the API returned them).
    sources: tuple[Citation, ...] = ()

    @field_validator("sources", mode="before")
    @classmethod
    def _stored_sources(cls, value: Any) -> Any:
        return stored_citations(value)


class MapTree(BaseModel):
    """A whole map with every concept known so far: what an export carries.

    Its JSON is the JSON export, and reads back into this model unchanged. A
    concept's ``children`` is None while they are not known (or it is a leaf).
    """

    model_config = ConfigDict(extra="forbid")

    topic: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TOPIC_MAX)
    ]
    language: str = LANGUAGE_DEFAULT
    source: Source
    model: str | None = None  # the model that generated the map; None for a curated one
    as_of: str | None = None  # a curated map's date, when its facts were last checked
    written: str | None = None  # a generated map's date (ISO), when it was written
    overview: Overview
    sources: list[Citation] = Field(default_factory=list)  # what the overview rests on
    # As many as are stored: an older version's map may have more than maps have now.
    concepts: list[TreeConcept] = Field(min_length=1)

    @classmethod
    def of_bundled(cls, bundled: BundledMap) -> MapTree:
        return cls(
            topic=bundled.topic,
            language=bundled.language,
            source=Source.BUNDLED,
            as_of=bundled.as_of,
            overview=bundled.overview,
            sources=bundled.sources,
            concepts=bundled.concepts,  # type: ignore[arg-type]  # read by their attributes
        )

    def walk(self) -> Iterator[tuple[int, TreeConcept]]:
        """Every concept with its depth (1 for a key concept), parents before children."""

        def down(concepts: list[TreeConcept], depth: int) -> Iterator[tuple[int, TreeConcept]]:
            for concept in concepts:
                yield depth, concept
                yield from down(concept.children or [], depth + 1)

        return down(self.concepts, 1)


# -- learning together: quizzes and review decks -------------------------------------------

QUIZ_PROMPT_MAX = 300  # one question, read on a card
QUIZ_OPTION_MAX = 80  # an answer is a button label
QUIZ_OPTIONS_MIN, QUIZ_OPTIONS_MAX = 3, 5  # one row of buttons at most
QUIZ_EXPLANATION_MAX = 300  # one sentence of why

QuizPrompt = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=QUIZ_PROMPT_MAX)
]
QuizOption = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=QUIZ_OPTION_MAX)
]
QuizExplanation = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=QUIZ_EXPLANATION_MAX)
]


class QuizDraft(BaseModel):
    """One multiple-choice question about a concept: built from the map's own text, or
    written by Claude. ``correct`` is the index of the right option."""

    model_config = ConfigDict(extra="forbid")

    prompt: QuizPrompt
    options: list[QuizOption] = Field(min_length=QUIZ_OPTIONS_MIN, max_length=QUIZ_OPTIONS_MAX)
    correct: int = Field(ge=0, lt=QUIZ_OPTIONS_MAX)
    explanation: QuizExplanation

    @field_validator("correct")
    @classmethod
    def _among_options(cls, correct: int, info) -> int:
        options = info.data.get("options") or []
        if correct >= len(options):
            raise ValueError("correct must be the index of one of the options")
        return correct

    @field_validator("options")
    @classmethod
    def _distinct(cls, options: list[str]) -> list[str]:
        if len({option.casefold() for option in options}) != len(options):
            raise ValueError("the options must differ from each other")
        return options


class QuestionState(enum.StrEnum):
    WAITING = "waiting"  # not posted yet
    OPEN = "open"  # on its card, taking answers until its deadline
    CLOSED = "closed"  # revealed


class QuizQuestion(BaseModel):
    """A question of a quiz round, as stored."""

    id: int
    quiz_id: int
    position: int  # from 1
    concept_id: int | None
    prompt: str
    options: list[str]
    correct: int
    explanation: str
    state: QuestionState
    message_id: int | None = None
    deadline: float | None = None


class Quiz(BaseModel):
    """A round of questions in one channel, started by one member."""

    id: int
    scope: int
    channel_id: int
    map_id: int
    concept_id: int | None
    starter_id: int
    seconds: int
    questions: int
    written_by: str | None = None  # the model that wrote its questions; None: the map's text


class ReviewCard(BaseModel):
    """A concept in a member's own review deck: its text as it was remembered, and its
    FSRS scheduling state (the ``fsrs`` package's card, as JSON)."""

    id: int
    user_id: int
    concept_id: int | None  # None once the concept's map was forgotten
    topic: str
    title: str
    prompt: str
    answer: str
    fsrs: str
    due: float
    added_at: float
