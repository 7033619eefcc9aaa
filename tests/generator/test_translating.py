"""Answers to a reader's question in the question's own language and length rule, and
translations of curated maps: what the model is asked, and what is accepted."""

from __future__ import annotations

import json

import pytest

from bot.config import PROJECT_ROOT
from bot.generator import AnthropicGenerator, AskRequest, TranslateRequest
from bot.models import ConceptDraft
from tests.support.standin import StandIn, answer

AI_AGENTS_JA = json.loads(
    (PROJECT_ROOT / "tests" / "fixtures" / "ai_agents_ja.json").read_text("utf-8")
)


def asking(question: str) -> AskRequest:
    return AskRequest(
        topic="AI Agents",
        language="fr",
        path=[],
        title="The Agent Loop",
        summary="An agent repeats a cycle of observing, reasoning and acting.",
        detail="Each step reads the situation and picks the next action.",
        subconcepts=[],
        question=question,
    )


@pytest.mark.parametrize(
    ("question", "length"),
    [
        ("Why does the loop need a stopping rule?", "80 to 250 words"),
        ("Pourquoi la boucle a-t-elle besoin d'une règle d'arrêt ?", "80 to 250 words"),
        ("ループにはなぜ停止条件が必要なのですか？", "200 to 600 characters"),
        ("为什么循环需要停止条件？", "150 to 450 characters"),
        ("ทำไมลูปจึงต้องมีเงื่อนไขการหยุด", "400 to 1200 characters"),
        ("왜 루프에는 멈춤 조건이 필요한가요?", "80 to 250 words"),  # Korean spaces its words
    ],
)
async def test_an_answer_is_asked_in_the_question_language_at_its_writings_length(
    standin: StandIn, generator: AnthropicGenerator, question: str, length: str
) -> None:
    standin.script(answer("Une réponse."))

    await generator.ask(asking(question))

    prompt = standin.requests[0].prompt
    assert f"Answer it in {length} of plain text, in the language the question is written in" in (
        " ".join(prompt.split())
    )
    assert "<language>French (fr)</language>" in prompt  # when the question cannot tell


def top_request() -> TranslateRequest:
    english = [
        ConceptDraft(title=f"Concept {n}", summary=f"Summary {n}.", detail=f"Detail {n}. More.")
        for n in range(1, 7)
    ]
    return TranslateRequest(
        language="Japanese (ja)", topic="AI Agents", overview="An overview.", concepts=english
    )


async def test_a_translation_is_one_call_when_it_keeps_every_concept(
    standin: StandIn, generator: AnthropicGenerator
) -> None:
    standin.script(answer({"kind": "map", **AI_AGENTS_JA["top"]}))

    result = await generator.translate(top_request())

    assert len(standin.requests) == 1
    assert result.value.title == "AIエージェント"
    assert [c.title for c in result.value.concepts] == [
        c["title"] for c in AI_AGENTS_JA["top"]["concepts"]
    ]
    prompt = standin.requests[0].prompt
    assert '<concept number="6"><title>Concept 6</title>' in prompt
    assert "all 6 concepts in the same order" in " ".join(prompt.split())


async def test_a_translation_that_drops_a_concept_is_sent_back_once(
    standin: StandIn, generator: AnthropicGenerator
) -> None:
    short = {**AI_AGENTS_JA["top"], "concepts": AI_AGENTS_JA["top"]["concepts"][:5]}
    standin.script(answer({"kind": "map", **short}), answer({"kind": "map", **AI_AGENTS_JA["top"]}))

    result = await generator.translate(top_request())

    assert len(standin.requests) == 2
    repair = str(standin.requests[1].messages[-1]["content"])
    assert "translate all 6 concepts, one for one; got 5" in repair
    assert len(result.value.concepts) == 6
