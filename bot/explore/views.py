"""What a card shows, as the core hands it to the edge: plain frozen data, no Discord."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.explore.provenance import Provenance, SourceGroup
from bot.i18n import N_
from bot.models import Answer, Concept, ConceptMap, Source
from bot.storage import ConceptVersion, MapListing, MaterialInfo

NO_KEY = N_("ANTHROPIC_API_KEY is not set")
# What members read while generation is off; the reason why (``Explorer.generation_off``)
# is configuration, for the log, /kinapse usage and the server's managers.
MAPS_OFF = N_("New topics can't be mapped in this server for now.")
SUB_CONCEPTS_OFF = N_("Sub-concepts can't be mapped in this server for now.")
QUESTIONS_OFF = N_("Questions are off in this server for now.")


@dataclass(frozen=True)
class MapView:
    """A map's overview card: the map and its key concepts."""

    map: ConceptMap
    concepts: list[Concept]
    as_of: str | None = None  # a curated map's date, from its bundled file
    can_ask: bool = True  # questions can be answered (the bot has an API key)
    # Where the card's texts come from: its overview first, then each key concept.
    sources: tuple[SourceGroup, ...] = ()
    material: MaterialInfo | None = None  # what a map of a member's file or page was made from
    translated_from: str | None = None  # a curated map's language, when this is a translation
    untranslated: str | None = None  # the scope's language, when no key could translate it

    @property
    def provenance(self) -> Provenance:
        """The overview's."""
        if self.sources:
            return self.sources[0].provenance
        concept_map = self.map
        if concept_map.source is Source.BUNDLED:
            return Provenance(curated=True, as_of=self.as_of)
        return Provenance(
            curated=False,
            model=concept_map.model,
            written=concept_map.created_at,
            sources=tuple(concept_map.sources),
        )


@dataclass(frozen=True)
class ConceptView:
    """A concept's card: where it sits, and its sub-concepts."""

    map: ConceptMap
    path: list[Concept]  # from the key concept down; the concept itself last
    children: list[Concept]
    as_of: str | None = None  # a curated map's date, from its bundled file
    can_ask: bool = True
    own: Provenance | None = None  # where the concept's text comes from
    # A generated concept of a volatile topic, old enough to be written again (by a manager).
    can_refresh: bool = False
    translated_from: str | None = None
    untranslated: str | None = None

    @property
    def concept(self) -> Concept:
        return self.path[-1]

    @property
    def provenance(self) -> Provenance:
        if self.own is not None:
            return self.own
        concept = self.concept
        if concept.model is None and self.map.source is Source.BUNDLED:
            return Provenance(curated=True, as_of=self.as_of)
        return Provenance(
            curated=False,
            model=concept.model or self.map.model,
            written=concept.created_at,
            sources=tuple(concept.sources),
        )

    @property
    def sources(self) -> tuple[SourceGroup, ...]:
        return (SourceGroup(None, self.provenance),)

    @property
    def needs_expansion(self) -> bool:
        """Its sub-concepts are not known yet (nor is it known to have none)."""
        return not self.concept.state.settled


View = MapView | ConceptView


@dataclass(frozen=True)
class MapsPage:
    """A page of /maps: the scope's maps most explored first, then the curated maps it has
    not opened yet, alphabetically."""

    listings: list[MapListing]
    number: int  # from 0
    count: int  # pages in all, at least 1


@dataclass(frozen=True)
class MapRef:
    """A map a button can open: one stored for the scope, or a bundled one it has not opened
    (which has no row yet, so its button carries ``bundled``, its ``bundled_number``)."""

    topic: str
    map_id: int | None = None
    bundled: int | None = None

    @classmethod
    def of_listing(cls, listing: MapListing) -> MapRef:
        if listing.id is not None:
            return cls(listing.topic, map_id=listing.id)
        return cls(listing.topic, bundled=bundled_number(listing.key))


@dataclass(frozen=True)
class AnswerView:
    """An answer and the card it answers: a concept, or the map's overview; ``asked``:
    the asking that answered a member with it, which their Share button names (None:
    not recorded, so not shareable)."""

    answer: Answer
    map: ConceptMap
    concept: Concept | None
    asked: int | None = None

    @property
    def subject(self) -> str:
        """What the question was about: the concept's title, or the topic."""
        return self.concept.title if self.concept is not None else self.map.topic


def bundled_number(key: str) -> int:
    """A bundled map's number in custom_ids: stable across restarts and new map files
    (a position in the list would shift), and within ID_DIGITS (56 bits, 17 digits)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:7], "big")


@dataclass(frozen=True)
class SourcesView:
    """What a card's Sources button answers: where each of its texts comes from, and for
    a refreshed concept its earlier versions."""

    map: ConceptMap
    subject: str  # the concept's title, or the topic
    groups: tuple[SourceGroup, ...]
    concept_id: int | None = None  # None: the map's overview card
    earlier: tuple[ConceptVersion, ...] = ()
