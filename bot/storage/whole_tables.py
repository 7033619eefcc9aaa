"""Whole tables, row by row, as they are: what ``db copy`` (``copy.py``) needs of a backend.

Nothing else reads or writes a table whole; the use cases are in ``base.py``. ``Storage``
takes this part in as a mixin, and each backend supplies the hooks marked abstract.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from bot.storage.sql import COUNT_ROWS, INSERT_ROWS, SELECT_ROWS

if TYPE_CHECKING:
    from bot.storage.base import Row, Transaction

COPY_BATCH = 1_000  # rows `db copy` holds in memory at once
# Tables whose rows are large, read fewer at a time: a material's row holds a whole file
# (up to KINAPSE_MATERIAL_MAX_MB, 30 MB at most), so 1,000 of them could be 30 GB.
LARGE_ROWS_BATCH = {"materials": 2}


class WholeTables(ABC):
    """Every row of a table, read in bounded memory and written with its ids."""

    if TYPE_CHECKING:  # supplied by Storage's backend

        async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    @abstractmethod
    async def tables(self) -> set[str]:
        """The names of Kinapse's tables (not the backend's own bookkeeping)."""

    async def count_rows(self, table: str, db: Transaction | None = None) -> int:
        sql = COUNT_ROWS.format(table=table)
        row = await (db.fetchone(sql) if db else self._one(sql))
        assert row is not None
        return row[0]

    async def read_rows(self, table: str) -> tuple[list[str], AsyncIterator[list[Row]]]:
        """A table's column names, and its rows ``COPY_BATCH`` at a time from one snapshot,
        in id order where it has ids: a table of any size is copied in bounded memory."""
        columns = await self._columns(table)
        order = "id" if "id" in columns else columns[0]
        sql = SELECT_ROWS.format(columns=", ".join(columns), table=table, order=order)
        return columns, self._batches(sql, LARGE_ROWS_BATCH.get(table, COPY_BATCH))

    @abstractmethod
    def _batches(self, sql: str, most: int) -> AsyncIterator[list[Row]]:
        """The rows of one read, ``COPY_BATCH`` (or ``most``, if fewer) at a time, never
        all of them at once."""

    async def write_rows(
        self, db: Transaction, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert rows as they are, ids included."""
        placeholders = ", ".join("?" for _ in columns)
        insert = INSERT_ROWS.format(
            table=table, columns=", ".join(columns), placeholders=placeholders
        )
        await db.executemany(insert, rows)

    @abstractmethod
    async def raise_id_floor(self, db: Transaction, table: str, floor: int) -> None:
        """From now on no new id of ``table`` is ``<= floor`` or an id it holds."""

    @abstractmethod
    async def _columns(self, table: str) -> list[str]: ...

    @abstractmethod
    async def id_floor(self, table: str) -> int:
        """The highest id the table ever handed out (deleted rows' ids included)."""
