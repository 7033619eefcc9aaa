"""Translating a part of a curated map: the task message, and what makes an answer one.

The answer has the shape of a map (kind "map": title, overview, key concepts) or of a
concept's sub-concepts (kind "subconcepts"), so the shared output schema, and with it
the cached prefix, stays the same for every call. It is checked as those answers are
(lengths, sentences, plain text), and it must have as many concepts as the English.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.generator.answers import _expansion, _map_answer, _Unusable
from bot.generator.base import ExpandRequest, TranslateRequest
from bot.generator.grounding import Grounding
from bot.generator.prompting import _quote
from bot.i18n import N_
from bot.models import ConceptDraft, MapDraft

TRANSLATE_REFUSED = N_("Claude declined to translate this map.")
TOP = "the topic's title, its overview and its key concepts"
CHILDREN = "the sub-concepts of the concept named last in the path tag"
TOP_ANSWER = 'kind "map", with the title, the overview and the concepts translated'
CHILDREN_ANSWER = 'kind "subconcepts", with the concepts translated'


def translate_fields(request: TranslateRequest) -> dict[str, str]:
    """The placeholders of ``prompts/translate.md`` for ``request``."""
    lines = [f"<title>{_quote(request.topic)}</title>"] if request.overview is not None else []
    if request.overview is not None:
        lines.append(f"<overview>{_quote(request.overview)}</overview>")
    for number, concept in enumerate(request.concepts, start=1):
        lines.append(
            f'<concept number="{number}"><title>{_quote(concept.title)}</title>'
            f"<summary>{_quote(concept.summary)}</summary>"
            f"<detail>{_quote(concept.detail)}</detail></concept>"
        )
    top = request.overview is not None
    return {
        "language": _quote(request.language),
        "topic": _quote(request.topic),
        "path": "\n".join(f"- {_quote(title)}" for title in request.path) or "(none)",
        "part": TOP if top else CHILDREN,
        "answer": TOP_ANSWER if top else CHILDREN_ANSWER,
        "count": str(len(request.concepts)),
        "source": "\n".join(lines),
    }


def _translation(
    answer: str, request: TranslateRequest, grounding: Grounding, *, lenient: bool
) -> MapDraft:
    """The translated part as a ``MapDraft`` (no title or overview for children). A
    translation runs no search (``grounding`` is empty): the curated file's sources stay
    the copy's, read from the file as the English copy's are."""
    if request.overview is not None:
        value = _map_answer(answer, "", grounding, lenient=lenient)
        if isinstance(value, list):
            raise _Unusable(['kind: a translation is answered with kind "map"'])
        translated = value
    else:
        expand = ExpandRequest(
            topic=request.topic,
            language=request.language,
            # Only the titles count: a child repeating its parent or the topic is no translation.
            path=[
                ConceptDraft.model_construct(title=title, summary="", detail="")
                for title in request.path or [""]
            ],
            siblings=[],
        )
        expansion = _expansion(answer, expand, grounding, lenient=lenient)
        if expansion.leaf:
            raise _Unusable(['kind: a translation is answered with kind "subconcepts"'])
        translated = MapDraft.model_construct(title=None, overview="", concepts=expansion.concepts)
    wanted, got = len(request.concepts), len(translated.concepts)
    if got != wanted:
        raise _Unusable([f"concepts: translate all {wanted} concepts, one for one; got {got}"])
    return translated


def translation_of(request: TranslateRequest) -> Callable[[str, bool, Grounding], MapDraft]:
    """What turns an answer into the translated part (``_generate``'s ``build``)."""
    return lambda answer, lenient, grounding: _translation(
        answer, request, grounding, lenient=lenient
    )
