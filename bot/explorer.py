"""The explore core: maps, concepts, sessions and generation. No discord import.

A *scope* is a guild id, or a user id in DMs. Bundled maps serve every scope:
the first time a scope opens one it is copied into that scope's rows, so that
what the scope adds (opens, expansions) stays with it and never leaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from bot.config import Settings
from bot.errors import (
    Ambiguous,
    ChooseMeaning,
    GenerationError,
    KinapseError,
    LimitReached,
    NoGenerator,
    NotFound,
    Refused,
)
from bot.generator import (
    AskRequest,
    ExpandRequest,
    Generated,
    Generator,
    OnSketch,
    OutlineNode,
    Progress,
    Sketch,
)
from bot.maps import BundledMaps
from bot.models import (
    QUESTION_MAX,
    QUESTION_MIN,
    Answer,
    BundledConcept,
    ChildState,
    Concept,
    ConceptDraft,
    ConceptMap,
    Level,
    MapTree,
    Session,
    Source,
    StoredMeaning,
    StoredRetry,
    Usage,
    clean_question,
    clean_topic,
    question_key,
    search_key,
    topic_key,
)
from bot.render import MapPicture, Node, PictureCache, Renderer
from bot.storage import (
    FORGOTTEN_SCOPE,
    Limit,
    Limits,
    MapListing,
    OverLimit,
    Pruned,
    Reservation,
    ScopeSettings,
    Storage,
)
from bot.text import shorten

log = logging.getLogger(__name__)

T = TypeVar("T")
K = TypeVar("K")
R = TypeVar("R")

DAY = 86_400.0
USAGE_KEPT_DAYS = 396  # 13 months: /kinapse usage shows this month, a year on is compared
REFUSAL_MEMORY = 3600.0  # seconds a refused topic is answered from memory
# Tokens a generation counts against its server's daily budget while it runs: the
# output limit of one call (generator.MAX_TOKENS, 4,096) plus about 1,000 of prompt.
# The real usage replaces it when the generation ends.
RESERVED_TOKENS = 5_000
# How long a generation waits its turn for a model call slot before giving up:
# well inside Discord's 15-minute window, leaving room for the call itself.
QUEUE_PATIENCE = 600.0
# A reservation outlives its generation by this much at the longest (see
# _reservation_lifetime), so only a process killed mid-generation leaves one to expire.
RESERVATION_SLACK = 60.0
UNRECORDED_MAX = 1_000  # usage kept in memory while the database cannot take it
QUEUE_FULL = "Too many maps are being generated right now; please try again in a few minutes."
LEASE_SLACK = 30.0  # a pending expansion's lease outlives the generation deadline by this
AVAILABLE_TOPICS_SHOWN = 10
AUTOCOMPLETE_MAX = 25  # Discord's limit on autocomplete choices
MAPS_PER_PAGE = 10  # /maps: a section and a button each, well within a message's 40 components
CHOICE_NAME_MAX = 100  # Discord's limit on a choice's name
WHICH_MEANING = "*{topic}* has several meanings; choose the one you mean."
RETRY_EXPIRED = "That retry has expired; run /explore again."
# Words too common to make two topics alike ("History of Rome", "Theory of Mind").
LINKING_WORDS = frozenset({"a", "an", "and", "the", "of", "in", "on", "for", "to", "with", "vs"})

Clock = Callable[[], float]
NO_KEY = "ANTHROPIC_API_KEY is not set"


@dataclass(frozen=True)
class MapView:
    """A map's overview card: the map and its key concepts."""

    map: ConceptMap
    concepts: list[Concept]
    as_of: str | None = None  # a curated map's date, from its bundled file
    can_ask: bool = True  # questions can be answered (the bot has an API key)
    generation_off: str = NO_KEY  # why not, when it cannot: the end of a sentence


@dataclass(frozen=True)
class ConceptView:
    """A concept's card: where it sits, and its sub-concepts."""

    map: ConceptMap
    path: list[Concept]  # from the key concept down; the concept itself last
    children: list[Concept]
    as_of: str | None = None  # a curated map's date, from its bundled file
    can_ask: bool = True
    generation_off: str = NO_KEY

    @property
    def concept(self) -> Concept:
        return self.path[-1]


View = MapView | ConceptView


@dataclass(frozen=True)
class MapsPage:
    """A page of /maps: the scope's maps most explored first, then the curated maps it has
    not opened yet, alphabetically."""

    listings: list[MapListing]
    number: int  # from 0
    count: int  # pages in all, at least 1


OnQueued = Callable[[], Awaitable[None]]


@dataclass(eq=False)
class Flight(Generic[R]):
    """One generation under way and the members waiting for it."""

    task: asyncio.Task[R] = field(init=False)
    queued: bool = False  # waiting for a slot
    started: bool = False  # holds a slot (or needs none any more)
    waiters: int = 0
    listeners: list[OnQueued] = field(default_factory=list)  # told when it queues
    # Everyone waiting who wants to see the answer grow, and what it says so far.
    watchers: list[OnSketch] = field(default_factory=list)
    sketch: Sketch | None = None
    # Its count against the limits, in storage until the generation's usage settles it.
    reservation: Reservation | None = None

    async def tell_queued(self) -> None:
        self.queued = True
        for listener in list(self.listeners):
            await _courtesy(listener)

    def report(self, sketch: Sketch) -> None:
        """Pass a new sketch of the answer to every watcher; one that fails is dropped."""
        self.sketch = sketch
        for watcher in list(self.watchers):
            try:
                watcher(sketch)
            except Exception:
                log.warning("A watcher of a streaming generation failed", exc_info=True)
                self.watchers.remove(watcher)


async def _courtesy(listener: OnQueued) -> None:
    try:
        await listener()
    except Exception:
        # Telling the member is a courtesy; the generation goes on regardless.
        log.warning("Could not show that a generation is queued", exc_info=True)


@dataclass(frozen=True)
class Spent:
    """One generation's usage, waiting to be recorded."""

    scope: int
    user_id: int
    request: str
    kind: str
    usage: list[Usage]
    when: float
    reservation: Reservation | None = None  # deleted in the transaction that records it

    @property
    def tokens(self) -> int:
        return sum(u.total for u in self.usage)

    def unreserved(self, now: float) -> int:
        """Its tokens that storage counts nowhere yet: beyond its reservation while it lives."""
        held = self.reservation.held(now) if self.reservation else 0
        return max(self.tokens - held, 0)


class Slots:
    """At most ``limit`` model calls at once; the others wait in the order they came."""

    def __init__(self, limit: int) -> None:
        self._free = limit
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @asynccontextmanager
    async def held(self, flight: Flight | None) -> AsyncIterator[None]:
        if self._free > 0 and not self._waiting:
            self._free -= 1
        else:
            turn = asyncio.get_running_loop().create_future()
            self._waiting.append(turn)
            try:
                async with asyncio.timeout(QUEUE_PATIENCE):
                    if flight is not None:
                        await flight.tell_queued()
                    await turn
            except BaseException as exc:
                if turn.done() and not turn.cancelled():
                    self._release()  # handed a slot in the same instant it gave up
                else:
                    with contextlib.suppress(ValueError):
                        self._waiting.remove(turn)
                if isinstance(exc, TimeoutError):
                    raise GenerationError(QUEUE_FULL) from None
                raise
        if flight is not None:
            flight.started = True
            flight.queued = False
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot passes straight to the next in line
                return
        self._free += 1


@dataclass(frozen=True)
class MapRef:
    """A map a button can open: one stored for the scope, or a bundled one it has not opened
    (which has no row yet, so its button carries ``bundled_number``)."""

    topic: str
    map_id: int | None = None
    bundled: int | None = None


@dataclass(frozen=True)
class AnswerView:
    """An answer and the card it answers: a concept, or the map's overview."""

    answer: Answer
    map: ConceptMap
    concept: Concept | None

    @property
    def subject(self) -> str:
        """What the question was about: the concept's title, or the topic."""
        return self.concept.title if self.concept is not None else self.map.topic


class Explorer:
    def __init__(
        self,
        storage: Storage,
        bundled: BundledMaps,
        settings: Settings,
        generator: Generator | None = None,
        *,
        clock: Clock = time.time,
        generation_off: str = NO_KEY,
    ) -> None:
        self.storage = storage
        self.bundled = bundled
        self.settings = settings
        self.generator = generator
        # Why there is no generator, as the end of a sentence members read.
        self.generation_off = generation_off
        self.clock = clock
        # Single flight: one generation per concept (ids are unique across scopes)
        # and per (scope, topic key). Entries leave when their task ends.
        self._expansions: dict[int, Flight[None]] = {}
        self._map_flights: dict[tuple[int, str], Flight[ConceptMap]] = {}
        # and per (map, concept or 0 for the overview, normalized question).
        self._asks: dict[tuple[int, int, str], Flight[AnswerView]] = {}
        self.slots = Slots(settings.max_concurrent_generations)
        # Storage checks the limits and reserves a generation's place in one step, across
        # processes; this lock makes looking for a flight to join and starting a new one
        # one step too, so a request joins its twin's flight instead of reserving again.
        self._starting = asyncio.Lock()
        # Releases of reservations whose generation was cancelled before it ever ran.
        self._late_releases: set[asyncio.Task[None]] = set()
        # Usage the database could not take yet (locked, full), oldest first.
        self._unrecorded: deque[Spent] = deque(maxlen=UNRECORDED_MAX)
        # Map pictures, drawn in a subprocess and kept by map version (see map_picture).
        self.renderer = Renderer()
        self.pictures = PictureCache()
        # Deleting forgotten maps' rows, after they left their scope (see ``forget``).
        self._purging: asyncio.Task[None] | None = None
        self._purge_again = False

    # -- maps -----------------------------------------------------------------

    def map_picture(
        self, concept_map: ConceptMap, highlight: int | None = None
    ) -> asyncio.Future[MapPicture]:
        """The picture of everything stored of the map, ``highlight`` (None: the topic)
        and its path marked; one render per version, however many ask at once.

        A map only grows (concepts are added, and opened ones stay opened), so the
        counts of stored and opened concepts name its version.
        """
        key = (concept_map.id, concept_map.total, concept_map.opened, highlight)

        async def draw() -> MapPicture:
            concepts = await self.storage.map_concepts(concept_map.id)
            opened = await self.storage.opened_ids(concept_map.id)
            nodes = [Node(c.id, c.parent_id, c.title, c.id in opened) for c in concepts]
            return await self.renderer.draw(concept_map.topic, nodes, highlight)

        return self.pictures.get(key, draw, family=(concept_map.id, highlight))

    def earlier_picture(
        self, concept_map: ConceptMap, highlight: int | None = None
    ) -> MapPicture | None:
        """The last picture drawn of the map with ``highlight``, of whatever version."""
        return self.pictures.newest((concept_map.id, highlight))

    async def language(self, scope: int) -> str:
        stored = await self.storage.scope_settings(scope)
        return stored.language or self.settings.default_language

    async def level(self, scope: int) -> Level:
        """Who the scope's new maps are written for."""
        stored = await self.storage.scope_settings(scope)
        return stored.level or Level.STANDARD

    async def lookup(self, scope: int, topic: str) -> ConceptMap | None:
        """The scope's map for ``topic`` (stored or bundled), or None if it has to be generated.

        Raises ``TopicError`` for a topic that is empty once cleaned, and ``ChooseMeaning``
        for a topic whose meanings are stored: the member is asked again, with no model call.
        """
        stored = await self.find_stored(scope, topic, aliases=False)
        if stored is not None:
            return stored
        bundled = self.bundled.find(topic_key(topic))
        if bundled is None:
            await self._ask_meaning(scope, topic)
            # A misspelling mapped before, under its canonical title ("intrest rats").
            if (canonical := await self.storage.alias_of(scope, topic_key(topic))) is not None:
                return await self.storage.find_map(scope, canonical)
            return None
        return await self.storage.create_map(
            scope=scope,
            key=bundled.key,
            topic=bundled.topic,
            language=bundled.language,
            overview=bundled.overview,
            source=Source.BUNDLED,
            model=None,
            concepts=bundled.concepts,
            now=self.clock(),
        )

    async def find_stored(
        self, scope: int, topic: str, *, aliases: bool = True
    ) -> ConceptMap | None:
        """The scope's stored map for ``topic``, found by its key or a bundled alias, and
        with ``aliases`` by the meaning chosen for the typed topic in the scope."""
        key = topic_key(topic)
        stored = await self.storage.find_map(scope, key)
        if stored is None and (bundled := self.bundled.find(key)) is not None:
            stored = await self.storage.find_map(scope, bundled.key)
        if stored is None and aliases and (chosen := await self.storage.alias_of(scope, key)):
            stored = await self.storage.find_map(scope, chosen)
        return stored

    async def _ask_meaning(self, scope: int, topic: str) -> None:
        """Raise ``ChooseMeaning`` if the meanings of ``topic`` are stored for the scope."""
        choices = await self.storage.meanings(scope, topic_key(topic))
        if choices:
            raise ChooseMeaning(WHICH_MEANING.format(topic=topic), choices[0].topic, choices)

    async def meaning(self, scope: int, meaning_id: int) -> StoredMeaning:
        """A stored meaning of the scope (its button carries only the id)."""
        meaning = await self.storage.get_meaning(meaning_id)
        if meaning is None or meaning.scope != scope:
            raise NotFound("That choice is no longer stored; run /explore again.")
        return meaning

    async def choose_meaning(
        self,
        scope: int,
        user_id: int,
        meaning_id: int,
        *,
        on_queued: OnQueued | None = None,
        on_progress: OnSketch | None = None,
    ) -> ConceptMap:
        """The map of the chosen meaning under its qualified topic ("Mercury (planet)"),
        generated unless it exists; the typed topic becomes its alias in the scope."""
        meaning = await self.meaning(scope, meaning_id)
        concept_map = await self.lookup(scope, meaning.qualified)
        if concept_map is None:
            concept_map = await self.generate_map(
                scope,
                user_id,
                meaning.qualified,
                on_queued=on_queued,
                on_progress=on_progress,
            )
        await self.storage.save_alias(scope, meaning.key, concept_map.key)
        return concept_map

    async def remember_retry(
        self, scope: int, topic: str, *, meaning_id: int | None = None
    ) -> StoredRetry:
        """Store the request behind the Retry of a new topic whose map failed (``topic``,
        or with ``meaning_id`` the chosen meaning it was qualified from)."""
        return await self.storage.save_retry(scope, topic, meaning_id=meaning_id, now=self.clock())

    async def retry(self, scope: int, retry_id: int) -> StoredRetry:
        """A stored retry of the scope (its button carries only the id); pruned, never
        stored, or another scope's: the member is told to run /explore again."""
        retry = await self.storage.get_retry(retry_id)
        if retry is None or retry.scope != scope:
            raise NotFound(RETRY_EXPIRED)
        return retry

    async def check_can_generate(self, scope: int, user_id: int, topic: str) -> None:
        """Raise what stands in the way of generating a new map, before anyone waits."""
        await self._check_topic(scope, topic)
        if (scope, topic_key(topic)) not in self._map_flights:
            await self._check_limits(scope, user_id)

    async def _check_topic(self, scope: int, topic: str) -> None:
        if self.generator is None:
            available = self.available_topics(AVAILABLE_TOPICS_SHOWN)
            raise NoGenerator(f"New topics need Claude, and {self.generation_off}.", available)
        await self._check_refusal(scope, f"map:{topic_key(topic)}")

    async def generate_map(
        self,
        scope: int,
        user_id: int,
        topic: str,
        *,
        on_queued: OnQueued | None = None,
        on_progress: OnSketch | None = None,
    ) -> ConceptMap:
        """Generate and store the map of a new topic; everyone asking at once shares one call.

        ``on_queued`` is awaited once if the generation has to wait for a free slot;
        ``on_progress`` gets each new sketch of the map as it streams (nothing of it is
        stored: only the validated whole is).
        """
        topic = clean_topic(topic)
        flight_key = (scope, topic_key(topic))
        flight = self._map_flights.get(flight_key)
        if flight is None:
            async with self._starting:
                await self._check_topic(scope, topic)
                flight = self._map_flights.get(flight_key) or self._take_off(
                    self._map_flights,
                    flight_key,
                    await self._reserve(scope, user_id),
                    lambda flight: self._generate_map(scope, user_id, topic, flight),
                )
        return await self._follow(flight, on_queued, on_progress)

    async def _generate_map(
        self, scope: int, user_id: int, topic: str, flight: Flight
    ) -> ConceptMap:
        assert self.generator is not None
        key = topic_key(topic)
        # Someone may have generated it between their /explore and this one.
        existing = await self.storage.find_map(scope, key)
        if existing is not None:
            return existing
        # Its meanings may have been stored since: they are asked again, not the model.
        await self._ask_meaning(scope, topic)
        language = await self.language(scope)
        level = await self.level(scope)
        try:
            result = await self._call(
                scope,
                user_id,
                "map",
                f"map:{key}",
                lambda: self.generator.generate_map(  # type: ignore[union-attr]
                    topic, language, level=level, on_progress=flight.report
                ),
                flight,
            )
        except Ambiguous as ambiguous:
            choices = await self.storage.save_meanings(scope, key, topic, ambiguous.meanings)
            message = WHICH_MEANING.format(topic=topic)
            raise ChooseMeaning(message, topic, choices) from ambiguous
        # The canonical title ("Interest Rates" for "intrest rats") names the map, and
        # the text as typed becomes an alias of it in the scope.
        title = result.value.title or topic
        canonical = topic_key(title)
        if canonical != key:
            known = await self.find_stored(scope, title, aliases=False)
            if known is None and self.bundled.find(canonical) is not None:
                known = await self.lookup(scope, title)  # the curated map, not a second one
            if known is not None:
                await self.storage.save_alias(scope, key, known.key)
                return known
        created = await self.storage.create_map(
            scope=scope,
            key=canonical,
            topic=title,
            language=language,
            overview=result.value.overview,
            source=Source.GENERATED,
            model=self.generator.model,
            concepts=result.value.concepts,
            now=self.clock(),
            level=level,
        )
        if canonical != key:
            await self.storage.save_alias(scope, key, canonical)
        return created

    async def map_view(self, map_id: int, scope: int | None = None) -> MapView:
        """The map's overview card; with ``scope``, only if the map belongs to that scope."""
        concept_map = await self.storage.get_map(map_id)
        if concept_map is None:
            raise NotFound("This map no longer exists; run /explore again.")
        _check_scope(concept_map, scope)
        return await self.view_of_map(concept_map)

    async def view_of_map(self, concept_map: ConceptMap) -> MapView:
        """The overview card of a map just read."""
        concepts = await self.storage.key_concepts(concept_map.id)
        can_ask = self.generator is not None
        return MapView(
            concept_map, concepts, self._as_of(concept_map), can_ask, self.generation_off
        )

    async def map_tree(self, scope: int, topic: str) -> MapTree | None:
        """Everything the scope has explored of ``topic``'s map, for an export.

        A bundled map the scope has not opened exports as shipped, without
        copying it into the scope.
        """
        stored = await self.find_stored(scope, topic)
        if stored is not None:
            return await self.tree_of(stored)
        bundled = self.bundled.find(topic_key(topic))
        return MapTree.of_bundled(bundled) if bundled is not None else None

    async def tree_of(self, concept_map: ConceptMap) -> MapTree:
        """A stored map with every concept stored at every depth, and its curated date."""
        tree = await stored_tree(self.storage, concept_map)
        return tree.model_copy(update={"as_of": self._as_of(concept_map)})

    async def maps_page(self, scope: int, page: int) -> MapsPage:
        """Page ``page`` (from 0) of /maps; past the end (an old button, maps forgotten
        since), the last page.

        Storage reads the page's own rows and a count, so a server with 10,000 maps
        costs what one with 10 does; the curated maps fill the pages after its own.
        """
        stored = await self.storage.count_maps(scope)
        unopened = await self._unopened_bundled(scope)
        count = max(1, -(-(stored + len(unopened)) // MAPS_PER_PAGE))
        number = min(max(page, 0), count - 1)
        offset = number * MAPS_PER_PAGE
        listings: list[MapListing] = []
        if offset < stored:
            listings = await self.storage.list_maps(scope, MAPS_PER_PAGE, offset)
        start = max(0, offset - stored)
        listings += unopened[start : start + MAPS_PER_PAGE - len(listings)]
        return MapsPage(listings, number, count)

    async def _unopened_bundled(self, scope: int) -> list[MapListing]:
        """The curated maps with no map of their key in the scope, alphabetically."""
        stored = await self.storage.stored_keys(scope, [m.key for m in self.bundled.maps])
        unopened = [
            MapListing(m.topic, m.key, Source.BUNDLED, None, 0, _count_concepts(m.concepts))
            for m in self.bundled.maps
            if m.key not in stored
        ]
        return sorted(unopened, key=lambda m: m.topic.casefold())

    def available_topics(self, limit: int) -> list[str]:
        return [m.topic for m in self.bundled.maps[:limit]]

    async def autocomplete(self, scope: int, text: str) -> list[str]:
        """Topics for /explore: best matches first (prefix, then word prefix, then substring).

        Nothing typed yet: the topic chips (``chips``).
        """
        needle = search_key(text)
        if not needle:
            return await self.chips(scope)
        # The scope's best matches come ranked from storage: a server with 10,000 maps
        # costs what one with 10 does.
        stored = await self.storage.matching_topics(scope, needle, AUTOCOMPLETE_MAX)
        ranked = _rank_by_match(needle, self._with_bundled(stored))
        return [topic[:CHOICE_NAME_MAX] for topic in ranked[:AUTOCOMPLETE_MAX]]

    async def chips(self, scope: int) -> list[str]:
        """What to offer before anything is typed: the scope's most explored maps, then the
        bundled ones it has not opened."""
        listings = await self.storage.list_maps(scope, AUTOCOMPLETE_MAX)
        if len(listings) < AUTOCOMPLETE_MAX:  # the scope's own maps come first, as in /maps
            listings += await self._unopened_bundled(scope)
        return [listing.topic[:CHOICE_NAME_MAX] for listing in listings[:AUTOCOMPLETE_MAX]]

    async def nearest(self, scope: int, text: str, limit: int) -> list[MapRef]:
        """Maps to offer instead of a topic that cannot be generated now: those autocomplete
        would offer for ``text``, then those sharing a word with it, then the chips."""
        names = await self._names(scope)
        needle = search_key(text)
        topics = _rank_by_match(needle, names) if needle else []
        topics += _rank_by_shared_words(needle, names)
        topics += await self.chips(scope)
        chosen = list(dict.fromkeys(topics))[:limit]  # first occurrence wins, order kept
        return [ref for topic in chosen if (ref := await self.ref(scope, topic)) is not None]

    async def ref(self, scope: int, topic: str) -> MapRef | None:
        """What a button needs to open ``topic``'s map in ``scope``."""
        stored = await self.find_stored(scope, topic)
        if stored is not None:
            return MapRef(stored.topic, map_id=stored.id)
        bundled = self.bundled.find(search_key(topic))
        if bundled is None:
            return None
        return MapRef(bundled.topic, bundled=bundled_number(bundled.key))

    async def open_bundled(self, scope: int, number: int) -> ConceptMap:
        """The scope's copy of the bundled map ``bundled_number`` names, made on first use."""
        bundled = next((m for m in self.bundled.maps if bundled_number(m.key) == number), None)
        if bundled is None:
            raise NotFound("That curated map is no longer shipped; run /maps again.")
        concept_map = await self.lookup(scope, bundled.topic)
        assert concept_map is not None  # a bundled topic always has a map
        return concept_map

    async def _names(self, scope: int) -> dict[str, list[str]]:
        """Every topic the scope can open, with the keys that find it."""
        return self._with_bundled(await self.storage.topics(scope))

    def _with_bundled(self, stored: list[tuple[str, str]]) -> dict[str, list[str]]:
        """The bundled topics and ``stored`` (topic, key) pairs, each topic with its keys."""
        names: dict[str, list[str]] = {}
        for topic, keys in self.bundled.names():
            names.setdefault(topic, []).extend(keys)
        for topic, key in stored:
            names.setdefault(topic, []).append(key)
        return names

    # -- concepts -------------------------------------------------------------

    async def concept_view(self, concept_id: int, scope: int | None = None) -> ConceptView:
        """The concept's card; with ``scope``, only if the concept belongs to that scope."""
        path = await self.storage.path(concept_id)
        if not path:
            raise NotFound("This concept no longer exists; run /explore again.")
        concept_map = await self.storage.get_map(path[-1].map_id)
        if concept_map is None:
            raise NotFound("This map no longer exists; run /explore again.")
        _check_scope(concept_map, scope)
        children = await self.storage.children(concept_id)
        can_ask = self.generator is not None
        return ConceptView(
            concept_map, path, children, self._as_of(concept_map), can_ask, self.generation_off
        )

    def _as_of(self, concept_map: ConceptMap) -> str | None:
        # Looked up at render time, so a server's stored copy shows the date of the bundled
        # file it came from without a column of its own.
        if concept_map.source is not Source.BUNDLED:
            return None
        bundled = self.bundled.find(concept_map.key)
        return bundled.as_of if bundled is not None else None

    async def open_concept(self, concept_id: int, scope: int | None = None) -> ConceptView:
        """The concept's card, counting the visit toward how much of the map is explored."""
        view = await self.opening(concept_id, scope)
        await self.remember(None, opened=concept_id)
        return view

    async def opening(self, concept_id: int, scope: int | None = None) -> ConceptView:
        """The concept's card as it looks once this open is counted, read without writing:
        the answer goes out first, ``remember`` counts the open after it."""
        view = await self.concept_view(concept_id, scope)
        if view.concept.opened:
            return view
        counted = view.map.model_copy(update={"opened": view.map.opened + 1})
        return replace(view, map=counted)

    async def remember(self, session: Session | None, *, opened: int | None = None) -> None:
        """After an answer: save where the member stands and count the concept they opened,
        in one write transaction."""
        await self.storage.save_click(session, opened, now=self.clock())

    def needs_expansion(self, view: ConceptView) -> bool:
        return not view.concept.state.settled

    async def expand(
        self,
        scope: int,
        user_id: int,
        concept_id: int,
        *,
        on_queued: OnQueued | None = None,
        on_progress: OnSketch | None = None,
    ) -> ConceptView:
        """Make sure the concept's sub-concepts are known, generating them at most once at a time.

        Every caller waiting on the same concept gets the same result or the same error;
        ``on_queued`` is awaited once if the generation has to wait for a free slot.
        """
        flight = self._expansions.get(concept_id)
        if flight is None:
            concept = await self.storage.get_concept(concept_id)
            if concept is None:
                raise NotFound("This concept no longer exists; run /explore again.")
            if concept.state.settled:
                return await self.concept_view(concept_id)
            if self.generator is None:
                raise NoGenerator(
                    f"Sub-concepts need Claude, and {self.generation_off}.",
                    self.available_topics(AVAILABLE_TOPICS_SHOWN),
                )
            async with self._starting:
                flight = self._expansions.get(concept_id)
                if flight is None:
                    await self._check_refusal(scope, f"concept:{concept_id}")
                    flight = self._take_off(
                        self._expansions,
                        concept_id,
                        await self._reserve(scope, user_id),
                        lambda flight: self._expand(scope, user_id, concept, flight),
                    )
        await self._follow(flight, on_queued, on_progress)
        return await self.concept_view(concept_id)

    async def _expand(self, scope: int, user_id: int, concept: Concept, flight: Flight) -> None:
        assert self.generator is not None
        lease = self.settings.generation_deadline + LEASE_SLACK
        if not await self.storage.claim_expansion(concept.id, now=self.clock(), lease=lease):
            # Another process holds the lease: its result is ours too.
            fresh = await self.storage.wait_for_expansion(concept.id, lease)
            if fresh is not None and fresh.state.settled:
                return
            if fresh is not None and fresh.error:
                raise GenerationError(fresh.error)
            # Its lease ran out (the process died) or it gave up without a reason: take over.
            if not await self.storage.claim_expansion(concept.id, now=self.clock(), lease=lease):
                raise GenerationError(
                    "These sub-concepts are already being mapped; try again in a minute."
                )
        try:
            view = await self.concept_view(concept.id)
            siblings = await self._siblings(view)
            request = ExpandRequest(
                topic=view.map.topic,
                language=view.map.language,
                level=view.map.level,
                path=[
                    ConceptDraft(title=c.title, summary=c.summary, detail=c.detail)
                    for c in view.path
                ],
                siblings=[s.title for s in siblings if s.id != concept.id],
                outline=_outline(
                    await self.storage.map_concepts(view.map.id), {c.id for c in view.path}
                ),
            )
            result = await self._call(
                scope,
                user_id,
                "expand",
                f"concept:{concept.id}",
                lambda: self.generator.expand(  # type: ignore[union-attr]
                    request, on_progress=flight.report
                ),
                flight,
            )
        except BaseException as exc:
            error = exc.message if isinstance(exc, GenerationError) else None
            await asyncio.shield(self.storage.release_expansion(concept.id, error))
            raise
        await self.storage.store_expansion(
            concept.id, result.value.concepts, leaf=result.value.leaf
        )

    async def _siblings(self, view: ConceptView) -> list[Concept]:
        parent = view.concept.parent_id
        if parent is None:
            return await self.storage.key_concepts(view.map.id)
        return await self.storage.children(parent)

    # -- questions ------------------------------------------------------------

    async def ask(
        self,
        scope: int,
        user_id: int,
        question: str,
        *,
        concept_id: int | None = None,
        map_id: int | None = None,
        on_text: Progress | None = None,
        on_queued: OnQueued | None = None,
    ) -> AnswerView:
        """Answer a question about a concept's card, or with ``map_id`` the map's overview.

        The same question about the same card (normalized) is answered from storage
        without a model call; a new one counts like a generation (cooldown, budget,
        usage of kind ``ask``). ``on_text`` sees the answer as it is written;
        ``on_queued`` is awaited once if the answer has to wait for a free slot.
        """
        question = shorten(clean_question(question), QUESTION_MAX)  # the form enforces it
        if len(question) < QUESTION_MIN:
            raise KinapseError(f"Ask a question of at least {QUESTION_MIN} characters.")
        key = question_key(question)
        if concept_id is not None:
            view: View = await self.concept_view(concept_id, scope)
        elif map_id is not None:
            view = await self.map_view(map_id, scope)
        else:
            raise ValueError("ask needs a concept_id or a map_id")
        concept = view.concept if isinstance(view, ConceptView) else None
        stored = await self.storage.find_answer(view.map.id, concept_id, key)
        if stored is not None:
            return AnswerView(stored, view.map, concept)
        if self.generator is None:
            raise NoGenerator(f"Questions need Claude, and {self.generation_off}.", [])
        flight = (view.map.id, concept_id or 0, key)
        subject = f"ask:{view.map.id}:{concept_id or 0}:{key}"
        found = self._asks.get(flight)
        if found is None:
            async with self._starting:
                found = self._asks.get(flight)
                if found is None:
                    await self._check_refusal(scope, subject)
                    found = self._take_off(
                        self._asks,
                        flight,
                        await self._reserve(scope, user_id),
                        lambda own: self._answer(
                            scope, user_id, view, question, key, subject, on_text, own
                        ),
                    )
        return await self._follow(found, on_queued)

    async def _answer(
        self,
        scope: int,
        user_id: int,
        view: View,
        question: str,
        key: str,
        subject: str,
        on_text: Progress | None,
        flight: Flight,
    ) -> AnswerView:
        assert self.generator is not None
        if isinstance(view, ConceptView):
            concept: Concept | None = view.concept
            request = AskRequest(
                topic=view.map.topic,
                language=view.map.language,
                level=view.map.level,
                path=[c.title for c in view.path[:-1]],
                title=view.concept.title,
                summary=view.concept.summary,
                detail=view.concept.detail,
                subconcepts=[c.title for c in view.children],
                question=question,
            )
        else:
            concept = None
            request = AskRequest(
                topic=view.map.topic,
                language=view.map.language,
                level=view.map.level,
                path=[],
                title=view.map.topic,
                summary=view.map.overview,
                detail="(This is the overview card of the whole topic; its text is the summary.)",
                subconcepts=[c.title for c in view.concepts],
                question=question,
            )
        result = await self._call(
            scope,
            user_id,
            "ask",
            subject,
            lambda: self.generator.ask(request, on_text),  # type: ignore[union-attr]
            flight,
        )
        stored = await self.storage.save_answer(
            scope=scope,
            map_id=view.map.id,
            concept_id=concept.id if concept else None,
            question_key=key,
            question=question,
            text=result.value,
            model=self.generator.model,
            now=self.clock(),
        )
        return AnswerView(stored, view.map, concept)

    async def answer_view(self, answer_id: int, scope: int | None = None) -> AnswerView:
        """A stored answer; with ``scope``, only if it belongs to that scope."""
        answer = await self.storage.get_answer(answer_id)
        concept_map = await self.storage.get_map(answer.map_id) if answer else None
        if answer is None or concept_map is None:
            raise NotFound("This answer no longer exists; ask again from the card.")
        _check_scope(concept_map, scope)
        concept = None
        if answer.concept_id is not None:
            concept = await self.storage.get_concept(answer.concept_id)
        return AnswerView(answer, concept_map, concept)

    # -- generation limits ----------------------------------------------------

    async def _call(
        self,
        scope: int,
        user_id: int,
        kind: str,
        subject: str,
        call: Callable[[], Awaitable[Generated[T]]],
        flight: Flight | None = None,
    ) -> Generated[T]:
        """Run one generation in a free slot, recording its usage whatever the outcome.

        ``subject`` names what is generated ("map:<key>", "concept:<id>"); a
        refusal is remembered under it.
        """
        request = uuid.uuid4().hex
        try:
            async with self.slots.held(flight):
                started = time.monotonic()
                result = await call()
        except GenerationError as exc:
            log.info("Generation of %s failed in scope %s: %s", subject, scope, exc)
            await self._record(scope, user_id, request, kind, exc, flight)
            if isinstance(exc, Refused):
                until = self.clock() + REFUSAL_MEMORY
                await self.storage.remember_refusal(scope, subject, until)
            raise
        log.info(
            "Generated %s in scope %s: %.1f s, %d tokens in %d calls",
            subject,
            scope,
            time.monotonic() - started,
            sum(u.total for u in result.usage),
            len(result.usage),
        )
        await self._record(scope, user_id, request, kind, result, flight)
        return result

    async def _record(
        self,
        scope: int,
        user_id: int,
        request: str,
        kind: str,
        outcome: Generated | GenerationError,
        flight: Flight | None,
    ) -> None:
        """Record the tokens a generation spent, settling its reservation in the same
        transaction; both are kept (in memory, in storage) while the database can't."""
        if outcome.usage:
            reservation = flight.reservation if flight else None
            if flight is not None:
                flight.reservation = None  # the usage settles it from now on
            spent = Spent(scope, user_id, request, kind, outcome.usage, self.clock(), reservation)
            self._unrecorded.append(spent)
        await self.flush_usage()

    async def flush_usage(self) -> None:
        """Write the usage the database could not take before, oldest first."""
        while self._unrecorded:
            spent = self._unrecorded.popleft()
            try:
                # Shielded: once taken off the list, a cancelled caller still records it.
                await asyncio.shield(
                    self.storage.record_usage(
                        scope=spent.scope,
                        user_id=spent.user_id,
                        request=spent.request,
                        kind=spent.kind,
                        usage=spent.usage,
                        now=spent.when,
                        settles=spent.reservation.id if spent.reservation else None,
                    )
                )
            except Exception:
                self._unrecorded.appendleft(spent)
                log.warning(
                    "Usage of %d tokens in scope %s kept in memory: the database refused it",
                    spent.tokens,
                    spent.scope,
                    exc_info=True,
                )
                return

    def _unrecorded_tokens(self, scope: int, now: float) -> int:
        return sum(spent.unreserved(now) for spent in self._unrecorded if spent.scope == scope)

    async def _check_refusal(self, scope: int, key: str) -> None:
        until = await self.storage.refused_until(scope, key, self.clock())
        if until is not None:
            raise LimitReached(
                "Claude declined this request recently, so it won't be asked again yet.",
                datetime.fromtimestamp(until, UTC),
            )

    async def _limits(self, scope: int) -> Limits:
        now = self.clock()
        day_start = _day_start(now)
        return Limits(
            now=now,
            window=self.settings.cooldown_seconds,
            allowed=self.settings.cooldown_generations,
            budget=await self.daily_budget(scope),
            day_start=day_start.timestamp(),
            day_end=(day_start + timedelta(days=1)).timestamp(),
            unrecorded=self._unrecorded_tokens(scope, now),
        )

    async def _check_limits(self, scope: int, user_id: int) -> None:
        """Raise ``LimitReached`` if a new generation would exceed a limit (reads only)."""
        over = await self.storage.over_limit(scope, user_id, await self._limits(scope))
        if over is not None:
            raise self._limit_reached(over)

    async def _reserve(self, scope: int, user_id: int) -> Reservation:
        """Count a new generation against the limits, or raise ``LimitReached``."""
        limits = await self._limits(scope)
        reserved = await self.storage.reserve(
            scope,
            user_id,
            limits,
            tokens=RESERVED_TOKENS,
            expires_at=limits.now + self._reservation_lifetime(),
        )
        if isinstance(reserved, OverLimit):
            raise self._limit_reached(reserved)
        return reserved

    def _reservation_lifetime(self) -> float:
        """The longest a generation can run: a wait for another process's lease on the
        concept, then for a slot, then the call, each bounded (see ``_expand``)."""
        deadline = self.settings.generation_deadline
        return (deadline + LEASE_SLACK) + QUEUE_PATIENCE + deadline + RESERVATION_SLACK

    def _limit_reached(self, over: OverLimit) -> LimitReached:
        retry_at = datetime.fromtimestamp(over.retry_at, UTC)
        if over.limit is Limit.COOLDOWN:
            allowed, window = self.settings.cooldown_generations, self.settings.cooldown_seconds
            return LimitReached(
                f"You have started {allowed} new generations in the last "
                f"{_minutes(window)}; please wait a little.",
                retry_at,
            )
        return LimitReached(
            "This server has used today's generation budget; stored maps still work.", retry_at
        )

    def _take_off(
        self,
        flights: dict[K, Flight[R]],
        key: K,
        reservation: Reservation,
        work: Callable[[Flight[R]], Coroutine[Any, Any, R]],
    ) -> Flight[R]:
        """Start the one generation for ``key``; it leaves ``flights`` when it ends. It counts
        against the limits through ``reservation``, which its usage settles, or which is
        released when it ends without any."""
        flight: Flight[R] = Flight(reservation=reservation)
        flight.task = asyncio.create_task(self._fly(flight, work))
        flights[key] = flight

        def landed(task: asyncio.Task[R]) -> None:
            if flights.get(key) is flight:
                del flights[key]
            if flight.reservation is not None:
                # Cancelled before it ever ran, so _fly could not release it.
                release = asyncio.create_task(self._release(flight.reservation))
                self._late_releases.add(release)
                release.add_done_callback(self._late_releases.discard)
            if not task.cancelled() and (exc := task.exception()) is not None:
                # Retrieved here so a failure nobody waits for any more is not reported as lost.
                log.debug("Generation %s ended with %s", key, type(exc).__name__)

        flight.task.add_done_callback(landed)
        return flight

    async def _fly(
        self, flight: Flight[R], work: Callable[[Flight[R]], Coroutine[Any, Any, R]]
    ) -> R:
        try:
            return await work(flight)
        finally:
            reservation, flight.reservation = flight.reservation, None
            if reservation is not None:  # no usage settled it: nothing was spent
                # Shielded: a cancelled generation releases its place too.
                await asyncio.shield(self._release(reservation))

    async def _release(self, reservation: Reservation) -> None:
        try:
            await self.storage.release(reservation.id)
        except Exception:
            # It stops counting when it expires; the generation's own outcome matters more.
            log.warning("Could not release a reservation; it expires on its own", exc_info=True)

    async def _follow(
        self, flight: Flight[R], on_queued: OnQueued | None, on_progress: OnSketch | None = None
    ) -> R:
        """Wait for ``flight``'s result, telling ``on_queued`` if it waits for a slot and
        ``on_progress`` how the answer grows (from what it says already, for a late joiner).

        Shielded: a waiter that gives up never cancels a generation others wait for;
        when the last waiter gives up before it reached a slot, it leaves the queue.
        """
        flight.waiters += 1
        if on_queued is not None:
            flight.listeners.append(on_queued)
        if on_progress is not None:
            flight.watchers.append(on_progress)
            if flight.sketch is not None:
                on_progress(flight.sketch)
        try:
            if on_queued is not None and flight.queued:
                await _courtesy(on_queued)  # it queued before this waiter came
            return await asyncio.shield(flight.task)
        finally:
            if on_queued is not None:
                flight.listeners.remove(on_queued)
            flight.waiters -= 1
            if on_progress in flight.watchers:
                flight.watchers.remove(on_progress)
            if not flight.waiters and not flight.started and not flight.task.done():
                flight.task.cancel()

    async def daily_budget(self, scope: int) -> int:
        stored = await self.storage.scope_settings(scope)
        if stored.daily_token_budget is not None:
            return stored.daily_token_budget
        return self.settings.daily_token_budget

    async def update_settings(
        self,
        scope: int,
        *,
        language: str | None = None,
        budget: int | None = None,
        level: Level | None = None,
    ) -> ScopeSettings:
        current = await self.storage.scope_settings(scope)
        updated = ScopeSettings(
            language=language if language is not None else current.language,
            daily_token_budget=budget if budget is not None else current.daily_token_budget,
            level=level if level is not None else current.level,
        )
        await self.storage.save_scope_settings(scope, updated)
        return updated

    # -- upkeep ---------------------------------------------------------------

    async def forget(self, scope: int, key: str) -> bool:
        """Forget the scope's map ``key``: gone from the scope at once, whatever its size;
        its concepts and sessions are deleted in the background."""
        if not await self.storage.forget_map(scope, key):
            return False
        self._purge_again = True
        if self._purging is None or self._purging.done():
            self._purging = asyncio.create_task(self._purge())
        return True

    async def _purge(self) -> None:
        while self._purge_again:  # a map forgotten while purging is purged next
            self._purge_again = False
            try:
                purged = await self.storage.purge_forgotten()
            except Exception:
                log.exception("Deleting forgotten maps failed; the daily upkeep tries again")
                return
            log.info("Deleted %d forgotten maps", purged)

    async def prune(self) -> Pruned:
        """Forget sessions untouched for ``session_days``, expired refusals and reservations,
        old usage, and the retries of failed new topics once they are ``session_days`` old
        (like a session, a retry is what a message's button stands on)."""
        now = self.clock()
        kept_since = now - self.settings.session_days * DAY
        await self.storage.purge_forgotten()  # any a stopped process left
        pruned = await self.storage.prune(
            sessions_before=kept_since,
            now=now,
            usage_before=now - USAGE_KEPT_DAYS * DAY,
            retries_before=kept_since,
        )
        log.info(
            "Pruned %d sessions, %d refusals, %d usage rows, %d expired reservations"
            " and %d retries",
            pruned.sessions,
            pruned.refusals,
            pruned.usage,
            pruned.reservations,
            pruned.retries,
        )
        return pruned

    async def keep_tidy(self) -> None:
        """Prune now and then once a day, for as long as the bot runs."""
        while True:
            try:
                await self.prune()
            except Exception:
                # A busy or full database today is no reason to stop pruning tomorrow.
                log.exception("Pruning the database failed")
            await asyncio.sleep(DAY)

    # -- sessions -------------------------------------------------------------

    async def start_session(
        self,
        *,
        message_id: int,
        owner_id: int,
        scope: int,
        map_id: int,
        concept_id: int | None,
        history: list[int | None] | None = None,
    ) -> Session:
        session = Session(
            message_id=message_id,
            owner_id=owner_id,
            scope=scope,
            map_id=map_id,
            concept_id=concept_id,
            history=history or [],
        )
        await self.storage.save_session(session, now=self.clock())
        return session

    # Each move has a pure form (the session moved, nothing written: the answer goes out
    # first and ``remember`` saves it after) and a form that saves at once.

    def moved(self, session: Session, concept_id: int | None) -> Session:
        """The session moved to a card, remembering where it was for Back."""
        if concept_id == session.concept_id:
            return session
        return session.model_copy(
            update={"concept_id": concept_id, "history": [*session.history, session.concept_id]}
        )

    async def went_back(self, session: Session) -> Session:
        """The session back on the previous card; with no history, up."""
        if not session.history:
            return await self.went_up(session)
        return session.model_copy(
            update={"concept_id": session.history[-1], "history": session.history[:-1]}
        )

    async def went_up(self, session: Session) -> Session:
        """The session on the parent of its card (the overview above a key concept)."""
        if session.concept_id is None:
            return session
        concept = await self.storage.get_concept(session.concept_id)
        return self.moved(session, concept.parent_id if concept else None)

    async def go(self, session: Session, concept_id: int | None) -> Session:
        return await self._saved(session, self.moved(session, concept_id))

    async def back(self, session: Session) -> Session:
        return await self._saved(session, await self.went_back(session))

    async def up(self, session: Session) -> Session:
        return await self._saved(session, await self.went_up(session))

    async def _saved(self, before: Session, after: Session) -> Session:
        if after != before:
            await self.remember(after)
        return after

    async def view_of(self, session: Session) -> View:
        """The card the session stands on, within the session's scope."""
        if session.concept_id is None:
            return await self.map_view(session.map_id, session.scope)
        return await self.concept_view(session.concept_id, session.scope)


async def stored_tree(storage: Storage, concept_map: ConceptMap) -> MapTree:
    """A stored map with every concept stored at every depth."""

    async def down(concepts: list[Concept]) -> list[BundledConcept]:
        tree = []
        for concept in concepts:
            children = None
            if concept.state is ChildState.EXPANDED:
                children = await down(await storage.children(concept.id))
            tree.append(
                BundledConcept(
                    title=concept.title,
                    summary=concept.summary,
                    detail=concept.detail,
                    children=children,
                    leaf=concept.state is ChildState.LEAF,
                )
            )
        return tree

    return MapTree(
        topic=concept_map.topic,
        language=concept_map.language,
        source=concept_map.source,
        model=concept_map.model,
        overview=concept_map.overview,
        concepts=await down(await storage.key_concepts(concept_map.id)),
    )


def bundled_number(key: str) -> int:
    """A bundled map's number in custom_ids: stable across restarts and new map files
    (a position in the list would shift), and within ID_DIGITS (56 bits, 17 digits)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:7], "big")


def _rank_by_match(needle: str, names: dict[str, list[str]]) -> list[str]:
    """Topics whose keys start with ``needle``, then have a word that does, then contain it."""

    def rank(keys: list[str]) -> int | None:
        best: int | None = None
        for key in keys:
            if key.startswith(needle):
                score = 0
            elif any(word.startswith(needle) for word in key.split()):
                score = 1
            elif needle in key:
                score = 2
            else:
                continue
            best = score if best is None else min(best, score)
        return best

    ranked = [(score, topic) for topic, keys in names.items() if (score := rank(keys)) is not None]
    ranked.sort(key=lambda item: (item[0], item[1].casefold()))
    return [topic for _, topic in ranked]


def _rank_by_shared_words(needle: str, names: dict[str, list[str]]) -> list[str]:
    """Topics sharing words with ``needle``, the most shared first."""
    words = set(needle.split()) - LINKING_WORDS
    shared = [
        (max(len(words & set(key.split())) for key in keys), topic) for topic, keys in names.items()
    ]
    shared.sort(key=lambda item: (-item[0], item[1].casefold()))
    return [topic for count, topic in shared if count > 0]


def _check_scope(concept_map: ConceptMap, scope: int | None) -> None:
    if concept_map.scope == FORGOTTEN_SCOPE:
        raise NotFound("This map was forgotten; run /explore to map its topic again.")
    # custom_ids carry only ids: one must never reach another scope's maps.
    if scope is not None and concept_map.scope != scope:
        raise NotFound("That card belongs to another server's maps.")


def _outline(concepts: list[Concept], path: set[int]) -> list[OutlineNode]:
    """The map so far as a tree of titles, the concepts in ``path`` marked."""
    below: dict[int | None, list[Concept]] = {}
    for concept in concepts:
        below.setdefault(concept.parent_id, []).append(concept)

    def nodes(parent: int | None) -> list[OutlineNode]:
        return [
            OutlineNode(c.title, nodes(c.id), on_path=c.id in path)
            for c in sorted(below.get(parent, []), key=lambda c: c.position)
        ]

    return nodes(None)


def _count_concepts(concepts: list) -> int:
    return sum(1 + _count_concepts(c.children or []) for c in concepts)


def _day_start(now: float) -> datetime:
    moment = datetime.fromtimestamp(now, UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _minutes(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return "minute" if minutes == 1 else f"{minutes} minutes"
