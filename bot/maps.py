"""Bundled maps: ``maps/*.yaml`` loaded and validated once, found by topic or alias."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.errors import StartupError
from bot.models import BundledConcept, BundledMap, TopicError, topic_key

log = logging.getLogger(__name__)


class MapsFolderMissing(StartupError):
    """The bundled maps folder is not there."""


@dataclass(frozen=True)
class MapFileError:
    """Why one file in maps/ could not be loaded: the file and the failing field."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path.name}: {self.message}"


def load_map_file(path: Path) -> BundledMap:
    """Parse and validate one map file; raises ``ValueError`` naming the failing field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot be read as YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("is not a mapping of topic, overview and concepts")
    try:
        bundled = BundledMap.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        raise ValueError(f"{where}: {error['msg']}") from None
    trail = [(bundled.sources, "sources")] + [(c.sources, "concept sources") for c in _all(bundled)]
    if any(source.url is None for sources, _ in trail for source in sources):
        raise ValueError("sources: every source of a curated map needs its url")
    try:
        topic_key(bundled.topic)
        for alias in bundled.aliases:
            topic_key(alias)
    except TopicError as exc:
        raise ValueError(f"topic or alias: {exc}") from None
    bundled.loaded_from(f"{path.parent.name}/{path.name}")
    return bundled


def _all(bundled: BundledMap) -> list[BundledConcept]:
    found: list[BundledConcept] = []

    def down(concepts: list[BundledConcept]) -> None:
        for concept in concepts:
            found.append(concept)
            down(concept.children or [])

    down(bundled.concepts)
    return found


@dataclass
class BundledMaps:
    """Every bundled map, by topic key and alias key."""

    maps: list[BundledMap] = field(default_factory=list)
    errors: list[MapFileError] = field(default_factory=list)
    _by_key: dict[str, BundledMap] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, folder: Path) -> BundledMaps:
        """Load every ``*.yaml`` in ``folder``; a bad file is logged and skipped.

        Raises ``MapsFolderMissing`` when ``folder`` is not a folder: a bot
        started with a mistyped KINAPSE_MAPS_DIR should say so, not run empty.
        """
        if not folder.is_dir():
            raise MapsFolderMissing(
                f"{folder}: the bundled maps folder does not exist (KINAPSE_MAPS_DIR)"
            )
        loaded = cls()
        for path in sorted(folder.glob("*.yaml")):
            try:
                bundled = load_map_file(path)
                if any(m.key == bundled.key for m in loaded.maps):
                    raise ValueError(f"topic: {bundled.topic!r} is already another file's topic")
                loaded.add(bundled)
            except ValueError as exc:
                error = MapFileError(path, str(exc))
                loaded.errors.append(error)
                log.error("Skipping bundled map %s", error)
        log.info("Loaded %d bundled maps from %s", len(loaded.maps), folder)
        return loaded

    def add(self, bundled: BundledMap) -> None:
        self.maps.append(bundled)
        # A topic always wins over another map's alias.
        for alias in bundled.alias_keys:
            self._by_key.setdefault(alias, bundled)
        self._by_key[bundled.key] = bundled

    def find(self, key: str) -> BundledMap | None:
        """The bundled map whose topic or alias has this normalized key."""
        return self._by_key.get(key)

    def names(self) -> list[tuple[str, list[str]]]:
        """(topic, alias keys) of every bundled map, for autocomplete."""
        return [(m.topic, [m.key, *m.alias_keys]) for m in self.maps]

    def topics(self, limit: int) -> list[str]:
        """The topics of the first ``limit`` maps: what to offer when nothing new can be mapped."""
        return [m.topic for m in self.maps[:limit]]
