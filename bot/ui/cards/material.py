"""What a map of a member's own material says of it: the line under its heading ("From
*lecture-3.pdf*, shared by @name"; "From example.org/article"), the mark /maps shows
beside it, and the private notes of the flow that maps it.

The member who shared a file is named by a mention, which Discord shows as their name;
nothing the bot sends can ping (allowed mentions are none on the client).
"""

from __future__ import annotations

from bot.explore import page_label, shown_name
from bot.i18n import N_, _
from bot.i18n import language as spoken
from bot.languages import name_of, tag_of
from bot.models import MaterialKind
from bot.storage import MaterialInfo
from bot.text import shorten
from bot.ui.cards.blocks import literal

FILE_MARK = "📄"
PAGE_MARK = "🔗"
LINE_MAX = 300
LANGUAGE_SHOWN_MAX = 40
FROM = N_("From {material}")
FROM_SHARED = N_("From {material}, shared by {member}")
WRITTEN_IN = N_("written in {written}, mapped in {language}")


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


def language_shown(language: str) -> str:
    """A language (a tag, or a name as Claude gives a material's) in the language the card
    is shown in, without its region: "German" in English, "Deutsch" in German, "English"
    for en-US; one not known, as given."""
    tag = tag_of(language)
    named = name_of(tag.split("-")[0], spoken()) if tag else language
    return shorten(named, LANGUAGE_SHOWN_MAX)


def material_line(material: MaterialInfo, language: str) -> str:
    """The small line under a material map's heading."""
    what = made_from(material)
    if material.shared_by is not None:
        member = f"<@{material.shared_by}>"  # shown as the name; never a ping
        line = _(FROM_SHARED, material=what, member=member)
    else:
        line = _(FROM, material=what)
    if material.language:
        written = literal(language_shown(material.language))
        mapped = literal(language_shown(language))
        line += " · " + _(WRITTEN_IN, written=written, language=mapped)
    return "-# " + shorten(line, LINE_MAX)
