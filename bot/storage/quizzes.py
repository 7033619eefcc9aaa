"""Quizzes: rounds of questions, members' answers, and the close of each question, exactly
once whatever number of processes and timers try (one UPDATE moves it from open to
closed; the answer statements take the same row first, so no answer lands after it).
``Storage`` takes this part in as a mixin."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bot.models import QuestionState, Quiz, QuizDraft, QuizQuestion
from bot.storage.learning_sql import (
    CLAIM_POSTING,
    CLOSE_QUESTION,
    INSERT_ANSWER,
    INSERT_CONCEPT_QUESTION,
    INSERT_QUESTION,
    INSERT_QUIZ,
    OPEN_QUESTION,
    QUESTION_STATE,
    ROUND_SCORES,
    SELECT_CONCEPT_QUESTIONS,
    SELECT_MEMBER_ANSWER,
    SELECT_OPEN_QUESTIONS,
    SELECT_QUESTION,
    SELECT_QUIZ,
    SET_QUESTION_MESSAGE,
    TAKE_ANSWER,
    TALLY,
    UNTAKE_ANSWER,
    UPSERT_NAME,
)

if TYPE_CHECKING:
    from bot.storage.base import Row, Transaction


class Answered(StrEnum):
    TAKEN = "taken"
    ALREADY = "already"  # the member answered this question before
    CLOSED = "closed"  # time is up, or the question was revealed


@dataclass(frozen=True)
class AnswerOutcome:
    outcome: Answered
    choice: int | None = None  # the member's answer: this one, or the one given before


@dataclass(frozen=True)
class Vote:
    """One member's answer to a question, with the display name they had when answering."""

    user_id: int
    name: str
    choice: int
    correct: bool


@dataclass(frozen=True)
class Score:
    user_id: int
    name: str
    correct: int
    answered: int


@dataclass(frozen=True)
class Closed:
    """A question just closed by this caller, and the question it opened after it (None
    after the last)."""

    question: QuizQuestion
    following: QuizQuestion | None


class QuizStore:
    """The quizzes' rows."""

    if TYPE_CHECKING:  # supplied by Storage and its backend

        def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

        async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

        async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def create_quiz(
        self,
        *,
        scope: int,
        channel_id: int,
        map_id: int,
        concept_id: int | None,
        starter_id: int,
        seconds: int,
        questions: Sequence[tuple[int | None, QuizDraft]],
        written_by: str | None,
        now: float,
    ) -> tuple[Quiz, QuizQuestion]:
        """Store a round and its questions, the first one open from ``now`` for ``seconds``."""
        async with self.transaction() as db:
            row = await db.fetchone(
                INSERT_QUIZ,
                (
                    scope,
                    channel_id,
                    map_id,
                    concept_id,
                    starter_id,
                    seconds,
                    len(questions),
                    written_by,
                    now,
                ),
            )
            assert row is not None
            quiz_id = row[0]
            await db.executemany(
                INSERT_QUESTION,
                [
                    (
                        quiz_id,
                        position,
                        about,
                        q.prompt,
                        json.dumps(q.options),
                        q.correct,
                        q.explanation,
                    )
                    for position, (about, q) in enumerate(questions, start=1)
                ],
            )
            opened = await db.fetchone(OPEN_QUESTION, (now + seconds, quiz_id, 1))
            assert opened is not None
            # Its card is the starter's answer, posted by this caller: no one else posts it.
            await db.execute(CLAIM_POSTING, (opened[0],))
        quiz = await self.get_quiz(quiz_id)
        first = await self.get_question(opened[0])
        assert quiz is not None and first is not None
        return quiz, first

    async def get_quiz(self, quiz_id: int) -> Quiz | None:
        row = await self._one(SELECT_QUIZ, (quiz_id,))
        return Quiz.model_validate(dict(row)) if row else None

    async def get_question(self, question_id: int) -> QuizQuestion | None:
        row = await self._one(SELECT_QUESTION, (question_id,))
        return _question(row) if row else None

    async def open_questions(self) -> list[QuizQuestion]:
        """Every question still taking answers, soonest deadline first."""
        return [_question(row) for row in await self._all(SELECT_OPEN_QUESTIONS)]

    async def claim_posting(self, question_id: int) -> bool:
        """Whether this caller is the one to post an open question that has no message."""
        async with self.transaction() as db:
            return await db.execute(CLAIM_POSTING, (question_id,)) == 1

    async def set_question_message(self, question_id: int, message_id: int) -> None:
        async with self.transaction() as db:
            await db.execute(SET_QUESTION_MESSAGE, (message_id, question_id))

    async def answer_question(
        self, question_id: int, *, user_id: int, scope: int, name: str, choice: int, now: float
    ) -> AnswerOutcome:
        """Take a member's answer: once per member, and only while the question is open."""
        async with self.transaction() as db:
            if not await db.execute(TAKE_ANSWER, (question_id, now)):
                return AnswerOutcome(Answered.CLOSED)
            state = await db.fetchone(SELECT_QUESTION, (question_id,))
            assert state is not None
            correct = int(choice == _question(state).correct)
            row = (question_id, user_id, scope, choice, correct, now)
            if not await db.execute(INSERT_ANSWER, row):
                # One answer per member: the one given first stands.
                await db.execute(UNTAKE_ANSWER, (question_id,))
                before = await db.fetchone(SELECT_MEMBER_ANSWER, (question_id, user_id))
                return AnswerOutcome(Answered.ALREADY, before[0] if before else None)
            await db.execute(UPSERT_NAME, (scope, user_id, name))
        return AnswerOutcome(Answered.TAKEN, choice)

    async def question_is_open(self, question_id: int, now: float) -> bool:
        row = await self._one(QUESTION_STATE, (question_id,))
        return row is not None and row[0] == QuestionState.OPEN and (row[1] or 0) > now

    async def close_question(
        self, question_id: int, *, now: float, due_only: bool
    ) -> Closed | None:
        """Close the question and open the round's next one, in one transaction; None when
        it was not this caller's to close (closed already, or with ``due_only``, not due)."""
        async with self.transaction() as db:
            closed = await db.fetchone(CLOSE_QUESTION, (now, question_id, int(due_only), now))
            if closed is None:
                return None
            quiz_id, position = closed
            quiz = await db.fetchone(SELECT_QUIZ, (quiz_id,))
            assert quiz is not None
            seconds = dict(quiz)["seconds"]
            following = await db.fetchone(OPEN_QUESTION, (now + seconds, quiz_id, position + 1))
        question = await self.get_question(question_id)
        assert question is not None
        after = await self.get_question(following[0]) if following else None
        return Closed(question, after)

    async def tally(self, question_id: int) -> list[Vote]:
        rows = await self._all(TALLY, (question_id,))
        return [Vote(r[0], r[1], r[2], bool(r[3])) for r in rows]

    async def round_scores(self, quiz_id: int, limit: int) -> list[Score]:
        rows = await self._all(ROUND_SCORES, (quiz_id, limit))
        return [Score(r[0], r[1], int(r[2]), int(r[3])) for r in rows]

    async def concept_questions(self, concept_ids: Collection[int]) -> dict[int, QuizDraft]:
        """The questions Claude wrote for these concepts, by concept."""
        if not concept_ids:
            return {}
        ids = list(concept_ids)
        sql = SELECT_CONCEPT_QUESTIONS.format(ids=", ".join("?" * len(ids)))
        return {
            r[0]: QuizDraft(prompt=r[1], options=json.loads(r[2]), correct=r[3], explanation=r[4])
            for r in await self._all(sql, ids)
        }

    async def save_concept_questions(
        self, written: Sequence[tuple[int, QuizDraft]], *, model: str, now: float
    ) -> None:
        """Store questions written for concepts; one stored first for a concept stays."""
        async with self.transaction() as db:
            await db.executemany(
                INSERT_CONCEPT_QUESTION,
                [
                    (
                        concept_id,
                        q.prompt,
                        json.dumps(q.options),
                        q.correct,
                        q.explanation,
                        model,
                        now,
                    )
                    for concept_id, q in written
                ],
            )


def _question(row: Row) -> QuizQuestion:
    data = dict(row)
    data["options"] = json.loads(data["options"])
    return QuizQuestion.model_validate(data)
