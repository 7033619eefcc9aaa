"""What the prompt templates are rendered with, and how data is put into them.

Each template's placeholders (``prompts/*.md``, checked by ``tests/test_prompts.py``
and required when the generator starts), and the quoting that keeps user or model
text from closing the prompts' data tags.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.generator.base import OutlineNode
from bot.models import Citation
from bot.text import unspaced_writing

# An answer to a reader's question (prompts/ask.md) is 80 to 250 words; in a writing without
# spaces between words, as many characters as say about that much.
ASK_WORDS_MIN = 80
ASK_WORDS_MAX = 250
ASK_CHARACTERS = {
    "chinese": (150, 450),  # about 1.7 characters an English word says
    "japanese": (200, 600),  # kana make Japanese about 2.5 characters a word
    "thai": (400, 1200),  # Thai, Lao, Khmer and Burmese spell words out in letters
    "lao": (400, 1200),
    "khmer": (400, 1200),
    "burmese": (400, 1200),
}


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
MAP_FIELDS = frozenset({"today", "topic", "language", "level", "search"})
# What a prompt about one card quotes: the map's topic and language, and the card itself.
CARD_FIELDS = frozenset(
    {"topic", "language", "path", "concept_title", "concept_summary", "concept_detail"}
)
EXPAND_FIELDS = CARD_FIELDS | {"today", "level", "outline", "siblings", "search"}
REFRESH_FIELDS = CARD_FIELDS | {"today", "level", "written", "search"}
REPAIR_FIELDS = frozenset({"problems"})
TRANSLATE_FIELDS = frozenset({"language", "topic", "path", "part", "answer", "count", "source"})
ASK_SYSTEM_FIELDS = frozenset({"words_min", "words_max"})
ASK_FIELDS = CARD_FIELDS | {
    "level",
    "subconcepts",
    "question",
    "length",
    "today",
    "provenance",
    "sources",
    "search",
}
QUIZ_SYSTEM_FIELDS = frozenset(
    {"prompt_max", "option_max", "options_min", "options_max", "explanation_max"}
)
QUIZ_FIELDS = frozenset({"topic", "language", "level", "cards"})
# A map of a member's own material: its own system prompt (a tagged answer, since the
# API's citations cannot come with structured output), its map task, and its repair.
MATERIAL_SYSTEM_FIELDS = SYSTEM_FIELDS - {"meanings_min", "meanings_max"}
MATERIAL_MAP_FIELDS = frozenset({"today", "topic", "language", "level", "material"})
PROMPT_FIELDS: dict[str, frozenset[str]] = {
    "system": SYSTEM_FIELDS,
    "map": MAP_FIELDS,
    "expand": EXPAND_FIELDS,
    "refresh": REFRESH_FIELDS,
    "repair": REPAIR_FIELDS,
    "translate": TRANSLATE_FIELDS,
    "ask_system": ASK_SYSTEM_FIELDS,
    "ask": ASK_FIELDS,
    "quiz_system": QUIZ_SYSTEM_FIELDS,
    "quiz": QUIZ_FIELDS,
    "material_system": MATERIAL_SYSTEM_FIELDS,
    "material_map": MATERIAL_MAP_FIELDS,
    "material_repair": REPAIR_FIELDS,
}

# The {search} paragraph of a task: what the model may do, and what "sources" then holds.
SEARCHING = (
    "Web search is available for this task (at most {uses} searches). Search for the facts "
    "that may have changed or that you are not sure of, write the texts from what you find "
    'and know, and fill every "sources" list with the URLs of the search results that '
    "support that text, copied exactly from the results."
)
PREFERRING = " Where they cover the point, prefer results from these sites: {domains}."
NOT_SEARCHING = (
    "Web search is not available for this task: write from what you know, and leave every "
    '"sources" list empty ([]).'
)
ASK_SEARCHING = (
    "Web search is available (at most {uses} searches). Use it when the question needs a "
    "fact the card does not give, or one that may have changed since the card was written; "
    "the answer then rests on what you found, and the citations the search gives are shown "
    "to the reader as its sources."
)
ASK_NOT_SEARCHING = (
    "Web search is not available: answer from the card and what you know, and say so when "
    "the question needs facts newer than the card."
)


def search_note(searching: bool, uses: int, prefer: Sequence[str], *, ask: bool = False) -> str:
    """The {search} paragraph of a task."""
    if not searching:
        return ASK_NOT_SEARCHING if ask else NOT_SEARCHING
    note = (ASK_SEARCHING if ask else SEARCHING).format(uses=uses)
    if prefer:
        note += PREFERRING.format(domains=", ".join(_quote(d) for d in prefer))
    return note


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


def answer_length(question: str) -> str:
    """How long an answer to ``question`` is, in the units of the writing it is asked in."""
    writing = unspaced_writing(question)
    if writing is None:
        return f"{ASK_WORDS_MIN} to {ASK_WORDS_MAX} words"
    low, high = ASK_CHARACTERS[writing]
    return f"{low} to {high} characters"


# Of a reader's question, written into the sources list of the ask prompt.
ASK_SOURCES_SHOWN = 12


def sources_list(sources: list[Citation]) -> str:
    """The card's sources as the ask prompt quotes them, one a line."""
    lines = []
    for source in sources[:ASK_SOURCES_SHOWN]:
        about = ", ".join(part for part in (source.publisher, source.date) if part)
        line = f"- {_quote(source.title)}" + (f" ({_quote(about)})" if about else "")
        if source.quote:
            line += f': "{_quote(source.quote)}"'
        lines.append(line)
    return "\n".join(lines) or "(none: this card has not been checked against sources)"
