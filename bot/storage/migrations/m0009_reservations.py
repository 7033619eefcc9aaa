"""9: reservations of generations under way, shared by every process on the database.

A generation counts against its user's cooldown and its scope's daily budget
from the moment it starts; its usage is only recorded when it ends. Kept in
memory, that count held inside one process only, so shard processes on one
PostgreSQL could each start the allowed number. A reservation row is made with
the check (one write transaction) and deleted with the usage that settles it;
one left by a killed process stops counting at ``expires_at``.
"""

from bot.storage.migrations import Migration

MIGRATION = Migration(
    shared=(
        # {id}: a late settle deletes its reservation by id, so an id must never come
        # back for a newer one after an expired row was pruned.
        """CREATE TABLE reservations (
            id {id},
            scope {bigint} NOT NULL,
            user_id {bigint} NOT NULL,
            tokens INTEGER NOT NULL,
            created_at {real} NOT NULL,
            expires_at {real} NOT NULL
        )""",
        # The user's cooldown and the scope's budget read live rows (expires_at > now).
        "CREATE INDEX reservations_by_user ON reservations (user_id, expires_at)",
        "CREATE INDEX reservations_by_scope ON reservations (scope, expires_at)",
    ),
)
