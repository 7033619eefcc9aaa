"""12: who asked for each answer, and whether they shared it.

An answer is stored once per card and question and shown to everyone who asks it;
each asking is a row here, and the asker's Share button carries the row's id. Only
the asker may share it, and ``shared_at``, set in the transaction that claims the
share, posts it once however often (or however many times at once) Share is pressed.
Rows older than ``KINAPSE_SESSION_DAYS`` are pruned with the sessions.
"""

from bot.storage.migrations import Migration

MIGRATION = Migration(
    shared=(
        # {id}: a pruned asking's id lives on in its Share button, and must never name another.
        """CREATE TABLE asks (
            id {id},
            answer_id {bigint} NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
            user_id {bigint} NOT NULL,
            created_at {real} NOT NULL,
            shared_at {real}
        )""",
        "CREATE INDEX asks_by_age ON asks (created_at)",
        "CREATE INDEX asks_by_answer ON asks (answer_id)",  # deleting a map's answers
    ),
)
