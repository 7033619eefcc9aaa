"""Cards: pure functions from what the core returns to a card description (``blocks``),
which ``bot.ui.layout`` turns into a Components V2 layout. Every card stays within
Discord's limits whatever the map says (``fit``)."""

from bot.ui.cards.answers import (
    QUEUED_ANSWER_NOTE,
    SHARE_LABEL,
    SHARED_LABEL,
    WRITING_NOTE,
    answer_card,
    answered_card,
)
from bot.ui.cards.blocks import (
    Block,
    Card,
    Control,
    Divider,
    Picture,
    Row,
    Section,
    Status,
    Text,
    accent_of,
    literal,
)
from bot.ui.cards.explore import (
    concept_card,
    concept_nav,
    footer,
    map_card,
    map_nav,
    outline_text,
    picture_card,
    sketch_card,
)
from bot.ui.cards.lists import maps_card, meanings_card, open_map_control, suggestions_card

__all__ = [
    "QUEUED_ANSWER_NOTE",
    "SHARED_LABEL",
    "SHARE_LABEL",
    "WRITING_NOTE",
    "Block",
    "Card",
    "Control",
    "Divider",
    "Picture",
    "Row",
    "Section",
    "Status",
    "Text",
    "accent_of",
    "answer_card",
    "answered_card",
    "concept_card",
    "concept_nav",
    "footer",
    "literal",
    "map_card",
    "map_nav",
    "maps_card",
    "meanings_card",
    "open_map_control",
    "outline_text",
    "picture_card",
    "sketch_card",
    "suggestions_card",
]
