"""Concepts and their cards: reading a map's or a concept's card, counting opens, and
expanding a concept into its sub-concepts (generated once, however many ask)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime

from bot.config import Settings
from bot.errors import GenerationError, KinapseError, NoGenerator, NotFound
from bot.explore.cache import KnownMaps
from bot.explore.flights import Flight, Flights, OnQueued
from bot.explore.limits import LEASE_SLACK, Budget
from bot.explore.material import material_for
from bot.explore.provenance import Provenance, Provenances
from bot.explore.scopes import Preferences
from bot.explore.translations import Translations
from bot.explore.views import SUB_CONCEPTS_OFF, ConceptView, MapView, SourcesView
from bot.generator import ExpandRequest, Generator, OnSketch, OutlineNode, RefreshRequest
from bot.i18n import N_
from bot.languages import same_language
from bot.maps import BundledMaps
from bot.models import (
    BundledConcept,
    ChildState,
    Concept,
    ConceptDraft,
    ConceptMap,
    MapTree,
    Source,
    TreeConcept,
)
from bot.storage import FORGOTTEN_SCOPE, Storage

log = logging.getLogger(__name__)

AVAILABLE_TOPICS_SHOWN = 10
REFRESH_OFF = N_("Concepts can't be refreshed in this server for now.")
NOT_DUE = N_(
    "This concept is not due for a refresh: only what Claude wrote more than 90 days ago "
    "about a topic whose facts change is."
)


class Concepts:
    """The cards of stored maps and concepts, and the expansion of concepts."""

    def __init__(
        self,
        storage: Storage,
        known: KnownMaps,
        bundled: BundledMaps,
        settings: Settings,
        budget: Budget,
        flights: Flights[int, None],
        generator: Generator | None,
        generation_off: str,
        clock: Callable[[], float],
        preferences: Preferences,
        refreshes: Flights[int, None],
        translations: Translations | None = None,
    ) -> None:
        self.storage = storage
        self.known = known  # what the cards read
        self.bundled = bundled
        self.settings = settings
        self.budget = budget
        self.generator = generator
        self.translations = translations
        self.generation_off = generation_off
        self.clock = clock
        self.preferences = preferences
        self.provenances = Provenances(bundled, clock)
        # One expansion per concept at a time (ids are unique across scopes).
        self._flights = flights
        self._refreshes = refreshes  # and one refresh per concept

    # -- cards -----------------------------------------------------------------

    async def map_view(self, map_id: int, scope: int | None = None) -> MapView:
        """The map's overview card; with ``scope``, only if the map belongs to that scope."""
        concept_map = await self.known.map(map_id)
        if concept_map is None:
            raise NotFound(N_("This map no longer exists; run /explore again."))
        check_scope(concept_map, scope)
        return await self.view_of_map(concept_map)

    async def view_of_map(self, concept_map: ConceptMap) -> MapView:
        """The overview card of a map just read."""
        concepts = await self.known.key_concepts(concept_map.id)
        material = await self.storage.material(concept_map.id) if concept_map.material else None
        return MapView(
            concept_map,
            concepts,
            self.as_of(concept_map),
            self.generator is not None,
            self.provenances.of_overview(concept_map, concepts),
            material,
            **await self.languages(concept_map),
        )

    async def concept_view(self, concept_id: int, scope: int | None = None) -> ConceptView:
        """The concept's card; with ``scope``, only if the concept belongs to that scope."""
        path = await self.known.path(concept_id)
        if not path:
            raise NotFound(N_("This concept no longer exists; run /explore again."))
        concept_map = await self.known.map(path[-1].map_id)
        if concept_map is None:
            raise NotFound(N_("This map no longer exists; run /explore again."))
        check_scope(concept_map, scope)
        children = await self.known.children(concept_id)
        own = self.provenances.of_concept(concept_map, path)
        return ConceptView(
            concept_map,
            path,
            children,
            self.as_of(concept_map),
            self.generator is not None,
            own,
            self.generator is not None and self.provenances.due_for_refresh(concept_map, own),
            **await self.languages(concept_map),
        )

    async def sources(
        self, *, concept_id: int | None, map_id: int | None, scope: int
    ) -> SourcesView:
        """What a card's Sources button shows: the sources of each of its texts, and a
        refreshed concept's earlier versions."""
        if concept_id is not None:
            view = await self.concept_view(concept_id, scope)
            earlier = tuple(await self.storage.versions(concept_id))
            return SourcesView(view.map, view.concept.title, view.sources, concept_id, earlier)
        if map_id is None:
            raise ValueError("sources needs a concept_id or a map_id")
        overview = await self.map_view(map_id, scope)
        return SourcesView(overview.map, overview.map.topic, overview.sources)

    async def get(self, concept_id: int) -> Concept | None:
        """One stored concept, whatever its scope (for ids a button carries)."""
        return await self.known.concept(concept_id)

    async def open(self, concept_id: int, scope: int | None = None) -> ConceptView:
        """The concept's card, its visit counted toward how much of the map is explored."""
        view = await self.opening(concept_id, scope)
        await self.storage.save_click(None, concept_id, now=self.clock())
        return view

    async def opening(self, concept_id: int, scope: int | None = None) -> ConceptView:
        """The concept's card as it looks once this open is counted, read without writing:
        the answer goes out first, and the session's save counts the open after it."""
        view = await self.concept_view(concept_id, scope)
        if view.concept.opened:
            return view
        counted = view.map.model_copy(update={"opened": view.map.opened + 1})
        return replace(view, map=counted)

    def counted(self, concept_id: int) -> None:
        """The answer to an open of ``concept_id`` went out, and its count is written
        behind: every card counts it from now on, until the write is ``written``."""
        self.known.counted(concept_id)

    def written(self, concept_ids: Iterable[int]) -> None:
        """The counts of these opens were written, or given up on."""
        self.known.written(concept_ids)

    def as_of(self, concept_map: ConceptMap) -> str | None:
        """A curated map's date, looked up at render time, so a server's stored copy shows
        the date of the bundled file it came from without a column of its own."""
        if concept_map.source is not Source.BUNDLED:
            return None
        bundled = self.bundled.find(concept_map.key)
        return bundled.as_of if bundled is not None else None

    async def languages(self, concept_map: ConceptMap) -> dict[str, str | None]:
        """For a curated map, the view's ``translated_from`` (the language it was translated
        from, when the copy is a translation) and ``untranslated`` (the scope's language,
        when the copy could not be translated into it: no generator). Nothing otherwise."""
        if concept_map.source is not Source.BUNDLED:
            return {}
        bundled = self.bundled.find(concept_map.key)
        if bundled is None:
            return {}
        if not same_language(concept_map.language, bundled.language):
            return {"translated_from": bundled.language}
        if self.generator is None:
            wanted = await self.preferences.language(concept_map.scope)
            if not same_language(wanted, concept_map.language):
                return {"untranslated": wanted}
        return {}

    async def tree_of(self, concept_map: ConceptMap) -> MapTree:
        """A stored map with every concept stored at every depth, each with its sources and
        provenance, and its curated date."""
        tree = await stored_tree(self.storage, concept_map, self.provenances)
        return tree.model_copy(update={"as_of": self.as_of(concept_map)})

    # -- expansion ---------------------------------------------------------------

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
        if concept_id not in self._flights:
            concept = await self.storage.get_concept(concept_id)
            if concept is None:
                raise NotFound(N_("This concept no longer exists; run /explore again."))
            if concept.state.settled:
                self.known.outdated(concept)  # it was not, as this process last heard
                return await self.concept_view(concept_id)
            if self.generator is None:
                raise NoGenerator(
                    SUB_CONCEPTS_OFF,
                    self.bundled.topics(AVAILABLE_TOPICS_SHOWN),
                    detail=self.generation_off,
                )
        await self._flights.join(
            concept_id,
            lambda: self.budget.start(scope, user_id, f"concept:{concept_id}"),
            lambda flight: self._expand(scope, user_id, concept_id, flight),
            on_queued=on_queued,
            on_progress=on_progress,
        )
        return await self.concept_view(concept_id)

    async def _expand(self, scope: int, user_id: int, concept_id: int, flight: Flight) -> None:
        generator = self.generator
        assert generator is not None
        lease = self.settings.generation_deadline + LEASE_SLACK
        if not await self.storage.claim_expansion(concept_id, now=self.clock(), lease=lease):
            # Another process holds the lease: its result is ours too.
            fresh = await self.storage.wait_for_expansion(concept_id, lease)
            if fresh is not None and fresh.state.settled:
                self.known.outdated(fresh)
                return
            if fresh is not None and fresh.error:
                raise GenerationError(fresh.error)
            # Its lease ran out (the process died) or it gave up without a reason: take over.
            if not await self.storage.claim_expansion(concept_id, now=self.clock(), lease=lease):
                raise GenerationError(
                    N_("These sub-concepts are already being mapped; try again in a minute.")
                )
        try:
            curated = await self._translated_children(scope, user_id, concept_id, flight)
            if curated is None:
                request, concept_map = await self._request(concept_id)
                # A map of a member's material: grounded in it, not in the web.
                material = await material_for(self.storage, concept_map)
                search = None if material else await self.preferences.search(scope)
                result = await self.budget.call(
                    scope,
                    user_id,
                    "expand",
                    f"concept:{concept_id}",
                    lambda: generator.expand(
                        request, on_progress=flight.report, search=search, material=material
                    ),
                    flight,
                )
        except BaseException as exc:
            error = exc.message if isinstance(exc, GenerationError) else None
            await asyncio.shield(self.storage.release_expansion(concept_id, error))
            raise
        if curated is not None:
            await self.storage.store_expansion(concept_id, curated, leaf=False)
            return
        await self.storage.store_expansion(
            concept_id,
            result.value.concepts,
            leaf=result.value.leaf,
            model=generator.model,
            now=self.clock(),
        )

    # -- refresh -----------------------------------------------------------------

    async def refresh(self, scope: int, user_id: int, concept_id: int) -> ConceptView:
        """Write a generated concept of a volatile topic again, with sources where the
        search finds them; its earlier text stays retrievable (``sources``). Counts like
        any generation (cooldown, budget); one at a time per concept."""
        view = await self.concept_view(concept_id, scope)
        if self.generator is None:
            raise NoGenerator(REFRESH_OFF, [], detail=self.generation_off)
        if concept_id not in self._refreshes and not view.can_refresh:
            raise KinapseError(NOT_DUE)
        await self._refreshes.join(
            concept_id,
            lambda: self.budget.start(scope, user_id, f"refresh:{concept_id}"),
            lambda flight: self._refresh(scope, user_id, view, flight),
        )
        return await self.concept_view(concept_id)

    async def _refresh(self, scope: int, user_id: int, view: ConceptView, flight: Flight) -> None:
        generator = self.generator
        assert generator is not None
        concept = view.concept
        request = RefreshRequest(
            topic=view.map.topic,
            language=view.map.language,
            level=view.map.level,
            path=[
                ConceptDraft(title=c.title, summary=c.summary, detail=c.detail) for c in view.path
            ],
            written=written_on(view.provenance) or "at a date not recorded",
        )
        search = await self.preferences.search(scope)
        result = await self.budget.call(
            scope,
            user_id,
            "refresh",
            f"refresh:{concept.id}",
            lambda: generator.refresh(request, search=search),
            flight,
        )
        await self.storage.refresh_concept(
            concept.id, result.value, model=generator.model, now=self.clock()
        )

    async def _translated_children(
        self, scope: int, user_id: int, concept_id: int, flight: Flight
    ) -> list[BundledConcept] | None:
        """In a translated copy of a curated map, the concept's curated children, translated
        (once per language); None where the English has none (they are generated)."""
        if self.translations is None:
            return None
        view = await self.concept_view(concept_id)
        if view.translated_from is None:
            return None
        bundled = self.bundled.find(view.map.key)
        assert bundled is not None  # a translation's original is shipped
        return await self.translations.children_in(
            bundled,
            [concept.position for concept in view.path],
            [view.map.topic, *(concept.title for concept in view.path)],
            view.map.language,
            lambda translate: self.budget.call(
                scope, user_id, "translate", f"concept:{concept_id}", translate, flight
            ),
        )

    async def _request(self, concept_id: int) -> tuple[ExpandRequest, ConceptMap]:
        """What the model needs to expand the concept: its path, siblings and the map so
        far; and its map."""
        view = await self.concept_view(concept_id)
        parent = view.concept.parent_id
        if parent is None:
            siblings = await self.storage.key_concepts(view.map.id)
        else:
            siblings = await self.storage.children(parent)
        request = ExpandRequest(
            topic=view.map.topic,
            language=view.map.language,
            level=view.map.level,
            path=[
                ConceptDraft(title=c.title, summary=c.summary, detail=c.detail) for c in view.path
            ],
            siblings=[s.title for s in siblings if s.id != concept_id],
            outline=outline(
                await self.storage.map_concepts(view.map.id), {c.id for c in view.path}
            ),
        )
        return request, view.map


def check_scope(concept_map: ConceptMap, scope: int | None) -> None:
    """Refuse a map that was forgotten, or (with ``scope``) that belongs to another scope."""
    if concept_map.scope == FORGOTTEN_SCOPE:
        raise NotFound(N_("This map was forgotten; run /explore to map its topic again."))
    # custom_ids carry only ids: one must never reach another scope's maps.
    if scope is not None and concept_map.scope != scope:
        raise NotFound(N_("That card belongs to another server's maps."))


async def stored_tree(
    storage: Storage, concept_map: ConceptMap, provenances: Provenances
) -> MapTree:
    """A stored map with every concept stored at every depth, each with its sources and
    who wrote it when."""

    async def down(concepts: list[Concept], above: list[Concept]) -> list[TreeConcept]:
        tree = []
        for concept in concepts:
            children = None
            path = [*above, concept]
            if concept.state is ChildState.EXPANDED:
                children = await down(await storage.children(concept.id), path)
            provenance = provenances.of_concept(concept_map, path)
            tree.append(
                TreeConcept(
                    title=concept.title,
                    summary=concept.summary,
                    detail=concept.detail,
                    sources=list(provenance.sources),
                    children=children,
                    leaf=concept.state is ChildState.LEAF,
                    model=None if provenance.curated else provenance.model or "Claude",
                    written=iso_day(provenance.written),
                )
            )
        return tree

    overview = provenances.of_map(concept_map)
    return MapTree(
        topic=concept_map.topic,
        language=concept_map.language,
        source=concept_map.source,
        model=concept_map.model,
        written=None if overview.curated else iso_day(overview.written),
        overview=concept_map.overview,
        sources=list(overview.sources),
        concepts=await down(await storage.key_concepts(concept_map.id), []),
    )


def iso_day(moment: float | None) -> str | None:
    """A Unix time as its UTC day, ``2026-12-07``."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).date().isoformat()


def written_on(provenance: Provenance) -> str | None:
    """When a generated text was written, as people read a date: ``7 December 2026``."""
    if provenance.written is None:
        return None
    return datetime.fromtimestamp(provenance.written, UTC).strftime("%-d %B %Y")


def outline(concepts: list[Concept], path: set[int]) -> list[OutlineNode]:
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
