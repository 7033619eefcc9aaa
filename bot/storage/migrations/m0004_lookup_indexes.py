"""4: indexes for the lookups deletes make.

Forgetting a map deletes its concepts, and each deleted map or concept looks up
the sessions and answers that point at it (ON DELETE CASCADE / SET NULL): without
these indexes every one of those lookups scans the whole table, so forgetting a
map with 50,000 sessions took seconds instead of milliseconds.
"""

from bot.storage.migrations import Migration

MIGRATION = Migration(
    shared=(
        "CREATE INDEX sessions_by_map ON sessions (map_id)",
        "CREATE INDEX sessions_by_concept ON sessions (concept_id)",
        "CREATE INDEX answers_by_concept ON answers (concept_id)",
    ),
)
