"""15: curated maps translated, once per language, shared by every scope.

A part is the map's top (its topic, overview and key concepts: ``part`` "") or the
children of one curated concept (``part`` its positions from the key concept down,
"2.1"); ``source_hash`` is that part's English text as the bundled file had it, so a
file edited since is translated again. ``content`` is the translation as JSON.
"""

from bot.storage.migrations import Migration

MIGRATION = Migration(
    shared=(
        """CREATE TABLE translations (
            source_key TEXT NOT NULL,
            language TEXT NOT NULL,
            part TEXT NOT NULL,
            source_hash TEXT NOT NULL,
            content TEXT NOT NULL,
            model TEXT NOT NULL,
            created_at {real} NOT NULL,
            PRIMARY KEY (source_key, language, part)
        )""",
    ),
)
