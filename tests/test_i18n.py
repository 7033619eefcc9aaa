"""The message catalogs: every message the code says is in the template and translated in
every shipped catalog, with the same placeholders; the commands' translations are names
Discord accepts; and a message is said in the member's language, English as the fallback."""

from __future__ import annotations

from datetime import timedelta

import discord
import pytest
import regex
from babel.messages.catalog import Message as Entry
from babel.messages.pofile import read_po

from bot.authoring.catalogs import TEMPLATE, command_strings, marked_messages
from bot.i18n import (
    COMMAND_NAME,
    DOMAIN,
    N_,
    _,
    babel_locale,
    ngettext,
    placeholders,
    shipped,
    speaking,
    translate,
)

CATALOGS = shipped()
UPDATE = "run `uv run python -m bot catalogs update`, then translate what it reports"
# Discord's rules for a command or option name in any language (application commands).
COMMAND_NAME_RULE = regex.compile(r"^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$")
DESCRIPTION_MAX = 100
CHOICE_NAME_MAX = 100


def read(path) -> list[Entry]:
    with path.open("rb") as file:
        catalog = read_po(file, locale=babel_locale(path.stem), domain=DOMAIN)
    return [entry for entry in catalog if entry.id]


def key(entry: Entry) -> tuple[str, str | None]:
    return (entry.id if isinstance(entry.id, str) else entry.id[0], entry.context)


def test_at_least_the_five_languages_ship_and_each_serves_a_discord_locale():
    assert {"de", "es-ES", "fr", "ja", "pt-BR"} <= CATALOGS.keys()
    for name in CATALOGS:
        assert str(discord.Locale(name)) == name


async def test_the_template_has_every_message_the_code_says():
    said = {(m if isinstance(m, str) else m[0], c) for m, c, *_ in marked_messages()}
    said |= await command_strings()
    template = {key(entry) for entry in read(TEMPLATE)}
    assert said - template == set(), f"messages missing from the template: {UPDATE}"
    assert template - said == set(), f"the template has messages no longer said: {UPDATE}"


@pytest.mark.parametrize("locale", sorted(CATALOGS))
def test_every_message_is_translated_with_the_same_placeholders(locale: str):
    entries = {key(entry): entry for entry in read(CATALOGS[locale])}
    template = {key(entry) for entry in read(TEMPLATE)}
    assert template - entries.keys() == set(), f"{locale} lacks messages: {UPDATE}"
    assert entries.keys() - template == set(), f"{locale} has messages no longer said: {UPDATE}"
    for entry in entries.values():
        sources = [entry.id] if isinstance(entry.id, str) else list(entry.id)
        targets = [entry.string] if isinstance(entry.string, str) else list(entry.string)
        assert all(targets), f"{locale}: no translation of {sources[0]!r}"
        assert not entry.fuzzy, f"{locale}: the translation of {sources[0]!r} is a guess (fuzzy)"
        wanted = set().union(*map(placeholders, sources))
        for target in targets:
            # A plural form may leave the count out ("un concept"); no other placeholder.
            found = placeholders(target)
            assert found <= wanted and wanted - found <= {"count"}, (
                f"{locale}: {target!r} has {sorted(found)}, {sources[0]!r} has {sorted(wanted)}"
            )


@pytest.mark.parametrize("locale", sorted(CATALOGS))
async def test_the_commands_translations_are_what_discord_accepts(locale: str):
    names = {m for m, c in await command_strings() if c == COMMAND_NAME}
    for entry in read(CATALOGS[locale]):
        if entry.context == COMMAND_NAME:
            assert entry.id in names
            assert COMMAND_NAME_RULE.match(entry.string), f"{locale}: {entry.string!r}"
            assert entry.string == entry.string.lower(), f"{locale}: {entry.string!r}"
    descriptions = {m for m, c in await command_strings() if c is None}
    for entry in read(CATALOGS[locale]):
        if entry.id in descriptions:
            assert len(entry.string) <= min(DESCRIPTION_MAX, CHOICE_NAME_MAX), entry.string


def test_a_message_is_said_in_the_language_spoken_and_in_english_without_a_catalog():
    with speaking("fr"):
        assert _("Markdown outline") == "Plan en Markdown"
    with speaking("es-419"):  # Latin American Spanish reads the Spanish catalog
        assert _("Markdown outline") == "Esquema en Markdown"
    with speaking("ko"):  # no Korean catalog yet: English
        assert _("Markdown outline") == "Markdown outline"
    assert _("Markdown outline") == "Markdown outline"  # nobody's language: English
    assert translate("ja", "Markdown outline") == "Markdownアウトライン"


def test_values_are_written_the_languages_way():
    template = "{tokens} tokens in {duration}"
    assert translate("en-US", template, tokens=1234567, duration=timedelta(minutes=10)) == (
        "1,234,567 tokens in 10 minutes"
    )
    assert translate("de", template, tokens=1234567, duration=timedelta(minutes=10)) == (
        "1.234.567 tokens in 10 Minuten"
    )


def test_the_core_marks_a_message_that_reads_as_english_until_it_is_shown():
    said = N_("Forget one of this server's maps; curated maps come back fresh next time.")
    assert said == "Forget one of this server's maps; curated maps come back fresh next time."
    with speaking("de"):
        assert _(said).startswith("Eine Karte dieses Servers vergessen")
    counted = N_("{count} and {more}", count=1500, more=N_("JSON"))
    assert counted == "1,500 and JSON"
    assert translate("fr", counted) == "1\u202f500 and JSON"


def test_plural_forms_follow_the_languages_rules():
    # No catalog has this message: the English forms, chosen by English's rule.
    assert ngettext("{count} map", "{count} maps", 1) == "1 map"
    assert ngettext("{count} map", "{count} maps", 2000) == "2,000 maps"
