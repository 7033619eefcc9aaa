"""The member's language on Discord: every interaction is answered in its ``locale`` (the
member's client language), and the slash commands carry the catalogs' translations.

``speak_to`` is called where an interaction's handling starts (the command tree's check,
``run_safely`` for buttons, the Ask form); every ``bot.i18n._`` after it, in that task
and the tasks it starts, speaks the member's language. ``CatalogTranslator`` gives
Discord the commands' names, descriptions and choices in every shipped language.
"""

from __future__ import annotations

from gettext import GNUTranslations

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where

from bot.i18n import COMMAND_NAME, SOURCE_LOCALE, catalog, set_language, shipped
from bot.languages import place_locale
from bot.ui.context import place_locale_of

# Where discord.py asks for a command's name (lowercase, no spaces: msgctxt COMMAND_NAME).
NAMES = frozenset({Where.command_name, Where.group_name, Where.parameter_name})


def speak_to(interaction: discord.Interaction) -> None:
    """Answer the rest of this interaction's handling in the member's language; content
    for a scope that never chose a language is written in its place's (``place_locale``)."""
    set_language(str(interaction.locale) if interaction.locale else SOURCE_LOCALE)
    place_locale.set(place_locale_of(interaction))


def context_of(location: Where) -> str | None:
    """The msgctxt of a command string: names have one, so that "maps" the command and
    "Maps" the heading are translated apart."""
    return COMMAND_NAME if location in NAMES else None


class CatalogTranslator(app_commands.Translator):
    """Commands, options and choices in every language a catalog ships for (and its
    neighbours: es-419 reads es-ES); None, so Discord shows English, elsewhere."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        if str(locale).split("-")[0] == SOURCE_LOCALE.split("-")[0]:
            return None
        translations = catalog(str(locale))
        if not isinstance(translations, GNUTranslations):
            return None  # no catalog for this language: Discord shows the English
        message = string.message
        where = context_of(context.location)
        return translations.pgettext(where, message) if where else translations.gettext(message)


async def command_strings(tree: app_commands.CommandTree) -> set[tuple[str, str | None]]:
    """(message, msgctxt) of every string the commands of ``tree`` show a member: what
    goes into the catalogs' template (``python -m bot catalogs update``)."""
    recorder = _Recorder()
    for command in tree.get_commands():
        await command.get_translated_payload(tree, recorder)
    return recorder.seen


class _Recorder(app_commands.Translator):
    def __init__(self) -> None:
        self.seen: set[tuple[str, str | None]] = set()

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        self.seen.add((string.message, context_of(context.location)))
        return None


def shipped_locales() -> list[discord.Locale]:
    """The Discord locales a catalog ships for."""
    return [discord.Locale(name) for name in shipped()]
