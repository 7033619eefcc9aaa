"""Maps written in the scripts Claude writes: a well-formed answer in any of them passes
the checks with no repair call (sentence ends, lengths and all)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.config import PROJECT_ROOT
from bot.generator import AnthropicGenerator
from bot.text import count_sentences
from tests.support.standin import StandIn, answer

MAPS = json.loads(
    (PROJECT_ROOT / "tests" / "fixtures" / "maps_in_ten_languages.json").read_text("utf-8")
)


def as_answer(written: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "map", **written}


@pytest.mark.parametrize("language", sorted(MAPS))
async def test_a_well_formed_map_in_any_script_needs_no_repair(
    standin: StandIn, generator: AnthropicGenerator, language: str
) -> None:
    written = MAPS[language]
    standin.script(answer(as_answer(written)))

    result = await generator.generate_map(written["title"], language)

    assert len(standin.requests) == 1  # no repair call
    assert result.value.overview == written["overview"]
    assert [c.title for c in result.value.concepts] == [c["title"] for c in written["concepts"]]


@pytest.mark.parametrize("language", sorted(MAPS))
def test_sentences_are_counted_in_every_script(language: str) -> None:
    written = MAPS[language]
    assert count_sentences(written["overview"]) == 2
    for concept in written["concepts"]:
        assert count_sentences(concept["summary"]) == 1
        assert count_sentences(concept["detail"]) == (3 if "¿" in concept["detail"] else 2)
