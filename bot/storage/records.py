"""What storage hands the core beside the models, and the rows behind the models.

The records of listings, usage, limits, reservations and a scope's settings; and the
conversions between a backend's row and a model, both ways, that the use cases share.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bot.models import (
    BundledConcept,
    ChildState,
    Citation,
    Concept,
    ConceptDraft,
    ConceptMap,
    Level,
    Session,
    Source,
    stored_citations,
)

if TYPE_CHECKING:
    from bot.storage.base import Row

SESSION_HISTORY_MAX = 50  # Back goes this many cards deep; older steps are dropped

# A forgotten map leaves its scope at once, for the scope no Discord id has; its rows
# (a map may have tens of thousands of sessions) are deleted afterwards, a batch at a time.
FORGOTTEN_SCOPE = 0


@dataclass(frozen=True)
class StoredTranslation:
    """A part of a curated map in another language (migration 13)."""

    source_hash: str
    content: str  # JSON
    model: str


@dataclass(frozen=True)
class Pruned:
    """Rows deleted by one ``prune``."""

    sessions: int
    refusals: int
    usage: int
    reservations: int = 0
    retries: int = 0
    asks: int = 0


@dataclass(frozen=True)
class MapListing:
    """A map as /maps lists it."""

    topic: str
    key: str
    source: Source
    model: str | None
    opened: int
    total: int
    id: int | None = None  # None: a bundled map the scope has not opened, so has no row
    material: str | None = None  # a map of a member's file or page: its kind


class Changed(StrEnum):
    """What a write changed of the maps and concepts a reader may hold (``Change``)."""

    MAP = "map"  # a map stored under a (scope, key)
    OPENED = "opened"  # a concept opened for the first time: its map's count of opened
    COUNTED = "counted"  # a map's other counts (a member's first concept of it: explorers)
    CONCEPT = "concept"  # a concept's sub-concepts or their state (and its map's total)
    GONE = "gone"  # a map left its scope (forgotten), or was deleted with its concepts
    SETTINGS = "settings"  # a scope's learning settings (the forum /explore posts maps in)
    EVERYTHING = "everything"  # anything may have changed: changes may have been missed


@dataclass(frozen=True)
class Change:
    """One committed write, as ``Storage.watch`` reports it; ids that do not apply are 0."""

    what: Changed
    map_id: int = 0
    concept_id: int = 0
    scope: int = 0
    key: str = ""

    def payload(self) -> str:
        """The change as one line of text (a NOTIFY payload); the key comes last, whole."""
        return f"{self.what} {self.map_id} {self.concept_id} {self.scope} {self.key}"

    @classmethod
    def of_payload(cls, payload: str) -> Change:
        what, map_id, concept_id, scope, key = payload.split(" ", 4)
        return cls(Changed(what), int(map_id), int(concept_id), int(scope), key)


@dataclass(frozen=True)
class UsageTotals:
    calls: int
    tokens: int  # web searches included, at their price in tokens
    searches: int = 0  # web searches


@dataclass(frozen=True)
class ConceptVersion:
    """A refreshed concept's earlier text, with who wrote it when and its sources."""

    summary: str
    detail: str
    model: str | None
    created_at: float | None
    sources: list[Citation]
    replaced_at: float

    @classmethod
    def of_row(cls, row: Row) -> ConceptVersion:
        summary, detail, model, created_at, sources, replaced_at = row
        citations = [Citation.model_validate(c) for c in stored_citations(sources)]
        return cls(summary, detail, model, created_at, citations, replaced_at)


@dataclass(frozen=True)
class Limits:
    """How many generations a user may start and how many tokens a scope may spend, as of
    ``now``: ``allowed`` starts per ``window`` seconds, and ``budget`` tokens between
    ``day_start`` and ``day_end``."""

    now: float
    window: float
    allowed: int
    budget: int
    day_start: float
    day_end: float
    # Tokens this process spent that storage does not hold yet (the database refused them).
    unrecorded: int = 0


class Limit(StrEnum):
    COOLDOWN = "cooldown"
    BUDGET = "budget"


@dataclass(frozen=True)
class OverLimit:
    """The limit that stands in the way of a new generation, and when to try again."""

    limit: Limit
    retry_at: float


@dataclass(frozen=True)
class Reservation:
    """A generation under way, counted in storage until its usage settles it."""

    id: int
    tokens: int
    expires_at: float

    def held(self, now: float) -> int:
        """The tokens it still counts against the budget (none once expired)."""
        return self.tokens if self.expires_at > now else 0


@dataclass(frozen=True)
class Asked:
    """One member answered with one stored answer: what their Share button names."""

    id: int
    answer_id: int
    user_id: int
    shared_at: float | None  # when it was shared (None: not yet)


@dataclass(frozen=True)
class ScopeSettings:
    language: str | None = None
    daily_token_budget: int | None = None
    level: Level | None = None  # None: standard
    web_search: bool | None = None  # None: the default (on)
    prefer_domains: tuple[str, ...] = ()
    block_domains: tuple[str, ...] = ()


# Between a backend's rows and the models, used by the use cases in ``base.py``.
def _concept(row: Row) -> Concept:
    return Concept.model_validate(dict(row))


def _map(row: Row) -> ConceptMap:
    return ConceptMap.model_validate(dict(row))


def _state_of(concept: ConceptDraft) -> ChildState:
    if isinstance(concept, BundledConcept):
        if concept.leaf:
            return ChildState.LEAF
        if concept.children:
            return ChildState.EXPANDED
    return ChildState.UNEXPANDED


def _session_row(session: Session, now: float) -> tuple[Any, ...]:
    history = json.dumps(session.history[-SESSION_HISTORY_MAX:])
    return (
        session.message_id,
        session.owner_id,
        session.scope,
        session.map_id,
        session.concept_id,
        history,
        now,
    )
