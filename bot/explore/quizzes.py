"""Quizzes: a round of multiple-choice questions about a map, posted in a channel one at a
time; each member answers a question once, and the question is revealed at its deadline
(or by the member who started the round), then the next one opens.

Questions come from the map's own text (``quiz_text``), or, with a key, from questions
Claude wrote once per concept, stored and shared by every later quiz (counted in usage,
the cooldown and the budget like any generation). Whatever stands in the way of Claude's
(no key, a limit, a failure), the round goes on with questions from the text.

Every state lives in storage: a question opens and closes in one statement each, so a
restart loses nothing and, of every process and timer that tries, one closes it.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import GenerationError, KinapseError, LimitReached, NotFound
from bot.explore.concepts import Concepts
from bot.explore.flights import Flight, Flights
from bot.explore.limits import Budget
from bot.explore.quiz_text import shuffled, text_questions
from bot.generator import Generator, QuizConcept, QuizRequest
from bot.i18n import N_
from bot.models import Concept, ConceptMap, QuestionState, Quiz, QuizDraft, QuizQuestion
from bot.storage import Storage
from bot.storage.quizzes import Answered, Closed, Score, Vote

log = logging.getLogger(__name__)

__all__ = ["AnswerResult", "Answered", "Quizzes", "Reveal", "Score", "StartedQuiz", "Vote"]

QUESTIONS_DEFAULT, QUESTIONS_MIN, QUESTIONS_MAX = 5, 1, 10
SECONDS_DEFAULT, SECONDS_MIN, SECONDS_MAX = 30, 10, 600
SCORES_SHOWN = 10
CLAUDE_BATCH = QUESTIONS_MAX  # concepts whose questions one call writes


@dataclass(frozen=True)
class StartedQuiz:
    quiz: Quiz
    map: ConceptMap
    question: QuizQuestion


@dataclass(frozen=True)
class AnswerResult:
    """What a member's press did: taken (right or wrong), already answered, or too late."""

    outcome: Answered
    question: QuizQuestion
    choice: int | None

    @property
    def right(self) -> bool:
        return self.choice == self.question.correct


@dataclass(frozen=True)
class Reveal:
    """A closed question with how everyone answered; the round's scores after its last."""

    quiz: Quiz
    map: ConceptMap
    question: QuizQuestion
    votes: list[Vote]
    following: QuizQuestion | None
    scores: list[Score] | None  # the round's, once its last question is closed


class Quizzes:
    """Starting rounds, taking answers, closing questions."""

    def __init__(
        self,
        storage: Storage,
        concepts: Concepts,
        budget: Budget,
        flights: Flights[int, None],
        generator: Generator | None,
        clock: Callable[[], float],
    ) -> None:
        self.storage = storage
        self.concepts = concepts
        self.budget = budget
        self.generator = generator
        self.clock = clock
        # One batch of Claude-written questions per map at a time.
        self._flights = flights

    async def start(
        self,
        scope: int,
        channel_id: int,
        user_id: int,
        *,
        map_id: int,
        concept_id: int | None = None,
        count: int = QUESTIONS_DEFAULT,
        seconds: int = SECONDS_DEFAULT,
    ) -> StartedQuiz:
        """A new round on the map (or the part of it under ``concept_id``), its first
        question open from now on."""
        view = await self.concepts.map_view(map_id, scope)
        concepts = await self.storage.map_concepts(map_id)
        rng = random.Random()
        targets = _targets(concepts, concept_id, count, rng)
        written = await self._claude_questions(scope, user_id, view.map, concepts, targets)
        questions: list[tuple[int | None, QuizDraft]] = []
        from_text = text_questions(concepts, [t for t in targets if t.id not in written], rng)
        by_target = dict(from_text)
        for target in targets:
            if target.id in written:
                questions.append((target.id, shuffled(written[target.id], rng)))
            elif target.id in by_target:
                questions.append((target.id, by_target[target.id]))
        if not questions:
            raise KinapseError(
                N_("This map has too few concepts for a quiz yet; explore it first.")
            )
        quiz, first = await self.storage.create_quiz(
            scope=scope,
            channel_id=channel_id,
            map_id=map_id,
            concept_id=concept_id,
            starter_id=user_id,
            seconds=seconds,
            questions=questions,
            written_by=self.generator.model if written and self.generator else None,
            now=self.clock(),
        )
        return StartedQuiz(quiz, view.map, first)

    async def _claude_questions(
        self,
        scope: int,
        user_id: int,
        concept_map: ConceptMap,
        concepts: list[Concept],
        targets: list[Concept],
    ) -> dict[int, QuizDraft]:
        """The stored Claude-written questions of the targets, written now for those that
        have none when a key is set; what cannot be written is left to the map's text."""
        ids = [t.id for t in targets]
        stored = await self.storage.concept_questions(ids)
        missing = [t for t in targets if t.id not in stored]
        if not missing or self.generator is None:
            return stored
        try:
            await self._flights.join(
                concept_map.id,
                lambda: self.budget.start(scope, user_id, f"quiz:{concept_map.id}"),
                lambda flight: self._write(scope, user_id, concept_map, concepts, missing, flight),
            )
        except (GenerationError, LimitReached) as exc:
            log.info("Quiz questions of map %s from its text: %s", concept_map.id, exc)
        return await self.storage.concept_questions(ids)

    async def _write(
        self,
        scope: int,
        user_id: int,
        concept_map: ConceptMap,
        concepts: list[Concept],
        missing: list[Concept],
        flight: Flight,
    ) -> None:
        generator = self.generator
        assert generator is not None
        request = quiz_request(concept_map, concepts, missing[:CLAUDE_BATCH])
        result = await self.budget.call(
            scope,
            user_id,
            "quiz",
            f"quiz:{concept_map.id}",
            lambda: generator.write_quiz(request),
            flight,
        )
        pairs = [
            (concept.id, question)
            for concept, question in zip(missing, result.value, strict=False)
            if question is not None
        ]
        await self.storage.save_concept_questions(pairs, model=generator.model, now=self.clock())

    async def concept_named(self, map_id: int, title: str) -> int:
        """The id of the map's concept called ``title`` (case aside)."""
        wanted = title.casefold()
        for concept in await self.storage.map_concepts(map_id):
            if concept.title.casefold() == wanted:
                return concept.id
        raise NotFound(N_("That map has no concept by that name."))

    async def answer(
        self, question_id: int, scope: int, user_id: int, name: str, choice: int
    ) -> AnswerResult:
        """A member's answer, taken once; what they had answered if they did before."""
        question = await self._question(question_id, scope)
        if not 0 <= choice < len(question.options):
            raise NotFound(N_("That answer is not one of this question's."))
        taken = await self.storage.answer_question(
            question_id, user_id=user_id, scope=scope, name=name, choice=choice, now=self.clock()
        )
        return AnswerResult(taken.outcome, question, taken.choice)

    async def reveal_early(self, question_id: int, scope: int, user_id: int) -> Reveal | None:
        """The starter's Reveal: the question closed now; None if it was closed already."""
        question = await self._question(question_id, scope)
        quiz = await self.storage.get_quiz(question.quiz_id)
        assert quiz is not None
        if quiz.starter_id != user_id:
            raise KinapseError(
                N_(
                    "Only the member who started this quiz can reveal the answer early; "
                    "everyone sees it when the time is up."
                )
            )
        return await self._revealed(
            await self.storage.close_question(question_id, now=self.clock(), due_only=False)
        )

    async def close_due(self, question_id: int) -> Reveal | None:
        """Close a question whose deadline passed; None when it is not due or someone else
        closed it (another timer, another process, its starter)."""
        closed = await self.storage.close_question(question_id, now=self.clock(), due_only=True)
        return await self._revealed(closed)

    async def _revealed(self, closed: Closed | None) -> Reveal | None:
        if closed is None:
            return None
        quiz = await self.storage.get_quiz(closed.question.quiz_id)
        assert quiz is not None
        concept_map = await self.storage.get_map(quiz.map_id)
        if concept_map is None:
            return None  # the map was forgotten meanwhile: nothing left to show
        votes = await self.storage.tally(closed.question.id)
        scores = None
        if closed.following is None:
            scores = await self.storage.round_scores(quiz.id, SCORES_SHOWN)
        return Reveal(quiz, concept_map, closed.question, votes, closed.following, scores)

    async def open_questions(self) -> list[QuizQuestion]:
        """Questions taking answers, to put back on their timers after a start."""
        return await self.storage.open_questions()

    async def claim_posting(self, question_id: int) -> bool:
        return await self.storage.claim_posting(question_id)

    async def posted(self, question_id: int, message_id: int) -> None:
        await self.storage.set_question_message(question_id, message_id)

    async def round_of(self, question: QuizQuestion) -> tuple[Quiz, ConceptMap]:
        """What a question's card shows beside the question: its round and its map."""
        quiz = await self.storage.get_quiz(question.quiz_id)
        concept_map = await self.storage.get_map(quiz.map_id) if quiz else None
        if quiz is None or concept_map is None:
            raise NotFound(N_("This quiz no longer exists."))
        return quiz, concept_map

    async def _question(self, question_id: int, scope: int) -> QuizQuestion:
        question = await self.storage.get_question(question_id)
        quiz = await self.storage.get_quiz(question.quiz_id) if question else None
        if question is None or quiz is None or quiz.scope != scope:
            raise NotFound(N_("This quiz no longer exists."))
        return question

    def is_open(self, question: QuizQuestion) -> bool:
        return question.state is QuestionState.OPEN and (question.deadline or 0) > self.clock()


def _targets(
    concepts: list[Concept], concept_id: int | None, count: int, rng: random.Random
) -> list[Concept]:
    """The concepts to ask about: under ``concept_id`` (itself included) when there are
    enough there, else widened to the whole map; explored ones first, mixed."""
    pool = concepts
    if concept_id is not None:
        below = _subtree(concepts, concept_id)
        if not below:
            raise NotFound(N_("That concept is not part of this map."))
        pool = below if len(below) >= count else below + [c for c in concepts if c not in below]
        head, rest = pool[: len(below)], pool[len(below) :]
        rng.shuffle(head)
        rng.shuffle(rest)
        return (head + rest)[:count]
    pool = list(pool)
    rng.shuffle(pool)
    pool.sort(key=lambda c: not c.opened)  # stable: explored ones first, in random order
    return pool[:count]


def _subtree(concepts: list[Concept], root: int) -> list[Concept]:
    below: dict[int | None, list[Concept]] = {}
    for concept in concepts:
        below.setdefault(concept.parent_id, []).append(concept)
    found = [c for c in concepts if c.id == root]
    index = 0
    while index < len(found):
        found += below.get(found[index].id, [])
        index += 1
    return found


def quiz_request(
    concept_map: ConceptMap, concepts: list[Concept], targets: list[Concept]
) -> QuizRequest:
    """What Claude is told to write questions about: each target's card and place."""
    by_id = {c.id: c for c in concepts}

    def path(concept: Concept) -> list[str]:
        titles: list[str] = []
        parent = concept.parent_id
        while parent is not None and parent in by_id:
            titles.insert(0, by_id[parent].title)
            parent = by_id[parent].parent_id
        return titles

    titles = [c.title for c in concepts]
    return QuizRequest(
        topic=concept_map.topic,
        language=concept_map.language,
        level=concept_map.level,
        concepts=[
            QuizConcept(
                title=t.title,
                summary=t.summary,
                detail=t.detail,
                path=path(t),
                others=[title for title in titles if title != t.title],
            )
            for t in targets
        ],
    )
