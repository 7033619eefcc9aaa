"""8: /maps walks an index in the order it lists, a page at a time.

/maps lists a scope's maps most explored first, then by topic, then by id (so
that LIMIT/OFFSET pages never repeat or skip a map). With an index on (scope,
opened) alone the database sorted every map of the scope for each page; this one
is in that order, so a page reads its own rows and stops.
"""

from bot.storage.migrations import Migration

MIGRATION = Migration(
    shared=(
        "DROP INDEX maps_by_scope_explored",
        "CREATE INDEX maps_in_listing_order ON maps (scope, opened DESC, lower(topic), id)",
    ),
)
