"""Fixtures shared across the test suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import Storage
from tests.fakes import FakeGenerator

pytest_plugins = ["tests.standin", "tests.harness", "tests.postgres"]


@pytest.fixture
async def storage(database: Path | str) -> AsyncIterator[Storage]:
    """A real database (SQLite file or PostgreSQL), migrated to the current schema."""
    async with Storage.open(database) as opened:
        yield opened


@pytest.fixture
def fake_generator() -> FakeGenerator:
    return FakeGenerator()
