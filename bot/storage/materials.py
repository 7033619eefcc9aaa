"""A member's own material behind a map (a PDF, a text file, a fetched page): stored with
the map in the transaction that creates it, read again to ground the map's later calls,
and deleted with it.

``Storage`` takes this part in as a mixin; its backend supplies the reads and the
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.models import MaterialKind
from bot.storage.sql import (
    DELETE_MATERIAL,
    INSERT_MATERIAL,
    MARK_MATERIAL_MAP,
    SELECT_MATERIAL,
    SELECT_MATERIAL_DATA,
    SELECT_MATERIAL_MAP,
    UPDATE_MATERIAL_FILE,
)

if TYPE_CHECKING:
    from bot.storage.base import Row, Transaction


@dataclass(frozen=True)
class MaterialInfo:
    """What a map was made from, without its bytes: what its card says of it."""

    map_id: int
    kind: MaterialKind
    name: str  # the file's name, or the page's URL
    title: str | None  # a fetched page's title
    media_type: str
    digest: str  # SHA-256 of the bytes
    request: str  # the topic key the member typed with it ("" for none)
    pages: int | None
    file_id: str | None  # the Files API id it was uploaded under
    shared_by: int | None
    language: str | None  # the material's language, when the map is in another
    created_at: float

    @classmethod
    def of_row(cls, row: Row) -> MaterialInfo:
        values = dict(row)
        values.pop("data", None)
        values["kind"] = MaterialKind(values["kind"])
        return cls(**values)


@dataclass(frozen=True)
class NewMaterial:
    """A material to store with its map."""

    kind: MaterialKind
    name: str
    media_type: str
    data: bytes
    digest: str
    request: str = ""
    title: str | None = None
    pages: int | None = None
    shared_by: int | None = None
    language: str | None = None


async def insert_material(db: Transaction, map_id: int, material: NewMaterial, now: float) -> None:
    """Store ``material`` as the map's, in the transaction that creates the map."""
    await db.execute(
        INSERT_MATERIAL,
        (
            map_id,
            material.kind.value,
            material.name,
            material.title,
            material.media_type,
            material.data,
            material.digest,
            material.request,
            material.pages,
            material.shared_by,
            material.language,
            now,
        ),
    )
    await db.execute(MARK_MATERIAL_MAP, (material.kind.value, map_id))


class Materials:
    """The materials of maps."""

    if TYPE_CHECKING:  # supplied by Storage and its backend

        def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

        async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def material(self, map_id: int) -> MaterialInfo | None:
        row = await self._one(SELECT_MATERIAL, (map_id,))
        return MaterialInfo.of_row(row) if row else None

    async def material_data(self, map_id: int) -> bytes | None:
        row = await self._one(SELECT_MATERIAL_DATA, (map_id,))
        return bytes(row[0]) if row else None

    async def map_of_material(self, scope: int, digest: str, request: str) -> int | None:
        """The scope's map made from the same bytes and the same typed topic, if any."""
        row = await self._one(SELECT_MATERIAL_MAP, (scope, digest, request))
        return row[0] if row else None

    async def set_material_file(self, map_id: int, file_id: str | None) -> None:
        async with self.transaction() as db:
            await db.execute(UPDATE_MATERIAL_FILE, (file_id, map_id))

    async def delete_material(self, map_id: int) -> MaterialInfo | None:
        """Delete the map's material now (its map stays until purged); what it was."""
        async with self.transaction() as db:
            row = await db.fetchone(SELECT_MATERIAL, (map_id,))
            if row is None:
                return None
            await db.execute(DELETE_MATERIAL, (map_id,))
        return MaterialInfo.of_row(row)
