"""The message catalogs' tools: ``python -m bot catalogs update`` gathers every message the
code marks (``_``, ``N_``, ``ngettext``) and every string of the slash commands, writes the
template ``bot/locales/kinapse.pot`` and merges it into each language's catalog (new
messages come in untranslated, changed ones are marked fuzzy: both wait for a translator,
and the tests fail until they have one); ``python -m bot catalogs new it`` starts a
language from the template.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import discord
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.config import PROJECT_ROOT, Settings
from bot.i18n import DOMAIN, LOCALES_DIR, babel_locale, shipped

BOT = PROJECT_ROOT / "bot"
TEMPLATE = LOCALES_DIR / f"{DOMAIN}.pot"
# The functions whose string arguments are messages, as Babel's extractor reads them.
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
COMMENT_TAG = "Translators:"  # a comment above a message that starts so goes to the catalog
WIDTH = 100
HEADER = "# Kinapse's messages. Translate each msgstr; keep {placeholders} as they are."
# The template's date stays put, so the files change only when the messages do.
CREATED = datetime(2026, 12, 1, tzinfo=UTC)


def marked_messages() -> Iterable[tuple[str | tuple[str, str], str | None, str, int, list[str]]]:
    """(message, msgctxt, file, line, comments) of every message marked in ``bot/``."""
    found = extract_from_dir(
        BOT,
        method_map=[("**.py", "python")],
        keywords=KEYWORDS,
        comment_tags=(COMMENT_TAG,),
        strip_comment_tags=True,
    )
    for filename, line, message, comments, context in found:
        yield message, context, f"bot/{filename}", line, comments


async def command_strings() -> set[tuple[str, str | None]]:
    """Every name, description and choice of the slash commands, as Discord is told them."""
    from bot.ui.client import KinapseBot
    from bot.ui.speech import command_strings as strings

    bot = KinapseBot(Settings(), explorer=None)  # type: ignore[arg-type]  # never connects
    await bot.add_cogs()
    return await strings(bot.tree)


def template() -> Catalog:
    """The catalog of every message, untranslated: what each language's file must cover."""
    catalog = Catalog(
        domain=DOMAIN, project="Kinapse", header_comment=HEADER, creation_date=CREATED, fuzzy=False
    )
    for message, context, filename, line, comments in marked_messages():
        catalog.add(message, None, [(filename, line)], auto_comments=comments, context=context)
    for message, context in sorted(asyncio.run(command_strings()), key=str):
        note = ["A command's name: lowercase, no spaces, at most 32 characters."] if context else []
        catalog.add(message, None, [("bot/ui/cog.py", 0)], auto_comments=note, context=context)
    return catalog


def update() -> list[str]:
    """Write the template and merge it into every catalog; a line per language saying what
    is left to translate."""
    fresh = template()
    _write(fresh, TEMPLATE)
    report = []
    for name, path in shipped().items():
        with path.open("rb") as file:
            catalog = read_po(file, locale=babel_locale(name), domain=DOMAIN)
        catalog.update(fresh, no_fuzzy_matching=False)
        catalog.obsolete.clear()  # what the code no longer says goes with it
        _write(catalog, path)
        todo = [m for m in catalog if m.id and (not _translated(m) or m.fuzzy)]
        report.append(f"{name}: {len(todo)} of {len(fresh)} messages to translate")
    return report


def new(locale: str) -> Path:
    """A new language's catalog, from the template, named for its Discord locale."""
    discord.Locale(locale)  # ValueError for a locale Discord does not know
    path = LOCALES_DIR / f"{locale}.po"
    if path.exists():
        raise FileExistsError(f"{path} exists; run `python -m bot catalogs update` instead")
    with TEMPLATE.open("rb") as file:
        fresh = read_po(file, domain=DOMAIN)
    catalog = Catalog(
        locale=babel_locale(locale),
        domain=DOMAIN,
        project="Kinapse",
        header_comment=HEADER,
        creation_date=CREATED,
        revision_date=CREATED,
        fuzzy=False,
    )
    catalog.update(fresh)
    _write(catalog, path)
    return path


def _translated(message: object) -> bool:
    string = getattr(message, "string", None)
    if isinstance(string, tuple | list):
        return all(string)
    return bool(string)


def _write(catalog: Catalog, path: Path) -> None:
    with path.open("wb") as file:
        # No line numbers: they would change every catalog whenever code moves.
        write_po(file, catalog, width=WIDTH, include_lineno=False)


def catalogs_command(action: str, locale: str | None) -> int:
    if action == "new":
        if not locale:
            print("Name the Discord locale of the new language, e.g. `it`.", file=sys.stderr)
            return 2
        try:
            print(f"Wrote {new(locale).relative_to(PROJECT_ROOT)}; translate every message.")
        except (ValueError, FileExistsError) as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return 2
        return 0
    for line in update():
        print(line)
    return 0
