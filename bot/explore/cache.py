"""Maps and concepts this process has read, held so that the card of a known map or
concept is built without reading storage: bounded, and exact.

Exact: storage reports every committed write that changes what is held here
(``Storage.watch``): this process's right after its commit, and on PostgreSQL other
processes' as their NOTIFY arrives. A change only ever drops what it touched (never
patches it: a count patched twice would drift), and a read that overlapped a change
is not kept, since it may predate it. So what is held is never older than the last
change this process has heard of; while it may be missing changes (a PostgreSQL
listener lost), nothing is held at all.

An open whose answer went out before its count is written (``counted``) is counted
on every card from then on, until storage reports the write (or the writer gives up
on it: ``written``).

Bounded: at most ``MAPS_HELD`` maps, ``CONCEPTS_HELD`` concepts among them; the map
least recently read goes first, with everything held of it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.models import Concept, ConceptMap
from bot.storage import FORGOTTEN_SCOPE, Change, Changed, Storage

READ_ATTEMPTS = 3  # reads of a map with opens counted ahead, until one no write overlaps
MAPS_HELD = 2_000  # a busy server's maps; a map's row and lists are a few hundred bytes
CONCEPTS_HELD = 50_000  # about a kilobyte each (title, summary, detail): some 50 MB at most

Key = tuple[int, str]  # (scope, topic key)
T = TypeVar("T")


@dataclass
class _Held:
    """What is held of one map: its row (counts included), concepts by id, and the
    ordered ids under each parent (None: the key concepts)."""

    map: ConceptMap | None = None
    keys: set[Key] = field(default_factory=set)
    concepts: dict[int, Concept] = field(default_factory=dict)
    lists: dict[int | None, tuple[int, ...]] = field(default_factory=dict)


class KnownMaps:
    """Maps and concepts as storage has them, read once and then held."""

    def __init__(
        self, storage: Storage, *, maps: int = MAPS_HELD, concepts: int = CONCEPTS_HELD
    ) -> None:
        self.storage = storage
        self.maps_max = maps
        self.concepts_max = concepts
        self._held: OrderedDict[int, _Held] = OrderedDict()  # least recently read first
        self._keys: dict[Key, int] = {}  # a (scope, key) typed or stored -> its map
        self._where: dict[int, int] = {}  # each concept held -> its map
        # First opens answered whose counts are not written yet: concept -> its map.
        self._ahead: dict[int, int] = {}
        # Counts the changes heard of: a read that began before one is not kept.
        self._epoch = 0
        self.unwatch = storage.watch(self._on_change)

    # -- reads ---------------------------------------------------------------------

    async def map(self, map_id: int) -> ConceptMap | None:
        held = self._touch(map_id)
        if held is not None and held.map is not None:
            return self._counted_map(held.map)
        found = await self._read(lambda: self.storage.get_map(map_id), self._keep_map)
        return self._counted_map(found)

    async def find(self, scope: int, key: str, *, or_key: str | None = None) -> ConceptMap | None:
        """The scope's map stored under ``key``, else (a bundled map's alias) ``or_key``."""
        map_id = self._keys.get((scope, key))
        if map_id is not None:
            found = await self.map(map_id)  # counted there
            # Its row may have been read again since, and found forgotten by another
            # process whose notice is on its way: then the key no longer finds it.
            if found is not None and found.scope == scope:
                return found
            self._drop_key((scope, key))

        async def read() -> ConceptMap | None:
            found = await self.storage.find_map(scope, key)
            if found is None and or_key is not None and or_key != key:
                found = await self.storage.find_map(scope, or_key)
            return found

        def keep(found: ConceptMap | None) -> None:
            if found is not None and self._keep_map(found):
                # What was typed finds it until a map is stored under that very key.
                self._add_key(found.id, (scope, key))

        return self._counted_map(await self._read(read, keep))

    async def concept(self, concept_id: int) -> Concept | None:
        held = self._holding(concept_id)
        if held is not None:
            return self._counted(held.concepts[concept_id])
        found = await self._read(lambda: self.storage.get_concept(concept_id), self._keep_one)
        return self._counted(found) if found is not None else None

    async def key_concepts(self, map_id: int) -> list[Concept]:
        held = self._touch(map_id)
        if held is not None and (listed := _listed(held, None)) is not None:
            return self._all_counted(listed)
        found = await self._read(
            lambda: self.storage.key_concepts(map_id),
            lambda concepts: self._keep_list(map_id, None, concepts),
        )
        return self._all_counted(found)

    async def children(self, concept_id: int) -> list[Concept]:
        held = self._holding(concept_id)
        if held is not None and (listed := _listed(held, concept_id)) is not None:
            return self._all_counted(listed)
        map_id = self._where.get(concept_id)

        def keep(concepts: list[Concept]) -> None:
            owner = concepts[0].map_id if concepts else map_id
            if owner is not None:  # no children, and the concept is not held: no map known
                self._keep_list(owner, concept_id, concepts)

        return self._all_counted(await self._read(lambda: self.storage.children(concept_id), keep))

    async def path(self, concept_id: int) -> list[Concept]:
        """The concept's ancestors from its key concept down, the concept last."""
        held = self._holding(concept_id)
        if held is not None:
            path = [held.concepts[concept_id]]
            while (parent := path[-1].parent_id) is not None and parent in held.concepts:
                path.append(held.concepts[parent])
            if parent is None:
                return self._all_counted(path[::-1])
        found = await self._read(lambda: self.storage.path(concept_id), self._keep_many)
        return self._all_counted(found)

    # -- opens counted ahead of their write ----------------------------------------

    def counted(self, concept_id: int) -> None:
        """The answer to the first open of ``concept_id`` went out, and its count will be
        written later: every card counts it from now on. Known only of a concept held."""
        held = self._holding(concept_id)
        if held is not None and not held.concepts[concept_id].opened:
            self._ahead[concept_id] = held.concepts[concept_id].map_id

    def written(self, concept_ids: Iterable[int]) -> None:
        """The writes of these opens are done, or given up: storage counts what landed."""
        for concept_id in concept_ids:
            self._ahead.pop(concept_id, None)

    def ahead_in(self, map_id: int) -> set[int]:
        """The concepts of ``map_id`` whose first open is counted ahead of its write."""
        return {concept_id for concept_id, of in self._ahead.items() if of == map_id}

    def _counted_map(self, found: ConceptMap | None) -> ConceptMap | None:
        if found is None or not self._ahead:
            return found
        ahead = sum(1 for map_id in self._ahead.values() if map_id == found.id)
        return found.model_copy(update={"opened": found.opened + ahead}) if ahead else found

    def _counted(self, concept: Concept) -> Concept:
        if concept.id in self._ahead:
            return concept.model_copy(update={"opened": True})
        return concept

    def _all_counted(self, concepts: list[Concept]) -> list[Concept]:
        if not self._ahead:
            return list(concepts)
        return [self._counted(c) for c in concepts]

    def outdated(self, concept: Concept) -> None:
        """Storage was just read to hold ``concept`` settled by another process, whose
        notice may still be on its way: what is held of it goes now."""
        self._on_change(Change(Changed.CONCEPT, concept.map_id, concept.id))

    def __len__(self) -> int:
        """Concepts held."""
        return len(self._where)

    @property
    def maps_held(self) -> int:
        return len(self._held)

    # -- keeping -------------------------------------------------------------------

    async def _read(self, read: Callable[[], Awaitable[T]], keep: Callable[[T], object]) -> T:
        """``read()``, kept unless a change was written or heard of meanwhile (the read
        may or may not hold it), or changes may be missed now.

        With opens counted ahead, such a read is done again: whether it holds the
        write of one of them decides whether that open is counted on top.
        """
        for _ in range(READ_ATTEMPTS):
            epoch, calm = self._epoch, not self.storage.changing
            value = await read()
            if calm and epoch == self._epoch and not self.storage.changing:
                if self.storage.sees_every_change:
                    keep(value)
                    self._bound()
                return value
            if not self._ahead:
                break
        return value

    def _entry(self, map_id: int) -> _Held:
        held = self._held.get(map_id)
        if held is None:
            held = self._held[map_id] = _Held()
        else:
            self._held.move_to_end(map_id)
        return held

    def _keep_map(self, found: ConceptMap | None) -> bool:
        # A forgotten map is not held: it is on its way out, and its rows will go.
        if found is None or found.scope == FORGOTTEN_SCOPE:
            return False
        self._entry(found.id).map = found
        self._add_key(found.id, (found.scope, found.key))
        return True

    def _add_key(self, map_id: int, key: Key) -> None:
        self._drop_key(key)
        self._keys[key] = map_id
        self._held[map_id].keys.add(key)

    def _keep_one(self, concept: Concept | None) -> None:
        if concept is not None:
            self._keep_many([concept])

    def _keep_many(self, concepts: list[Concept]) -> None:
        for concept in concepts:
            self._entry(concept.map_id).concepts[concept.id] = concept
            self._where[concept.id] = concept.map_id

    def _keep_list(self, map_id: int, parent: int | None, concepts: list[Concept]) -> None:
        self._keep_many(concepts)
        self._entry(map_id).lists[parent] = tuple(c.id for c in concepts)

    def _bound(self) -> None:
        """Let go of the maps least recently read until what is held is within bounds."""
        while len(self._held) > self.maps_max or (
            len(self._where) > self.concepts_max and len(self._held) > 1
        ):
            self._drop_map(next(iter(self._held)))

    def _touch(self, map_id: int) -> _Held | None:
        held = self._held.get(map_id)
        if held is not None:
            self._held.move_to_end(map_id)
        return held

    def _holding(self, concept_id: int) -> _Held | None:
        map_id = self._where.get(concept_id)
        return self._touch(map_id) if map_id is not None else None

    # -- changes -------------------------------------------------------------------

    def _on_change(self, change: Change) -> None:
        self._epoch += 1
        if change.what is Changed.EVERYTHING:
            self._held.clear()
            self._keys.clear()
            self._where.clear()
        elif change.what is Changed.GONE:
            self._drop_map(change.map_id)
        elif change.what is Changed.MAP:
            # What was typed may now find this map rather than the one it found.
            self._drop_key((change.scope, change.key))
        else:
            if change.what is Changed.OPENED:
                self._ahead.pop(change.concept_id, None)  # storage counts it now
            held = self._held.get(change.map_id)
            if held is not None:
                # The map's counts; OPENED: the concept's mark too; CONCEPT: its
                # sub-concepts and state, and the map's total.
                held.map = None
                held.concepts.pop(change.concept_id, None)
                self._where.pop(change.concept_id, None)
                if change.what is Changed.CONCEPT:
                    held.lists.pop(change.concept_id, None)

    def _drop_map(self, map_id: int) -> None:
        held = self._held.pop(map_id, None)
        if held is None:
            return
        for key in held.keys:
            del self._keys[key]
        for concept_id in held.concepts:
            del self._where[concept_id]

    def _drop_key(self, key: Key) -> None:
        map_id = self._keys.pop(key, None)
        if map_id is not None:
            self._held[map_id].keys.discard(key)


def _listed(held: _Held, parent: int | None) -> list[Concept] | None:
    """The concepts under ``parent`` in order, if the list and every one of them are held."""
    ids = held.lists.get(parent)
    if ids is None or any(i not in held.concepts for i in ids):
        return None
    return [held.concepts[i] for i in ids]
