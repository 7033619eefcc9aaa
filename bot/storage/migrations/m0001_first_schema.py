"""1: the first schema."""

from bot.storage.migrations import Migration

MIGRATION = Migration(
    shared=(
        # {id}: ids live on in custom_ids for ever, so a forgotten map's ids must
        # never be handed to a new one.
        """CREATE TABLE maps (
            id {id},
            scope {bigint} NOT NULL,
            key TEXT NOT NULL,
            topic TEXT NOT NULL,
            language TEXT NOT NULL,
            overview TEXT NOT NULL,
            source TEXT NOT NULL,
            model TEXT,
            created_at {real} NOT NULL,
            UNIQUE (scope, key)
        )""",
        """CREATE TABLE concepts (
            id {id},
            map_id {bigint} NOT NULL REFERENCES maps (id) ON DELETE CASCADE,
            parent_id {bigint} REFERENCES concepts (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            depth INTEGER NOT NULL,
            title TEXT NOT NULL,
            summary TEXT NOT NULL,
            detail TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'unexpanded',
            lease_until {real},
            error TEXT,
            open_count INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX concepts_by_parent ON concepts (parent_id, position)",
        "CREATE INDEX concepts_by_map ON concepts (map_id, parent_id, position)",
        """CREATE TABLE sessions (
            message_id {bigint} PRIMARY KEY,
            owner_id {bigint} NOT NULL,
            scope {bigint} NOT NULL,
            map_id {bigint} NOT NULL REFERENCES maps (id) ON DELETE CASCADE,
            concept_id {bigint} REFERENCES concepts (id) ON DELETE SET NULL,
            history TEXT NOT NULL DEFAULT '[]',
            updated_at {real} NOT NULL
        )""",
        """CREATE TABLE usage (
            id {rowid},
            scope {bigint} NOT NULL,
            user_id {bigint},
            request TEXT NOT NULL,
            kind TEXT NOT NULL,
            model TEXT NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cache_read_tokens INTEGER NOT NULL,
            cache_write_tokens INTEGER NOT NULL,
            created_at {real} NOT NULL
        )""",
        "CREATE INDEX usage_by_scope ON usage (scope, created_at)",
        "CREATE INDEX usage_by_user ON usage (user_id, created_at)",
        """CREATE TABLE scope_settings (
            scope {bigint} PRIMARY KEY,
            language TEXT,
            daily_token_budget INTEGER
        )""",
        """CREATE TABLE refusals (
            scope {bigint} NOT NULL,
            key TEXT NOT NULL,
            until {real} NOT NULL,
            PRIMARY KEY (scope, key)
        )""",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
)
