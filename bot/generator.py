"""Generation of maps and sub-concepts: the ``Generator`` interface.

The explore core only knows this protocol; tests swap in a fake, production
uses ``AnthropicGenerator``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from bot.models import ConceptDraft, Expansion, MapDraft, Usage

T = TypeVar("T")


@dataclass(frozen=True)
class Generated(Generic[T]):
    """A validated answer and the usage of every call it took (repairs included)."""

    value: T
    usage: list[Usage] = field(default_factory=list)


@dataclass(frozen=True)
class ExpandRequest:
    """What the model needs to expand one concept without repeating its surroundings."""

    topic: str
    language: str
    path: list[ConceptDraft]  # from the key concept down to the concept to expand
    siblings: list[str]  # titles of the concept's siblings


class Generator(Protocol):
    model: str

    async def generate_map(self, topic: str, language: str) -> Generated[MapDraft]:
        """Overview and key concepts for a topic; raises ``GenerationError``."""
        ...

    async def expand(self, request: ExpandRequest) -> Generated[Expansion]:
        """Sub-concepts of the last concept on ``request.path``, or a leaf."""
        ...
