"""7: how much of each map is explored, kept on the map row.

/maps and every card's footer read these two numbers; counting them from the
concepts on every read made /maps cost a join over all of a server's concepts.
"""

from bot.storage.migrations import Migration

MIGRATION = Migration(
    shared=(
        "ALTER TABLE maps ADD COLUMN opened {bigint} NOT NULL DEFAULT 0",
        "ALTER TABLE maps ADD COLUMN total {bigint} NOT NULL DEFAULT 0",
        """UPDATE maps SET
            total = (SELECT COUNT(*) FROM concepts c WHERE c.map_id = maps.id),
            opened = (SELECT COUNT(*) FROM concepts c
                      WHERE c.map_id = maps.id AND c.open_count > 0)""",
        "CREATE INDEX maps_by_scope_explored ON maps (scope, opened)",
    ),
)
