"""Faults a hostile environment brings, made real for the tests: another process holding
SQLite's write lock, a disk with no room left, a storage that stops answering."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import simcord

from bot.storage import Storage

# SQLite's own ceiling for max_page_count: no limit below the file system's.
NO_PAGE_LIMIT = 4_294_967_294


@contextlib.contextmanager
def locked_by_another_process(path: Path, *, seconds: float = 30.0) -> Iterator[threading.Event]:
    """Another connection holds the write lock (BEGIN IMMEDIATE) on ``path`` until the event
    is set or ``seconds`` pass, whichever comes first; it lets go when the block ends."""
    release, held = threading.Event(), threading.Event()

    def hold() -> None:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
            db.execute("BEGIN IMMEDIATE")
            held.set()
            release.wait(seconds)
            db.execute("ROLLBACK")

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    if not held.wait(5):
        raise RuntimeError(f"could not lock {path}")
    try:
        yield release
    finally:
        release.set()
        thread.join()


async def full_disk(storage: Storage) -> None:
    """What a full disk looks like to SQLite ("database or disk is full"): the file may not
    grow by a single page, and has no free pages left (set on the connection that writes).
    Rows that fit in the free space of pages already used still go in, as on a real disk."""
    writer = storage._writer  # type: ignore[attr-defined]  # the SQLite backend's writer
    await writer.execute("VACUUM")
    async with writer.execute("PRAGMA page_count") as cursor:
        (pages,) = await cursor.fetchone()
    await writer.execute(f"PRAGMA max_page_count = {pages}")


async def free_disk(storage: Storage) -> None:
    """Space freed again: no limit but the file system's."""
    await storage._writer.execute(f"PRAGMA max_page_count = {NO_PAGE_LIMIT}")  # type: ignore[attr-defined]


def stall_click_writes(env: simcord.Env, storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, the clicks written behind their answers never reach ``storage``, as if
    its disk or server stopped answering: each such write waits for ever (until the bot's
    tasks are cancelled, as a crash ends them), a wait SimCord is told is external."""

    async def never(*_: Any, **__: Any) -> None:
        await env.external_wait(asyncio.Event().wait(), reason="a storage that stopped answering")

    monkeypatch.setattr(storage, "save_clicks", never)
    monkeypatch.setattr(storage, "save_click", never)
