"""Quiz questions written by Claude: one multiple-choice question per concept, grounded in
the concept's card, as structured output; one repair request when the answer cannot be
used, after which what is usable is kept and the rest is left to the map's own text."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from anthropic.types import MessageParam, TextBlockParam
from pydantic import ValidationError

from bot.errors import GenerationError
from bot.generator.answers import _plain
from bot.generator.api import TOO_SLOW, UNUSABLE, _check_stop, _text
from bot.generator.base import Generated, QuizRequest
from bot.generator.prompting import _quote
from bot.models import (
    QUIZ_EXPLANATION_MAX,
    QUIZ_OPTION_MAX,
    QUIZ_OPTIONS_MAX,
    QUIZ_OPTIONS_MIN,
    QUIZ_PROMPT_MAX,
    QuizDraft,
    Usage,
)

if TYPE_CHECKING:
    from bot.generator.claude import AnthropicGenerator

log = logging.getLogger(__name__)

QUIZ_MAX_TOKENS = 4096  # ten questions at every limit are about 2,500 tokens of JSON
QUIZ_REFUSED = "Claude declined to write questions about these concepts."
QUIZ_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "questions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "concept": {"type": "string"},
                    "prompt": {"type": "string"},
                    "options": {"type": "array", "items": {"type": "string"}},
                    "correct": {"type": "integer"},
                    "explanation": {"type": "string"},
                },
                "required": ["concept", "prompt", "options", "correct", "explanation"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["questions"],
    "additionalProperties": False,
}


def quiz_system(generator: AnthropicGenerator) -> list[TextBlockParam]:
    text = generator._prompts.render(
        "quiz_system",
        prompt_max=QUIZ_PROMPT_MAX,
        option_max=QUIZ_OPTION_MAX,
        options_min=QUIZ_OPTIONS_MIN,
        options_max=QUIZ_OPTIONS_MAX,
        explanation_max=QUIZ_EXPLANATION_MAX,
    )
    return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]


def quiz_prompt(generator: AnthropicGenerator, request: QuizRequest) -> str:
    cards = "\n".join(
        "<card>\n"
        f"<path>{' › '.join(_quote(t) for t in c.path) or '(a key concept of the topic)'}</path>\n"
        f"<title>{_quote(c.title)}</title>\n"
        f"<summary>{_quote(c.summary)}</summary>\n"
        f"<detail>{_quote(c.detail)}</detail>\n"
        f"<others>{'; '.join(_quote(t) for t in c.others) or '(none)'}</others>\n"
        "</card>"
        for c in request.concepts
    )
    return generator._prompts.render(
        "quiz",
        topic=_quote(request.topic),
        language=_quote(request.language),
        level=request.level.value,
        cards=cards,
    )


async def write_quiz(
    generator: AnthropicGenerator, request: QuizRequest
) -> Generated[list[QuizDraft | None]]:
    """A question per concept of ``request``, in its order (None where none was usable)."""
    usage: list[Usage] = []
    system = quiz_system(generator)
    messages: list[MessageParam] = [{"role": "user", "content": quiz_prompt(generator, request)}]
    titles = [c.title for c in request.concepts]
    output = {"format": {"type": "json_schema", "schema": QUIZ_SCHEMA}}
    try:
        async with asyncio.timeout(generator._deadline) as deadline:
            message = await generator.stream(
                messages,
                usage,
                deadline,
                output_config=output,
                max_tokens=QUIZ_MAX_TOKENS,
                system=system,
            )
            _check_stop(message, usage, refused=QUIZ_REFUSED, cut_off=False)
            answer = _text(message) or ""
            found, problems = questions_of(answer, titles)
            if problems:
                log.warning("Quiz questions to repair: %s", "; ".join(problems))
                messages += [
                    {"role": "assistant", "content": answer or "(no answer)"},
                    {
                        "role": "user",
                        "content": generator._prompts.render(
                            "repair", problems="\n".join(f"- {_quote(p)}" for p in problems)
                        ),
                    },
                ]
                message = await generator.stream(
                    messages,
                    usage,
                    deadline,
                    output_config=output,
                    max_tokens=QUIZ_MAX_TOKENS,
                    system=system,
                )
                _check_stop(message, usage, refused=QUIZ_REFUSED, cut_off=False)
                repaired, _ = questions_of(_text(message) or "", titles)
                found = [a or b for a, b in zip(found, repaired, strict=True)]
    except TimeoutError:
        raise GenerationError(TOO_SLOW, usage=list(usage)) from None
    if not any(found):
        raise GenerationError(UNUSABLE, usage=list(usage))
    return Generated(found, list(usage))


def questions_of(answer: str, titles: list[str]) -> tuple[list[QuizDraft | None], list[str]]:
    """The usable question of each concept title, in order, and what was wrong."""
    found: list[QuizDraft | None] = [None] * len(titles)
    problems: list[str] = []
    try:
        items = json.loads(answer)["questions"]
        assert isinstance(items, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        return found, ["the answer must be a JSON object with a list of questions"]
    where = {title.casefold(): i for i, title in enumerate(titles)}
    for item in items:
        if not isinstance(item, dict):
            continue
        index = where.get(str(item.get("concept", "")).strip().casefold())
        if index is None or found[index] is not None:
            problems.append(f"{item.get('concept')!r} is not one of the cards, or is twice")
            continue
        try:
            found[index] = QuizDraft(
                prompt=_plain(str(item.get("prompt", "")), QUIZ_PROMPT_MAX, one_line=True),
                options=[
                    _plain(str(o), QUIZ_OPTION_MAX, one_line=True)
                    for o in item.get("options") or []
                ],
                correct=item.get("correct", -1),
                explanation=_plain(
                    str(item.get("explanation", "")), QUIZ_EXPLANATION_MAX, one_line=True
                ),
            )
        except ValidationError as exc:
            reasons = "; ".join(e["msg"] for e in exc.errors())
            problems.append(f"the question about {titles[index]!r}: {reasons}")
    missing = [titles[i] for i, q in enumerate(found) if q is None]
    if missing and not problems:
        problems.append(f"no usable question about {', '.join(repr(t) for t in missing)}")
    return found, problems
