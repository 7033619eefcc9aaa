"""What a map of a member's own material says of it: the line under its heading ("From
*lecture-3.pdf*, shared by @name"; "From example.org/article"), the mark /maps shows
beside it, and the private notes of the flow that maps it.

The member who shared a file is named by a mention, which Discord shows as their name;
nothing the bot sends can ping (allowed mentions are none on the client).
"""

from __future__ import annotations

from bot.explore import language_label, page_label, shown_name
from bot.models import MaterialKind
from bot.storage import MaterialInfo
from bot.text import shorten
from bot.ui.cards.blocks import literal

FILE_MARK = "📄"
PAGE_MARK = "🔗"
LINE_MAX = 300
LANGUAGE_SHOWN_MAX = 40


def mark(kind: str | None) -> str:
    """The mark /maps shows before a map of a member's material ("" for any other map)."""
    if kind is None:
        return ""
    return f"{PAGE_MARK if kind == MaterialKind.PAGE.value else FILE_MARK} "


def made_from(material: MaterialInfo) -> str:
    """ "*lecture-3.pdf*" or "example.org/article", as Markdown."""
    if material.kind is MaterialKind.PAGE:
        return literal(page_label(material.name))
    return f"*{literal(shown_name(material.name))}*"


def material_line(material: MaterialInfo, language: str) -> str:
    """The small line under a material map's heading."""
    line = f"From {made_from(material)}"
    if material.shared_by is not None:
        line += f", shared by <@{material.shared_by}>"
    if material.language:
        written = literal(shorten(material.language, LANGUAGE_SHOWN_MAX))
        mapped = literal(shorten(language_label(language), LANGUAGE_SHOWN_MAX))
        line += f" · written in {written}, mapped in {mapped}"
    return "-# " + shorten(line, LINE_MAX)
