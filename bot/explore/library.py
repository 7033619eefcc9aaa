"""What a scope can open: /maps pages, autocomplete, and the maps to offer instead of a
topic that cannot be mapped now. A server with 10,000 maps costs what one with 10 does:
storage reads a page's own rows and ranks the scope's best matches itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from bot.errors import NotFound
from bot.explore.concepts import Concepts
from bot.explore.topics import Topics
from bot.explore.views import MapRef, MapsPage, bundled_number
from bot.i18n import N_
from bot.maps import BundledMaps
from bot.models import BundledConcept, ConceptMap, MapTree, Source, search_key, topic_key
from bot.storage import MapListing, Storage
from bot.text import content_words

AUTOCOMPLETE_MAX = 25  # Discord's limit on autocomplete choices
CHOICE_NAME_MAX = 100  # Discord's limit on a choice's name
MAPS_PER_PAGE = 10  # /maps: a section and a button each, well within a message's 40 components


class Library:
    """The maps of a scope and the bundled ones, listed, searched and opened by button."""

    def __init__(
        self, storage: Storage, bundled: BundledMaps, topics: Topics, concepts: Concepts
    ) -> None:
        self.storage = storage
        self.bundled = bundled
        self.topics = topics
        self.concepts = concepts

    async def maps_page(self, scope: int, page: int) -> MapsPage:
        """Page ``page`` (from 0) of /maps; past the end (an old button, maps forgotten
        since), the last page. The curated maps fill the pages after the scope's own."""
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

    async def autocomplete(self, scope: int, text: str) -> list[str]:
        """Topics for /explore: best matches first (prefix, then word prefix, then substring).

        Nothing typed yet: the topic chips (``chips``).
        """
        needle = search_key(text)
        if not needle:
            return await self.chips(scope)
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
        """Maps related to ``text``, to offer instead of a topic that cannot be generated
        now: those autocomplete would offer for it, then those whose topic or aliases
        share a word with it, then curated maps with a concept titled with its words, then
        those whose concepts speak of them. None at all rather than unrelated ones."""
        names = self._with_bundled(await self.storage.topics(scope))
        needle = search_key(text)
        topics = _rank_by_match(needle, names) if needle else []
        topics += _rank_by_shared_words(needle, names)
        words = content_words(needle)
        topics += self._by_concepts(words, lambda c: c.title, needed=1)
        # A word met in running text says less: two of them, when two were typed.
        topics += self._by_concepts(words, lambda c: f"{c.summary} {c.detail}", needed=2)
        chosen = list(dict.fromkeys(topics))[:limit]  # first occurrence wins, order kept
        return [ref for topic in chosen if (ref := await self.ref(scope, topic)) is not None]

    def _by_concepts(
        self, words: frozenset[str], text_of: Callable[[BundledConcept], str], *, needed: int
    ) -> list[str]:
        """Curated topics with concepts whose ``text_of`` holds ``needed`` of ``words`` (or
        all, if fewer were typed), the most first."""
        found = []
        for bundled in self.bundled.maps:
            shared: set[str] = set()
            for concept in _every_concept(bundled.concepts):
                shared |= words & content_words(text_of(concept))
            if shared and len(shared) >= min(needed, len(words)):
                found.append((-len(shared), bundled.topic.casefold(), bundled.topic))
        return [topic for *_, topic in sorted(found)]

    async def ref(self, scope: int, topic: str) -> MapRef | None:
        """What a button needs to open ``topic``'s map in ``scope``."""
        stored = await self.topics.find_stored(scope, topic)
        if stored is not None:
            return MapRef(stored.topic, map_id=stored.id)
        bundled = self.bundled.find(search_key(topic))
        if bundled is None:
            return None
        return MapRef(bundled.topic, bundled=bundled_number(bundled.key))

    async def open_bundled(self, scope: int, number: int, user_id: int = 0) -> ConceptMap:
        """The scope's copy of the bundled map ``bundled_number`` names, made on first use."""
        bundled = next((m for m in self.bundled.maps if bundled_number(m.key) == number), None)
        if bundled is None:
            raise NotFound(N_("That curated map is no longer shipped; run /maps again."))
        concept_map = await self.topics.lookup(scope, bundled.topic, user_id)
        assert concept_map is not None  # a bundled topic always has a map
        return concept_map

    async def map_tree(self, scope: int, topic: str) -> MapTree | None:
        """Everything the scope has explored of ``topic``'s map, for an export.

        A bundled map the scope has not opened exports as shipped, without
        copying it into the scope.
        """
        stored = await self.topics.find_stored(scope, topic)
        if stored is not None:
            return await self.concepts.tree_of(stored)
        bundled = self.bundled.find(topic_key(topic))
        return MapTree.of_bundled(bundled) if bundled is not None else None

    def _with_bundled(self, stored: list[tuple[str, str]]) -> dict[str, list[str]]:
        """The bundled topics and ``stored`` (topic, key) pairs, each topic with its keys."""
        names: dict[str, list[str]] = {}
        for topic, keys in self.bundled.names():
            names.setdefault(topic, []).extend(keys)
        for topic, key in stored:
            names.setdefault(topic, []).append(key)
        return names


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


def _every_concept(concepts: list[BundledConcept]) -> Iterator[BundledConcept]:
    for concept in concepts:
        yield concept
        yield from _every_concept(concept.children or [])


def _rank_by_shared_words(needle: str, names: dict[str, list[str]]) -> list[str]:
    """Topics sharing words with ``needle``, the most shared first."""
    words = content_words(needle)
    shared = [
        (max(len(words & content_words(key)) for key in keys), topic)
        for topic, keys in names.items()
    ]
    shared.sort(key=lambda item: (-item[0], item[1].casefold()))
    return [topic for count, topic in shared if count > 0]


def _count_concepts(concepts: list[BundledConcept]) -> int:
    return sum(1 + _count_concepts(c.children or []) for c in concepts)
