"""The explore core: maps, concepts, questions, limits, sessions, upkeep and pictures.

Nothing here imports discord: the edge (``bot.ui``) turns what this package
returns into cards, and the errors it raises (``bot.errors``) into replies.
"""

from bot.explore.explorer import Explorer
from bot.explore.limits import RESERVED_TOKENS
from bot.explore.material import MaterialMap
from bot.explore.provenance import Provenance, SourceGroup, unique_sources
from bot.explore.reading import page_label, shown_name
from bot.explore.views import (
    NO_KEY,
    AnswerView,
    ConceptView,
    MapRef,
    MapsPage,
    MapView,
    SourcesView,
    View,
    bundled_number,
)
from bot.storage import lock_wait_listener

__all__ = [
    "NO_KEY",
    "RESERVED_TOKENS",
    "AnswerView",
    "ConceptView",
    "Explorer",
    "MapRef",
    "MapView",
    "MapsPage",
    "MaterialMap",
    "Provenance",
    "SourceGroup",
    "SourcesView",
    "View",
    "bundled_number",
    "lock_wait_listener",
    "page_label",
    "shown_name",
    "unique_sources",
]
