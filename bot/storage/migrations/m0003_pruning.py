"""3: indexes for the daily pruning of old sessions and usage."""

from bot.storage.migrations import Migration

MIGRATION = Migration(
    shared=(
        "CREATE INDEX sessions_by_age ON sessions (updated_at)",
        "CREATE INDEX usage_by_age ON usage (created_at)",
    ),
)
