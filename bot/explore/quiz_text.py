"""Quiz questions built from a map's own text, no model involved: every map can be quizzed
without an API key.

Two kinds, both multiple choice among the map's own titles:
- *which concept is this*: a concept's summary, its title masked, and titles to choose from
  (its siblings first, the nearest confusion);
- *which belongs under X*: a sub-concept of X among concepts from elsewhere in the map.
"""

from __future__ import annotations

import random
import re

from bot.models import (
    QUIZ_EXPLANATION_MAX,
    QUIZ_OPTION_MAX,
    QUIZ_OPTIONS_MAX,
    QUIZ_OPTIONS_MIN,
    QUIZ_PROMPT_MAX,
    Concept,
    QuizDraft,
)
from bot.text import shorten

MASK = "…"
WHICH_CONCEPT = "Which concept does this describe? “{summary}”"
WHICH_BELONGS = "Which of these is a sub-concept of “{parent}”?"
WHY_CONCEPT = "{title}: {summary}"
WHY_BELONGS = "{title} sits under {parent}: {summary}"


def text_questions(
    concepts: list[Concept], targets: list[Concept], rng: random.Random
) -> list[tuple[int, QuizDraft]]:
    """One question per target, from ``concepts`` (the whole map as stored); a target that
    cannot make a question with enough distinct options is skipped."""
    by_id = {c.id: c for c in concepts}
    children: dict[int | None, list[Concept]] = {}
    for concept in concepts:
        children.setdefault(concept.parent_id, []).append(concept)
    made: list[tuple[int, QuizDraft]] = []
    for number, target in enumerate(targets):
        parent = by_id.get(target.parent_id) if target.parent_id is not None else None
        kinds = [_which_belongs, _which_concept] if number % 2 else [_which_concept, _which_belongs]
        for kind in kinds:
            question = kind(target, parent, concepts, children, by_id, rng)
            if question is not None:
                made.append((target.id, question))
                break
    return made


def _which_concept(
    target: Concept,
    parent: Concept | None,
    concepts: list[Concept],
    children: dict[int | None, list[Concept]],
    by_id: dict[int, Concept],
    rng: random.Random,
) -> QuizDraft | None:
    siblings = [c for c in children.get(target.parent_id, []) if c.id != target.id]
    others = [c for c in concepts if c.id != target.id and c not in siblings]
    rng.shuffle(siblings)
    rng.shuffle(others)
    summary = _masked(target.summary, target.title)
    prompt = WHICH_CONCEPT.format(summary=summary)
    why = WHY_CONCEPT.format(title=target.title, summary=target.summary)
    return _draft(prompt, target.title, [c.title for c in siblings + others], why, rng)


def _which_belongs(
    target: Concept,
    parent: Concept | None,
    concepts: list[Concept],
    children: dict[int | None, list[Concept]],
    by_id: dict[int, Concept],
    rng: random.Random,
) -> QuizDraft | None:
    if parent is None:
        return None
    related = {parent.id, *(c.id for c in children.get(parent.id, []))}
    ancestor = parent.parent_id
    while ancestor is not None:  # the parent's own ancestors would be a trap, not a mistake
        related.add(ancestor)
        ancestor = by_id[ancestor].parent_id if ancestor in by_id else None
    elsewhere = [c for c in concepts if c.id not in related]
    rng.shuffle(elsewhere)
    prompt = WHICH_BELONGS.format(parent=parent.title)
    why = WHY_BELONGS.format(title=target.title, parent=parent.title, summary=target.summary)
    return _draft(prompt, target.title, [c.title for c in elsewhere], why, rng)


def _draft(
    prompt: str, right: str, candidates: list[str], why: str, rng: random.Random
) -> QuizDraft | None:
    """The right option among up to QUIZ_OPTIONS_MAX - 1 distinct wrong ones, shuffled."""
    right = shorten(right, QUIZ_OPTION_MAX)
    options = [right]
    seen = {right.casefold()}
    for candidate in candidates:
        shown = shorten(candidate, QUIZ_OPTION_MAX)
        if shown.casefold() not in seen:
            options.append(shown)
            seen.add(shown.casefold())
        if len(options) == QUIZ_OPTIONS_MAX - 1:  # four options: a quick choice
            break
    if len(options) < QUIZ_OPTIONS_MIN:
        return None
    rng.shuffle(options)
    return QuizDraft(
        prompt=shorten(prompt, QUIZ_PROMPT_MAX),
        options=options,
        correct=options.index(right),
        explanation=shorten(why, QUIZ_EXPLANATION_MAX),
    )


def _masked(summary: str, title: str) -> str:
    """The summary with the title (and its longer words) masked, so it does not give the
    answer away."""
    masked = re.sub(re.escape(title), MASK, summary, flags=re.IGNORECASE)
    for word in sorted(set(re.findall(r"\w{5,}", title)), key=len, reverse=True):
        masked = re.sub(rf"\b{re.escape(word)}\w*", MASK, masked, flags=re.IGNORECASE)
    return masked


def shuffled(question: QuizDraft, rng: random.Random) -> QuizDraft:
    """A stored question with its options in a new order (each quiz its own)."""
    order = list(range(len(question.options)))
    rng.shuffle(order)
    return question.model_copy(
        update={
            "options": [question.options[i] for i in order],
            "correct": order.index(question.correct),
        }
    )
