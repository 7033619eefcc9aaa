"""Where a card's text comes from: a curated file (and its ``as_of``), or the model that
wrote it and when, and the sources it rests on; and whether a generated concept is due
for a refresh.

A curated concept's sources are read from its bundled file at render time (found by its
path of titles), as its ``as_of`` is, so a server's stored copy shows what the library
says now; a generated one's are the search results stored with it. A concept under a
curated map that its file does not hold was written by Claude, whatever its map is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.languages import same_language
from bot.maps import BundledMaps
from bot.models import BundledConcept, BundledMap, Citation, Concept, ConceptMap, Source

# A generated concept of a volatile topic may be written again once it is this old.
REFRESH_AFTER_DAYS = 90
DAY = 86_400.0


@dataclass(frozen=True)
class Provenance:
    """Where one text comes from.

    Curated: ``as_of`` and ``file`` of its bundled map. Generated: the ``model`` that wrote
    it (None: not recorded) and when (``written``, None: not recorded). ``sources``: what
    it rests on (for generated text, only search results the API returned).
    """

    curated: bool
    as_of: str | None = None
    file: str | None = None
    model: str | None = None
    written: float | None = None
    sources: tuple[Citation, ...] = ()
    material: bool = False  # generated from a member's own file or page, which it cites

    @property
    def unchecked(self) -> bool:
        """Written by Claude from its training data, not checked against any source."""
        return not self.curated and not self.sources


@dataclass(frozen=True)
class SourceGroup:
    """The sources of one text of a card (its overview, or one key concept)."""

    heading: str | None  # None: the card's own text
    provenance: Provenance


class Provenances:
    """The provenance of maps and concepts, from storage's rows and the bundled files."""

    def __init__(self, bundled: BundledMaps, clock: Callable[[], float]) -> None:
        self.bundled = bundled
        self.clock = clock

    def curated_map(self, concept_map: ConceptMap) -> BundledMap | None:
        if concept_map.source is not Source.BUNDLED:
            return None
        return self.bundled.find(concept_map.key)

    def of_map(self, concept_map: ConceptMap) -> Provenance:
        """The overview's provenance."""
        if concept_map.source is Source.BUNDLED:
            bundled = self.curated_map(concept_map)
            if bundled is None:  # its file is gone from the library
                return Provenance(curated=True)
            return Provenance(
                curated=True,
                as_of=bundled.as_of,
                file=bundled.file,
                sources=tuple(bundled.sources),
            )
        return Provenance(
            curated=False,
            model=concept_map.model,
            written=concept_map.created_at,
            sources=tuple(concept_map.sources),
            material=concept_map.material is not None,
        )

    def of_concept(self, concept_map: ConceptMap, path: Sequence[Concept]) -> Provenance:
        """The provenance of the last concept of ``path`` (its ancestors from the key
        concept down, it last)."""
        concept = path[-1]
        if concept.model is None and concept_map.source is Source.BUNDLED:
            bundled = self.curated_map(concept_map)
            curated = bundled.concept_at([c.title for c in path]) if bundled else None
            translated = bundled is not None and not same_language(
                concept_map.language, bundled.language
            )
            if curated is None and translated and bundled is not None:
                # A translated copy's titles are not the file's: its concepts sit where
                # the file's do.
                curated = bundled_at(bundled, [c.position for c in path])
            if curated is not None and bundled is not None:
                return Provenance(
                    curated=True,
                    as_of=bundled.as_of,
                    file=bundled.file,
                    sources=tuple(curated.sources),
                )
            # Written by Claude before its model was recorded (the file does not have it).
            return Provenance(curated=False, written=concept.created_at)
        return Provenance(
            curated=False,
            model=concept.model or concept_map.model,
            written=concept.created_at,
            sources=tuple(concept.sources),
            material=concept_map.material is not None,
        )

    def of_overview(
        self, concept_map: ConceptMap, concepts: Sequence[Concept]
    ) -> tuple[SourceGroup, ...]:
        """What a map card shows comes from: its overview, then each key concept's summary."""
        groups = [SourceGroup(None, self.of_map(concept_map))]
        groups += [SourceGroup(c.title, self.of_concept(concept_map, [c])) for c in concepts]
        return tuple(groups)

    def volatile(self, concept_map: ConceptMap) -> bool:
        """Whether the map's facts change: its file says so, or the model did."""
        bundled = self.curated_map(concept_map)
        return bundled.volatile if bundled is not None else concept_map.volatile

    def due_for_refresh(self, concept_map: ConceptMap, provenance: Provenance) -> bool:
        """A generated concept of a volatile topic, written more than REFRESH_AFTER_DAYS
        ago (or at a time not recorded)."""
        if provenance.curated or not self.volatile(concept_map):
            return False
        written = provenance.written
        return written is None or self.clock() - written > REFRESH_AFTER_DAYS * DAY


def bundled_at(bundled: BundledMap, positions: Sequence[int]) -> BundledConcept | None:
    """The curated concept at ``positions`` (0-based, from the key concept down)."""
    concepts: list[BundledConcept] | None = bundled.concepts
    found = None
    for position in positions:
        if not concepts or not 0 <= position < len(concepts):
            return None
        found = concepts[position]
        concepts = found.children
    return found


def unique_sources(groups: Sequence[SourceGroup]) -> list[Citation]:
    """Every source of a card's texts, each once (a URL, or a place in a material), in the
    order the card shows them."""
    seen: set[object] = set()
    found: list[Citation] = []
    for group in groups:
        for source in group.provenance.sources:
            if source.key not in seen:
                seen.add(source.key)
                found.append(source)
    return found


def described(provenance: Provenance) -> str:
    """Where a text comes from, in a sentence for the model that answers questions on it."""
    if provenance.curated:
        where = (
            f"Curated by Kinapse's authors ({provenance.file})"
            if provenance.file
            else ("Curated by Kinapse's authors")
        )
        if provenance.as_of:
            return f"{where}; its facts were last checked as of {provenance.as_of}"
        return f"{where}; when its facts were last checked is not recorded"
    who = f"Written by {provenance.model or 'Claude'}"
    if provenance.written is not None:
        who += " on " + datetime.fromtimestamp(provenance.written, UTC).strftime("%-d %B %Y")
    if provenance.material:
        return f"{who} from a member's own material, citing the places of it it rests on"
    if provenance.sources:
        count = len(provenance.sources)
        return f"{who} from {count} web search result{'s' if count > 1 else ''} (the sources)"
    return f"{who} from Claude's training data, not checked against sources"
