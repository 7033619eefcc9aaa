"""5: the audience level (intro, standard, expert) of a scope and of each map.

NULL means standard, so rows stored before this need no backfill.
"""

from bot.storage.migrations import Migration

MIGRATION = Migration(
    shared=(
        "ALTER TABLE scope_settings ADD COLUMN level TEXT",
        "ALTER TABLE maps ADD COLUMN level TEXT",
    ),
)
