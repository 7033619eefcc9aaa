"""16: maps of a member's own material (issue 21).

A map made from a file or a page says so (``maps.material``: 'pdf', 'text' or 'page'),
and keeps that material in ``materials``, one row per map, deleted with it: the bytes
(a PDF, or the text of a file or of the page the API fetched), the Files API id it was
uploaded under (NULL when it was not), who shared it, and its SHA-256 (the same file
shared again in the scope opens the same map).
"""

from bot.storage.migrations import Migration

_MATERIALS = """CREATE TABLE materials (
    map_id {bigint} PRIMARY KEY REFERENCES maps (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    title TEXT,
    media_type TEXT NOT NULL,
    data {blob} NOT NULL,
    digest TEXT NOT NULL,
    request TEXT NOT NULL,
    pages INTEGER,
    file_id TEXT,
    shared_by {bigint},
    language TEXT,
    created_at {real} NOT NULL
)"""

MIGRATION = Migration(
    shared=("ALTER TABLE maps ADD COLUMN material TEXT",),
    # BLOB and BYTEA: the one type the backends spell differently.
    sqlite=(
        _MATERIALS.format(bigint="INTEGER", blob="BLOB", real="REAL"),
        "CREATE INDEX materials_by_digest ON materials (digest)",
    ),
    postgres=(
        _MATERIALS.format(bigint="BIGINT", blob="BYTEA", real="DOUBLE PRECISION"),
        "CREATE INDEX materials_by_digest ON materials (digest)",
    ),
)
