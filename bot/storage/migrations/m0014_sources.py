"""14: where every card's facts come from (issue 20).

A concept records who wrote it and when (``model``, ``created_at``; NULL for a curated
concept, whose file says where its facts come from) and the web search results it rests on
(``sources``, JSON); a generated map its overview's sources and whether its topic's facts
change (``volatile``). An answer keeps the results it cited. Usage counts web searches
(they count against the daily budget at their price in tokens). A server chooses whether
generations search the web (``sources``: NULL or 'web', or 'off') and which sites to
prefer or block. ``concept_versions`` keeps a refreshed concept's earlier texts.

Concepts of generated maps stored before this are backfilled with their map's model, and
key concepts (written with their map) with its date; a deeper one's date is unknown.
"""

from bot.storage.migrations import Migration

MIGRATION = Migration(
    shared=(
        "ALTER TABLE concepts ADD COLUMN model TEXT",
        "ALTER TABLE concepts ADD COLUMN created_at {real}",
        "ALTER TABLE concepts ADD COLUMN sources TEXT",
        "ALTER TABLE maps ADD COLUMN sources TEXT",
        "ALTER TABLE maps ADD COLUMN volatile INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE answers ADD COLUMN sources TEXT",
        "ALTER TABLE usage ADD COLUMN web_searches INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE scope_settings ADD COLUMN sources TEXT",
        "ALTER TABLE scope_settings ADD COLUMN prefer_domains TEXT",
        "ALTER TABLE scope_settings ADD COLUMN block_domains TEXT",
        """UPDATE concepts SET model = (SELECT m.model FROM maps m WHERE m.id = concepts.map_id)
           WHERE map_id IN (SELECT id FROM maps WHERE source = 'generated')""",
        """UPDATE concepts
           SET created_at = (SELECT m.created_at FROM maps m WHERE m.id = concepts.map_id)
           WHERE depth = 1 AND map_id IN (SELECT id FROM maps WHERE source = 'generated')""",
        # {rowid}: a version is read through its concept, never by an id a button carries.
        """CREATE TABLE concept_versions (
            id {rowid},
            concept_id {bigint} NOT NULL REFERENCES concepts (id) ON DELETE CASCADE,
            summary TEXT NOT NULL,
            detail TEXT NOT NULL,
            model TEXT,
            created_at {real},
            sources TEXT,
            replaced_at {real} NOT NULL
        )""",
        "CREATE INDEX concept_versions_by_concept ON concept_versions (concept_id, id)",
    ),
)
