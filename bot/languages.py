"""Languages of content: what a server's language setting names, and the language a
request's place speaks when the setting was never made.

A setting may be a tag ("ja", "pt-BR") or a name in English, in the language itself or
in any language the bot speaks ("Japanese", "日本語", "japonais"); ``tag_of`` reads them
all as one BCP 47 tag, so "Japanese" and "ja" servers share their translations. What it
cannot read (an invented language) is kept as written, and the model is told it as is.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache

import babel

from bot.i18n import babel_locale, shipped

# Where a request comes from (a server's preferred locale, a member's own in DMs), as
# Discord tells it: the language of a scope that never chose one. Set by the edge for
# each interaction, so the core needs no Discord to know it.
place_locale: ContextVar[str | None] = ContextVar("kinapse_place_locale", default=None)
# Languages whose own name for themselves is understood ("Deutsch", "日本語"): Discord's
# and other widely written ones. Each costs Babel a file to read, once.
_NATIVE_NAMES = (
    "ar bg bn ca cs cy da de el en es et eu fa fi fil fr ga gl he hi hr hu id is it ja ko lt "
    "lv ms nb nl no pl pt ro ru sk sl sr sv sw ta th tr uk ur vi zh"
)
NATIVE_NAMES = tuple(_NATIVE_NAMES.split())


def tag_of(language: str) -> str | None:
    """The BCP 47 tag ``language`` names ("ja", "pt-BR", "zh-Hant"), or None."""
    text = " ".join(language.split())
    if not text:
        return None
    try:
        return _tag(babel.Locale.parse(text.replace("-", "_")))
    except (ValueError, TypeError, babel.UnknownLocaleError):
        return _names().get(text.casefold())


def canonical(language: str) -> str:
    """``language`` as its tag when it names one, else as written (trimmed)."""
    return tag_of(language) or " ".join(language.split())


def same_language(one: str, other: str) -> bool:
    """Whether content in ``one`` serves readers of ``other``: the same tag, or one a
    narrower form of the other ("en" and "en-GB"; not "zh-Hans" and "zh-Hant")."""
    a, b = canonical(one).casefold(), canonical(other).casefold()
    return a == b or a.startswith(b + "-") or b.startswith(a + "-")


def name_of(language: str, locale: str) -> str:
    """``language`` named in ``locale`` (a Discord locale): "Japanese", "Japanisch"."""
    tag = tag_of(language)
    if tag is None:
        return language
    speaker = babel_locale(locale)
    try:
        named = babel.Locale.parse(tag.replace("-", "_")).get_display_name(speaker)
    except (ValueError, babel.UnknownLocaleError):
        named = speaker.languages.get(tag)  # a language Babel names but has no data for
    return named or language


def for_model(language: str) -> str:
    """How the prompts name a language: "Japanese (ja)", or the setting as written."""
    tag = tag_of(language)
    if tag is None:
        return language
    return f"{name_of(tag, 'en')} ({tag})"


def warm() -> None:
    """Read the language names now (a second's work), not in a member's first request."""
    _names()


def _tag(locale: babel.Locale) -> str:
    return "-".join(part for part in (locale.language, locale.script, locale.territory) if part)


@cache
def _names() -> dict[str, str]:
    """Language names, folded, to their tags: in English, in each language the bot's
    catalogs speak, and each language's own name for itself."""
    names: dict[str, str] = {}
    speakers = ["en", *(babel_locale(name).language for name in shipped())]
    for speaker in dict.fromkeys(speakers):
        for code, name in babel.Locale(speaker).languages.items():
            names.setdefault(name.casefold(), code.replace("_", "-"))
    for code in NATIVE_NAMES:
        own = babel.Locale(code).get_display_name(code)
        if own:
            names.setdefault(own.casefold(), code)
    return names
