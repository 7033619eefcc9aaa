"""What the prompt templates are rendered with, and how data is put into them.

Each template's placeholders (``prompts/*.md``, checked by ``tests/test_prompts.py``
and required when the generator starts), and the quoting that keeps user or model
text from closing the prompts' data tags.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.generator.base import OutlineNode

# The placeholders each template is rendered with; tests/test_prompts.py checks the files.
SYSTEM_FIELDS = frozenset(
    {
        "title_max",
        "summary_max",
        "detail_max",
        "concepts_min",
        "concepts_max",
        "children_min",
        "children_max",
        "meanings_min",
        "meanings_max",
    }
)
MAP_FIELDS = frozenset({"today", "topic", "language", "level"})
# What a prompt about one card quotes: the map's topic and language, and the card itself.
CARD_FIELDS = frozenset(
    {"topic", "language", "path", "concept_title", "concept_summary", "concept_detail"}
)
EXPAND_FIELDS = CARD_FIELDS | {"today", "level", "outline", "siblings"}
REPAIR_FIELDS = frozenset({"problems"})
TRANSLATE_FIELDS = frozenset({"language", "topic", "path", "part", "answer", "count", "source"})
ASK_SYSTEM_FIELDS = frozenset({"words_min", "words_max"})
ASK_FIELDS = CARD_FIELDS | {"level", "subconcepts", "question", "length"}
QUIZ_SYSTEM_FIELDS = frozenset(
    {"prompt_max", "option_max", "options_min", "options_max", "explanation_max"}
)
QUIZ_FIELDS = frozenset({"topic", "language", "level", "cards"})
PROMPT_FIELDS: dict[str, frozenset[str]] = {
    "system": SYSTEM_FIELDS,
    "map": MAP_FIELDS,
    "expand": EXPAND_FIELDS,
    "repair": REPAIR_FIELDS,
    "translate": TRANSLATE_FIELDS,
    "ask_system": ASK_SYSTEM_FIELDS,
    "ask": ASK_FIELDS,
    "quiz_system": QUIZ_SYSTEM_FIELDS,
    "quiz": QUIZ_FIELDS,
}

# Data goes inside <tags> in the prompts; these stand-ins keep it from closing a tag.
_TAG_QUOTES = str.maketrans({"<": "‹", ">": "›"})


def _quote(text: str) -> str:
    """User or model text made safe to put between the prompts' data tags."""
    return text.translate(_TAG_QUOTES)


def _outline(nodes: Sequence[OutlineNode], depth: int = 0) -> str:
    """Titles only, indented under their parents; the path and the target marked."""
    lines = []
    for node in nodes:
        mark = ""
        if node.on_path:
            # The concept to expand is the deepest node on the path.
            deepest = not any(child.on_path for child in node.children)
            mark = " (break this down)" if deepest else " (path)"
        lines.append(f"{'  ' * depth}- {_quote(node.title)}{mark}")
        if node.children:
            lines.append(_outline(node.children, depth + 1))
    return "\n".join(lines)
