"""Generation of maps, sub-concepts and answers: the ``Generator`` interface.

The explore core only knows this protocol; tests swap in a fake, production
uses ``AnthropicGenerator`` (``bot.generator.claude``), which asks Claude
through the official SDK; ``answers``, ``sketches``, ``api`` and ``prompting``
are its parts. The SDK takes seconds to import, so it is imported only when a
key is set: this module never imports it, and the implementation's names are
loaded from those modules on first use (``__getattr__`` below).
"""

from __future__ import annotations

import importlib
from typing import Any

from bot.generator.base import (
    AskRequest,
    Clock,
    ExpandRequest,
    Generated,
    Generator,
    Material,
    OnSketch,
    OutlineNode,
    Progress,
    QuizConcept,
    QuizRequest,
    Read,
    RefreshRequest,
    Search,
    Sketch,
    SketchConcept,
    TranslateRequest,
)

__all__ = [
    "AskRequest",
    "Clock",
    "ExpandRequest",
    "Generated",
    "Generator",
    "Material",
    "OnSketch",
    "OutlineNode",
    "Progress",
    "QuizConcept",
    "QuizRequest",
    "Read",
    "RefreshRequest",
    "Search",
    "Sketch",
    "SketchConcept",
    "TranslateRequest",
]

# Where the hook below looks, in order; claude imports the others.
_IMPLEMENTATION = (
    "claude",
    "answers",
    "sketches",
    "api",
    "prompting",
    "grounding",
    "documents",
    "cited",
)


def __getattr__(name: str) -> Any:
    # AnthropicGenerator and its constants, imported (with the SDK) only when asked for.
    # import_module, not "from bot.generator import claude": that would ask this hook again.
    for module in _IMPLEMENTATION:
        names = vars(importlib.import_module(f"bot.generator.{module}"))
        if name in names:
            return names[name]
    raise AttributeError(f"module 'bot.generator' has no attribute {name!r}")
