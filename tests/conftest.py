"""Fixtures shared across the test suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import Storage
from tests.fakes import FakeGenerator

pytest_plugins = ["tests.standin", "tests.harness"]


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    """A real SQLite database in a fresh file, migrated to the current schema."""
    async with Storage.open(tmp_path / "kinapse.db") as opened:
        yield opened


@pytest.fixture
def fake_generator() -> FakeGenerator:
    return FakeGenerator()
