"""The generator's tests share AnthropicGenerators talking to the local stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bot.config import Settings
from bot.generator import AnthropicGenerator
from bot.prompts import Prompts, load_prompts
from tests.support.standin import StandIn

MakeGenerator = Callable[..., Awaitable[AnthropicGenerator]]


@pytest.fixture
def prompts() -> Prompts:
    return load_prompts(Settings().prompts_dir)


@pytest.fixture
async def make_generator(standin: StandIn, prompts: Prompts) -> AsyncIterator[MakeGenerator]:
    """Generators on the stand-in; keyword arguments override its settings."""
    made: list[AnthropicGenerator] = []

    async def make(**overrides: Any) -> AnthropicGenerator:
        generator = AnthropicGenerator(standin.settings(**overrides), prompts)
        made.append(generator)
        return generator

    yield make
    for generator in made:
        await generator.aclose()


@pytest.fixture
async def generator(make_generator: MakeGenerator) -> AnthropicGenerator:
    return await make_generator()
