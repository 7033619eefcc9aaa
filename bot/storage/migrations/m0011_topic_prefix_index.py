"""11: autocomplete's prefix query walks an index on PostgreSQL too.

The query compares keys byte by byte (code point order), so that "starts with"
is exactly a range. SQLite's index on (scope, key) already compares that way;
PostgreSQL's compares in the database's locale, so it gets one in "C" order.
"""

from bot.storage.migrations import Migration

MIGRATION = Migration(
    postgres=('CREATE INDEX maps_by_key_bytes ON maps (scope, key COLLATE "C")',),
)
