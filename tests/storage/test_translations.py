"""Curated maps' translations: one per map, language and part, replaced when the English
they were made from changes; on SQLite and PostgreSQL."""

from __future__ import annotations

from bot.storage import Storage, StoredTranslation


async def test_a_translation_is_stored_once_per_part_and_replaced_by_a_newer_one(
    storage: Storage,
):
    assert await storage.translation("ai agents", "ja", "") is None
    await storage.save_translation(
        "ai agents", "ja", "", source_hash="old", content='{"a": 1}', model="m1", now=1.0
    )
    await storage.save_translation(
        "ai agents", "ja", "0", source_hash="kid", content='{"b": 2}', model="m1", now=1.0
    )
    await storage.save_translation(
        "ai agents", "ja", "", source_hash="new", content='{"a": 3}', model="m2", now=2.0
    )
    assert await storage.translation("ai agents", "ja", "") == StoredTranslation(
        "new", '{"a": 3}', "m2"
    )
    assert await storage.translation("ai agents", "ja", "0") == StoredTranslation(
        "kid", '{"b": 2}', "m1"
    )
    assert await storage.translation("ai agents", "de", "") is None
