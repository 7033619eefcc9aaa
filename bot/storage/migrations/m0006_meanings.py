"""6: the meanings of ambiguous topics, and aliases of the maps chosen from them.

When the model answers that a topic has several meanings, they are stored per
(scope, typed key), so the next /explore of the same text asks again without a
model call; a meaning's id is all its button carries. Choosing one maps the
qualified topic ("Mercury (planet)"), and the typed key becomes its alias.
"""

from bot.storage.migrations import Migration

MIGRATION = Migration(
    shared=(
        # {id}: a meaning's id lives on in its button's custom_id.
        """CREATE TABLE meanings (
            id {id},
            scope {bigint} NOT NULL,
            key TEXT NOT NULL,
            topic TEXT NOT NULL,
            position INTEGER NOT NULL,
            title TEXT NOT NULL,
            line TEXT NOT NULL
        )""",
        "CREATE UNIQUE INDEX meanings_by_key ON meanings (scope, key, position)",
        """CREATE TABLE aliases (
            scope {bigint} NOT NULL,
            alias TEXT NOT NULL,
            key TEXT NOT NULL,
            PRIMARY KEY (scope, alias)
        )""",
    ),
)
