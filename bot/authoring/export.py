"""``python -m bot maps export``: a bundled map, or a map as a server has stored and grown
it, in any of the formats of ``bot.render.export``."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.config import Settings
from bot.maps import BundledMaps
from bot.models import MapTree, TopicError, topic_key
from bot.render.export import ExportFormat, export
from bot.storage import open_storage

MISSING = 1  # exit status: nothing to export


async def export_command(settings: Settings, topic: str, fmt: str, scope: int | None) -> int:
    """``python -m bot maps export``: print a bundled map, or the stored map of ``scope``."""
    formats = [f.value for f in ExportFormat]
    if fmt not in formats:
        print(f"Unknown format {fmt!r}; use one of: {', '.join(formats)}.", file=sys.stderr)
        return MISSING
    try:
        key = topic_key(topic)
    except TopicError as exc:
        print(f"Cannot export {topic!r}: {exc}", file=sys.stderr)
        return MISSING
    if scope is None:
        bundled = BundledMaps.load(settings.maps_dir)
        found = bundled.find(key)
        if found is None:
            topics = ", ".join(m.topic for m in bundled.maps) or "none"
            print(
                f"No bundled map for {topic!r} in {settings.maps_dir}. Bundled topics: {topics}.",
                file=sys.stderr,
            )
            return MISSING
        tree = MapTree.of_bundled(found)
    else:
        # Only an export of a stored map needs the explore core (and its imports).
        from bot.explore import Explorer

        # Storage.open would create an empty database; an export only reads.
        if isinstance(settings.database, Path) and not settings.database.is_file():
            print(f"No database at {settings.database}: nothing is stored yet.", file=sys.stderr)
            return MISSING
        # A database that cannot be opened raises StartupError: python -m bot prints it.
        async with open_storage(settings.database) as storage:
            explorer = Explorer(storage, BundledMaps.load(settings.maps_dir), settings)
            stored = await explorer.topics.find_stored(scope, topic)
            if stored is None:
                print(
                    f"No stored map for {topic!r} in scope {scope} ({storage.where}).",
                    file=sys.stderr,
                )
                return MISSING
            tree = await explorer.concepts.tree_of(stored)
    sys.stdout.write(export(tree, ExportFormat(fmt)))
    return 0
