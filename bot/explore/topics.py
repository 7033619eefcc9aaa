"""Topics: finding a scope's map for what a member typed, mapping a new topic (once,
however many ask), the meanings of an ambiguous topic, and the Retry of a failed one.

A *scope* is a guild id, or a user id in DMs. Bundled maps serve every scope:
the first time a scope opens one it is copied into that scope's rows, so that
what the scope adds (opens, expansions) stays with it and never leaks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.errors import Ambiguous, ChooseMeaning, NoGenerator, NotFound
from bot.explore.cache import KnownMaps
from bot.explore.concepts import AVAILABLE_TOPICS_SHOWN
from bot.explore.flights import Flight, Flights, OnQueued
from bot.explore.limits import Budget
from bot.explore.scopes import Preferences
from bot.explore.translations import Translations
from bot.explore.views import MAPS_OFF
from bot.generator import Generator, OnSketch
from bot.i18n import N_
from bot.languages import same_language
from bot.maps import BundledMaps
from bot.models import ConceptMap, Source, StoredMeaning, StoredRetry, clean_topic, topic_key
from bot.storage import Reservation, Storage

log = logging.getLogger(__name__)

RETRY_EXPIRED = N_("That retry has expired; run /explore again.")


class Topics:
    """A scope's maps by topic, and the generation of new ones."""

    def __init__(
        self,
        storage: Storage,
        known: KnownMaps,
        bundled: BundledMaps,
        preferences: Preferences,
        budget: Budget,
        flights: Flights[tuple[int, str], ConceptMap],
        generator: Generator | None,
        generation_off: str,
        clock: Callable[[], float],
        translations: Translations | None = None,
    ) -> None:
        self.storage = storage
        self.known = known
        self.bundled = bundled
        self.preferences = preferences
        self.budget = budget
        self.generator = generator
        self.translations = translations
        self.generation_off = generation_off
        self.clock = clock
        # One generation per (scope, topic key) at a time.
        self._flights = flights

    async def lookup(self, scope: int, topic: str, user_id: int = 0) -> ConceptMap | None:
        """The scope's map for ``topic`` (stored or bundled), or None if it has to be generated.

        A curated map the scope opens for the first time is copied into it in the scope's
        language: translated (once per language, for every scope; its usage counted to
        ``user_id`` in this scope) when there is a generator, else as written.

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
        shown = bundled
        language = await self.preferences.language(scope)
        if self.translations is not None and not same_language(language, bundled.language):
            shown = await self.translations.map_in(
                bundled,
                language,
                lambda translate: self.budget.call(
                    scope, user_id, "translate", f"translate:{bundled.key}", translate
                ),
            )
        created = await self.storage.create_map(
            scope=scope,
            key=bundled.key,
            topic=shown.topic,
            language=shown.language,
            overview=shown.overview,
            source=Source.BUNDLED,
            # None, as for the English copy: its texts are the curated file's (translated;
            # the translation's model is stored with it), not written by a model here.
            model=None,
            concepts=shown.concepts,
            now=self.clock(),
        )
        if shown is not bundled and topic_key(shown.topic) != bundled.key:
            # The translated title finds the map too.
            await self.storage.save_alias(scope, topic_key(shown.topic), bundled.key)
        return created

    async def find_stored(
        self, scope: int, topic: str, *, aliases: bool = True
    ) -> ConceptMap | None:
        """The scope's stored map for ``topic``, found by its key or a bundled alias, and
        with ``aliases`` by the meaning chosen for the typed topic in the scope."""
        key = topic_key(topic)
        bundled = self.bundled.find(key)
        stored = await self.known.find(scope, key, or_key=bundled.key if bundled else None)
        if stored is None and aliases and (chosen := await self.storage.alias_of(scope, key)):
            stored = await self.known.find(scope, chosen)
        return stored

    # -- new topics --------------------------------------------------------------

    async def check_can_generate(self, scope: int, user_id: int, topic: str) -> None:
        """Raise what stands in the way of generating a new map, before anyone waits."""
        await self._check_topic(scope, topic)
        if (scope, topic_key(topic)) not in self._flights:
            await self.budget.check(scope, user_id)

    async def _check_topic(self, scope: int, topic: str) -> None:
        if self.generator is None:
            available = self.bundled.topics(AVAILABLE_TOPICS_SHOWN)
            raise NoGenerator(MAPS_OFF, available, detail=self.generation_off)
        await self.budget.check_refusal(scope, f"map:{topic_key(topic)}")

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

        async def start() -> Reservation:
            await self._check_topic(scope, topic)
            return await self.budget.reserve(scope, user_id)

        return await self._flights.join(
            (scope, topic_key(topic)),
            start,
            lambda flight: self._generate_map(scope, user_id, topic, flight),
            on_queued=on_queued,
            on_progress=on_progress,
        )

    async def _generate_map(
        self, scope: int, user_id: int, topic: str, flight: Flight
    ) -> ConceptMap:
        generator = self.generator
        assert generator is not None
        key = topic_key(topic)
        # Someone may have generated it between their /explore and this one.
        existing = await self.storage.find_map(scope, key)
        if existing is not None:
            return existing
        # Its meanings may have been stored since: they are asked again, not the model.
        await self._ask_meaning(scope, topic)
        language = await self.preferences.language(scope)
        level = await self.preferences.level(scope)
        search = await self.preferences.search(scope)
        try:
            result = await self.budget.call(
                scope,
                user_id,
                "map",
                f"map:{key}",
                lambda: generator.generate_map(
                    topic, language, level=level, on_progress=flight.report, search=search
                ),
                flight,
            )
        except Ambiguous as ambiguous:
            choices = await self.storage.save_meanings(scope, key, topic, ambiguous.meanings)
            raise ChooseMeaning(_which_meaning(topic), topic, choices) from ambiguous
        # The canonical title ("Interest Rates" for "intrest rats") names the map, and
        # the text as typed becomes an alias of it in the scope.
        title = result.value.title or topic
        canonical = topic_key(title)
        if canonical != key:
            known = await self.find_stored(scope, title, aliases=False)
            if known is None and self.bundled.find(canonical) is not None:
                # The curated map, not a second one.
                known = await self.lookup(scope, title, user_id)
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
            model=generator.model,
            concepts=result.value.concepts,
            now=self.clock(),
            level=level,
            sources=result.value.sources,
            volatile=result.value.volatile,
        )
        if canonical != key:
            await self.storage.save_alias(scope, key, canonical)
        return created

    # -- meanings and retries ----------------------------------------------------

    async def _ask_meaning(self, scope: int, topic: str) -> None:
        """Raise ``ChooseMeaning`` if the meanings of ``topic`` are stored for the scope."""
        choices = await self.storage.meanings(scope, topic_key(topic))
        if choices:
            raise ChooseMeaning(_which_meaning(topic), choices[0].topic, choices)

    async def meaning(self, scope: int, meaning_id: int) -> StoredMeaning:
        """A stored meaning of the scope (its button carries only the id)."""
        meaning = await self.storage.get_meaning(meaning_id)
        if meaning is None or meaning.scope != scope:
            raise NotFound(N_("That choice is no longer stored; run /explore again."))
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
        concept_map = await self.lookup(scope, meaning.qualified, user_id)
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


def _which_meaning(topic: str) -> str:
    return N_("*{topic}* has several meanings; choose the one you mean.", topic=topic)
