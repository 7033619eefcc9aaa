"""Messages in the member's language: gettext catalogs, one file per language.

The English text in the code is the message id (the source); ``bot/locales/<locale>.po``
holds each language's translations, named with the Discord locale they serve (``de``,
``es-ES``, ``pt-BR``...), read with Babel once at start. A language without a catalog,
and a message without a translation, is shown in English.

Whose language: the interaction being answered sets it (``bot.ui.speech``) for the task
that answers it, as Django's active language follows a request; ``_`` reads it. The
core cannot know a member's language, so it only marks what it says (``N_``), with its
values apart: the edge translates the message where it is shown.

    _("Mapping *{topic}*…", topic=shown)          # the edge: in the member's language
    ngettext("{count} concept", "{count} concepts", count)
    raise NotFound(N_("This map no longer exists; run /explore again."))   # the core

Placeholders are ``str.format`` names; numbers are written the language's way
(1,234 / 1.234 / 1 234) and durations in its words.
"""

from __future__ import annotations

import gettext
import io
import logging
import string
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from functools import cache
from pathlib import Path

import babel
from babel.dates import format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "kinapse"  # the template is bot/locales/kinapse.pot
SOURCE_LOCALE = "en-US"  # the language the code is written in
# msgctxt of the names of commands, groups and options: lowercase, no spaces, 1-32 characters.
COMMAND_NAME = "command name"

_language: ContextVar[str] = ContextVar("kinapse_language", default=SOURCE_LOCALE)


class Message(str):
    """A message the core says, in English, with what it needs to be said in another
    language: its ``template`` (the catalog's message id) and ``params``."""

    template: str
    params: dict[str, object]

    def __new__(cls, template: str, params: Mapping[str, object]) -> Message:
        said = super().__new__(cls, _filled(template, params, SOURCE_LOCALE))
        said.template = template
        said.params = dict(params)
        return said

    def __reduce__(self) -> tuple[object, ...]:
        return (Message, (self.template, self.params))


def N_(template: str, /, **params: object) -> Message:
    """Mark ``template`` as a message to translate where it is shown; it reads as English
    until then (logs, storage)."""
    return Message(template, params)


def _(message: str, /, **params: object) -> str:
    """``message`` in the language of the interaction being answered, placeholders filled.

    A ``Message`` from the core brings its own values; ``params`` add to them.
    """
    return translate(_language.get(), message, **params)


def ngettext(singular: str, plural: str, count: int, /, **params: object) -> str:
    """The form of the message that fits ``count`` (available as ``{count}``)."""
    locale = _language.get()
    text = catalog(locale).ngettext(singular, plural, count)
    return _filled(text, {"count": count, **params}, locale)


def pgettext(context: str, message: str, /) -> str:
    """``message`` as the catalog translates it in ``context`` (command names)."""
    return catalog(_language.get()).pgettext(context, message)


def translate(locale: str, message: str, /, **params: object) -> str:
    """``message`` in ``locale`` (a Discord locale such as ``pt-BR``), or in English."""
    if isinstance(message, Message):
        params = {**message.params, **params}
        message = message.template
    return _filled(catalog(locale).gettext(message), params, locale)


def number(value: float) -> str:
    """``value`` written the current language's way (1,234 / 1.234 / 1 234)."""
    return str(_shown(value, _language.get()))


def language() -> str:
    """The locale the current interaction is answered in."""
    return _language.get()


def set_language(locale: str | None) -> None:
    """Answer the rest of the current task (an interaction's handler) in ``locale``."""
    _language.set(locale or SOURCE_LOCALE)


@contextmanager
def speaking(locale: str | None) -> Iterator[None]:
    """Messages inside the block in ``locale``."""
    token = _language.set(locale or SOURCE_LOCALE)
    try:
        yield
    finally:
        _language.reset(token)


# -- the catalogs ----------------------------------------------------------------


def shipped() -> dict[str, Path]:
    """Every catalog in ``bot/locales``, by the Discord locale it serves."""
    return {path.stem: path for path in sorted(LOCALES_DIR.glob("*.po"))}


@cache
def catalog(locale: str) -> gettext.NullTranslations:
    """The translations for ``locale``: its own catalog, else one of the same language
    (es-419 reads es-ES), else none (English)."""
    files = shipped()
    wanted = locale.replace("_", "-").casefold()
    found = next((path for name, path in files.items() if name.casefold() == wanted), None)
    if found is None:
        base = wanted.split("-")[0]
        same = [path for name, path in files.items() if name.casefold().split("-")[0] == base]
        found = same[0] if same else None
    if found is None:
        return gettext.NullTranslations()
    return _compiled(found)


@cache
def _compiled(path: Path) -> gettext.GNUTranslations:
    """A .po file as the standard library's gettext reads a compiled catalog."""
    with path.open("rb") as po:
        messages = read_po(po, locale=babel_locale(path.stem), domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@cache
def babel_locale(locale: str) -> babel.Locale:
    """Babel's locale for a Discord locale (``pt-BR``), English if Babel has none."""
    try:
        return babel.Locale.parse(locale.replace("-", "_"))
    except (ValueError, babel.UnknownLocaleError):
        return babel.Locale("en")


# -- filling in the values ---------------------------------------------------------


def placeholders(text: str) -> set[str]:
    """The names of ``text``'s ``{placeholders}``."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _filled(text: str, params: Mapping[str, object], locale: str) -> str:
    if not params:
        return text
    shown = {name: _shown(value, locale) for name, value in params.items()}
    try:
        return text.format_map(shown)
    except (KeyError, IndexError, ValueError):
        # A catalog that names a placeholder wrongly (a test forbids it) still says something.
        log.error("Message %r could not be filled in for %s", text, locale)
        return text


def _shown(value: object, locale: str) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return format_decimal(value, locale=babel_locale(locale))
    if isinstance(value, timedelta):
        return format_timedelta(value, threshold=1.5, locale=babel_locale(locale))
    if isinstance(value, Message):
        return translate(locale, value)
    return value
