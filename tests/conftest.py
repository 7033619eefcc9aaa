"""Fixtures shared across the test suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import Storage, open_storage
from tests.support.fakes import FakeGenerator

pytest_plugins = [
    "tests.support.standin",
    "tests.support.harness",
    "tests.support.postgres",
    "tests.support.locales",
]


@pytest.fixture
async def storage(database: Path | str) -> AsyncIterator[Storage]:
    """A real database (SQLite file or PostgreSQL), migrated to the current schema."""
    async with open_storage(database) as opened:
        yield opened


@pytest.fixture
def fake_generator() -> FakeGenerator:
    return FakeGenerator()
