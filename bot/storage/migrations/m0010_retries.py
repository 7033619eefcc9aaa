"""10: the Retry of a new topic whose map failed.

Its button carries only the id of this row, which holds the request: the topic to
map, and, when it came from a chosen meaning of an ambiguous topic, that meaning
(so a successful Retry records the typed topic as its alias, as the first attempt
would have). Rows older than ``KINAPSE_SESSION_DAYS`` are pruned with the sessions.
"""

from bot.storage.migrations import Migration

MIGRATION = Migration(
    shared=(
        # {id}: a pruned retry's id lives on in its button, and must never name another.
        """CREATE TABLE retries (
            id {id},
            scope {bigint} NOT NULL,
            topic TEXT NOT NULL,
            meaning_id {bigint} REFERENCES meanings (id) ON DELETE CASCADE,
            created_at {real} NOT NULL
        )""",
        "CREATE INDEX retries_by_age ON retries (created_at)",
    ),
)
