"""Quizzes in the core, on real databases (SQLite and PostgreSQL): questions from every
curated map's text, answers sent truly at once, and a question closed exactly once by
two processes' timers racing each other."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT, Settings
from bot.explore import Explorer
from bot.explore.quiz_text import text_questions
from bot.maps import BundledMaps
from bot.models import ChildState, Concept, QuestionState
from bot.storage import Storage, open_storage
from bot.storage.quizzes import Answered
from tests.support.fakes import Clock, FakeGenerator

GUILD = 777
CHANNEL = 888
MEMBERS = 20


@pytest.fixture
def bundled() -> BundledMaps:
    return BundledMaps.load(PROJECT_ROOT / "maps")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database=tmp_path / "k.db", maps_dir=PROJECT_ROOT / "maps", shard_count=1)


@pytest.fixture
async def two(
    database: Path | str, bundled: BundledMaps, settings: Settings
) -> AsyncIterator[tuple[Explorer, Explorer, Clock]]:
    """Two explorers, each on its own connection to one database, as two processes are."""
    clock = Clock()
    async with open_storage(database) as first, open_storage(database) as second:
        explorers = tuple(
            Explorer(s, bundled, settings, None, clock=clock) for s in (first, second)
        )
        yield explorers[0], explorers[1], clock


async def curated_map(explorer: Explorer, topic: str = "AI Agents") -> int:
    stored = await explorer.topics.lookup(GUILD, topic)
    assert stored is not None
    return stored.id


def test_every_curated_map_makes_valid_questions_from_its_own_text(bundled: BundledMaps):
    for bundled_map in bundled.maps:
        concepts = _as_stored(bundled_map)
        made = text_questions(concepts, concepts, random.Random(1))
        assert len(made) == len(concepts), bundled_map.topic  # one per concept, none skipped
        for concept_id, question in made:
            concept = next(c for c in concepts if c.id == concept_id)
            assert question.options[question.correct] == concept.title
            assert len(set(question.options)) == len(question.options)
            # The summary shown never gives the title away.
            if question.prompt.startswith("Which concept"):
                assert concept.title.casefold() not in question.prompt.casefold()


def _as_stored(bundled_map) -> list[Concept]:
    concepts: list[Concept] = []

    def add(items, parent: int | None, depth: int) -> None:
        for position, item in enumerate(items):
            concept = Concept(
                id=len(concepts) + 1,
                map_id=1,
                parent_id=parent,
                position=position,
                depth=depth,
                title=item.title,
                summary=item.summary,
                detail=item.detail,
                state=ChildState.EXPANDED if item.children else ChildState.UNEXPANDED,
            )
            concepts.append(concept)
            add(item.children or [], concept.id, depth + 1)

    add(bundled_map.concepts, None, 1)
    return concepts


async def test_members_answering_at_once_are_all_counted_once(two):
    first, second, clock = two
    map_id = await curated_map(first)
    started = await first.quizzes.start(GUILD, CHANNEL, 1, map_id=map_id, count=1, seconds=30)
    question = started.question

    async def answer(member: int, explorer: Explorer):
        return await explorer.quizzes.answer(question.id, GUILD, member, f"m{member}", member % 3)

    # Every member at once, half through each process, and each member twice.
    results = await asyncio.gather(
        *(answer(m, first if m % 2 else second) for m in range(MEMBERS)),
        *(answer(m, second if m % 2 else first) for m in range(MEMBERS)),
    )
    taken = [r for r in results if r.outcome is Answered.TAKEN]
    already = [r for r in results if r.outcome is Answered.ALREADY]
    assert len(taken) == MEMBERS and len(already) == MEMBERS
    votes = await first.storage.tally(question.id)
    assert sorted(v.user_id for v in votes) == list(range(MEMBERS))

    clock.now += 31  # time is up: no answer is taken any more
    late = await answer(MEMBERS, first)
    assert late.outcome is Answered.CLOSED


async def test_two_processes_close_a_question_exactly_once(two):
    first, second, clock = two
    map_id = await curated_map(first)
    started = await first.quizzes.start(GUILD, CHANNEL, 1, map_id=map_id, count=3, seconds=30)
    question = started.question

    assert await first.quizzes.close_due(question.id) is None  # not due yet
    clock.now += 30
    reveals = await asyncio.gather(
        *(e.quizzes.close_due(question.id) for e in (first, second, first, second))
    )
    won = [r for r in reveals if r is not None]
    assert len(won) == 1
    following = won[0].following
    assert following is not None and following.position == 2
    assert following.state is QuestionState.OPEN and following.deadline == clock.now + 30
    # The starter's Reveal after the timer's close changes nothing either.
    assert await second.quizzes.reveal_early(question.id, GUILD, 1) is None
    stored = await first.storage.get_question(question.id)
    assert stored is not None and stored.state is QuestionState.CLOSED


async def test_claude_writes_questions_once_per_concept(
    database: Path | str, bundled: BundledMaps, settings: Settings
):
    """With a key, the questions Claude writes are stored: the next quiz on the same
    concepts makes no call."""
    fake = FakeGenerator()
    async with open_storage(database) as storage:
        explorer = Explorer(storage, bundled, settings, fake, clock=Clock())
        map_id = await curated_map(explorer)
        key = (await storage.key_concepts(map_id))[0]
        count = 1 + len(await storage.children(key.id))  # the concept and what is under it
        on = {"map_id": map_id, "concept_id": key.id, "count": count}
        first = await explorer.quizzes.start(GUILD, CHANNEL, 1, **on)
        assert [c.kind for c in fake.calls] == ["quiz"]
        assert len(fake.calls[0].request.concepts) == count  # one call for the whole round
        assert first.quiz.written_by == fake.model
        assert first.question.prompt.startswith("Claude asks")
        again = await explorer.quizzes.start(GUILD, CHANNEL, 2, **on)
        assert [c.kind for c in fake.calls] == ["quiz"]  # stored: no second call
        assert again.question.prompt.startswith("Claude asks")
        usage = await storage.usage_since(GUILD, 0)
        assert usage.calls == 1  # counted in usage like any generation


async def test_a_failed_claude_call_leaves_the_quiz_to_the_maps_text(
    storage: Storage, bundled: BundledMaps, settings: Settings
):
    fake = FakeGenerator()
    fake.fail_with("Claude is overloaded.")
    explorer = Explorer(storage, bundled, settings, fake, clock=Clock())
    started = await explorer.quizzes.start(
        GUILD, CHANNEL, 1, map_id=await curated_map(explorer), count=2
    )
    assert started.quiz.written_by is None
    assert not started.question.prompt.startswith("Claude asks")
