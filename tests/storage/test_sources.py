"""Where concepts come from, as storage keeps it: who wrote a generated concept and when,
the search results it rests on, a refreshed concept's earlier text, searches in usage."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.models import SEARCH_TOKENS, Citation, Source, Usage
from bot.storage import ScopeSettings, Storage, open_storage
from bot.storage.migrations import MIGRATIONS, Dialect
from tests.storage.test_storage import GUILD, store_cells
from tests.support.fakes import draft

IEA = Citation(
    title="Oil Market Report",
    url="https://www.iea.org/reports/oil-market-report",
    publisher="iea.org",
    date="2026-11-14",
)
EIA = Citation(title="Short-Term Energy Outlook", url="https://www.eia.gov/outlooks/steo/")


async def store_oil(storage: Storage):
    return await storage.create_map(
        scope=GUILD,
        key="oil",
        topic="Oil",
        language="en",
        overview="Oil is a fuel. It is traded worldwide.",
        source=Source.GENERATED,
        model="claude-sonnet-4-6",
        concepts=[
            draft("Prices").model_copy(update={"sources": [IEA, EIA]}),
            draft("Producers"),
            draft("Reserves"),
            draft("Demand"),
        ],
        now=1_765_000_000.0,
        sources=[EIA],
        volatile=True,
    )


async def test_a_generated_map_keeps_who_wrote_it_when_and_its_sources(
    database: Path | str,
) -> None:
    async with open_storage(database) as storage:
        oil = await store_oil(storage)
        prices, producers, *_ = await storage.key_concepts(oil.id)
        again = await storage.get_map(oil.id)

    assert prices.sources == (IEA, EIA)
    assert producers.sources == ()
    assert (prices.model, prices.created_at) == ("claude-sonnet-4-6", 1_765_000_000.0)
    assert again is not None and again.sources == (EIA,) and again.volatile
    assert again.created_at == 1_765_000_000.0


async def test_a_curated_map_keeps_no_provenance_of_its_own(database: Path | str) -> None:
    """Its file says where its facts come from (and is read as it is now)."""
    async with open_storage(database) as storage:
        cells = await store_cells(storage)
        concepts = await storage.map_concepts(cells.id)

    assert all(c.model is None and c.created_at is None and not c.sources for c in concepts)


async def test_sub_concepts_written_under_a_curated_map_say_who_wrote_them(
    database: Path | str,
) -> None:
    async with open_storage(database) as storage:
        cells = await store_cells(storage)
        membrane = (await storage.key_concepts(cells.id))[2]
        await storage.claim_expansion(membrane.id, now=1.0, lease=60)
        written = [draft("Lipids").model_copy(update={"sources": [IEA]}), draft("Proteins")]
        await storage.store_expansion(
            membrane.id, written, leaf=False, model="claude-sonnet-4-6", now=2_000.0
        )
        lipids, proteins = await storage.children(membrane.id)
        path = await storage.path(lipids.id)

    assert (lipids.model, lipids.created_at, lipids.sources) == (
        "claude-sonnet-4-6",
        2_000.0,
        (IEA,),
    )
    assert proteins.model == "claude-sonnet-4-6" and proteins.sources == ()
    assert path[-1] == lipids  # the path's read carries the same columns


async def test_a_refreshed_concept_keeps_its_earlier_text(database: Path | str) -> None:
    async with open_storage(database) as storage:
        oil = await store_oil(storage)
        prices = (await storage.key_concepts(oil.id))[0]
        new = draft("Prices", "Prices today.", "Prices as of December 2026. They moved.")
        await storage.refresh_concept(
            prices.id, new.model_copy(update={"sources": [EIA]}), model="m2", now=9_000.0
        )
        refreshed = await storage.get_concept(prices.id)
        [earlier] = await storage.versions(prices.id)
        count = await storage.count_versions(prices.id)

    assert refreshed is not None
    assert (refreshed.title, refreshed.summary, refreshed.model) == (
        "Prices",
        "Prices today.",
        "m2",
    )
    assert refreshed.sources == (EIA,) and refreshed.created_at == 9_000.0
    assert (earlier.summary, earlier.model, earlier.sources) == (
        prices.summary,
        "claude-sonnet-4-6",
        [IEA, EIA],
    )
    assert (earlier.created_at, earlier.replaced_at) == (1_765_000_000.0, 9_000.0)
    assert count == 1


async def test_searches_count_in_usage_and_the_budget(database: Path | str) -> None:
    async with open_storage(database) as storage:
        await storage.record_usage(
            scope=GUILD,
            user_id=7,
            request="r",
            kind="map",
            usage=[Usage(model="m", input_tokens=100, output_tokens=50, web_searches=3)],
            now=10.0,
        )
        totals = await storage.usage_since(GUILD, 0.0)
        [(user, tokens)] = await storage.top_users(GUILD, 0.0)

    assert totals.searches == 3
    assert totals.tokens == 150 + 3 * SEARCH_TOKENS == tokens
    assert user == 7


async def test_a_server_chooses_sources_and_sites(database: Path | str) -> None:
    async with open_storage(database) as storage:
        assert (await storage.scope_settings(GUILD)).web_search is None
        chosen = ScopeSettings(
            web_search=False, prefer_domains=("iea.org", "eia.gov"), block_domains=("x.example",)
        )
        await storage.save_scope_settings(GUILD, chosen)
        assert await storage.scope_settings(GUILD) == chosen


async def test_the_migration_backfills_what_older_maps_knew(tmp_path: Path) -> None:
    """Concepts of a generated map stored before provenance was recorded take its model,
    and its key concepts its date; a curated map's stay unrecorded."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        for migration in MIGRATIONS[:11]:
            for statement in migration.statements(Dialect.SQLITE):
                db.execute(statement)
        db.execute(
            "INSERT INTO maps (id, scope, key, topic, language, overview, source, model, "
            "created_at) VALUES (1, 5, 'oil', 'Oil', 'en', 'O.', 'generated', 'claude-x', 77.0),"
            " (2, 5, 'cells', 'Cells', 'en', 'C.', 'bundled', NULL, 78.0)"
        )
        db.execute(
            "INSERT INTO concepts (id, map_id, parent_id, position, depth, title, summary, "
            "detail) VALUES (1, 1, NULL, 0, 1, 'Prices', 's', 'd'), (2, 1, 1, 0, 2, 'Brent', "
            "'s', 'd'), (3, 2, NULL, 0, 1, 'Membrane', 's', 'd')"
        )
        db.execute("PRAGMA user_version = 11")

    async with open_storage(path) as storage:
        prices, brent, membrane = [await storage.get_concept(n) for n in (1, 2, 3)]

    assert prices is not None and (prices.model, prices.created_at) == ("claude-x", 77.0)
    assert brent is not None and (brent.model, brent.created_at) == ("claude-x", None)
    assert membrane is not None and (membrane.model, membrane.created_at) == (None, None)
