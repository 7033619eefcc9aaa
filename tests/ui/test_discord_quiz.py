"""Quizzes through Discord: /quiz and the Quiz buttons post a public question card, each
member answers once with a private reply at once, the deadline (SimCord's virtual clock)
or the starter's Reveal shows the answer and who got it right, then the next question,
and the last one the round's scores; a restart keeps an open question's clock."""

from __future__ import annotations

import re

import discord
import pytest

from bot.ui.flows.quiz import ALREADY, CANNOT_SEND
from tests.support.harness import (
    Kinapse,
    World,
    card_text,
    click_open,
    custom_ids,
    labels,
)
from tests.support.standin import StandIn

ANSWER = re.compile(r"kin:qa:(\d+):(\d)")


def on_virtual_clock(kinapse: Kinapse, world: World) -> None:
    """The bot's clock is SimCord's, so a deadline passes when the test moves time on."""
    assert kinapse.explorer is not None
    kinapse.explorer.clock = lambda: world.env.now().timestamp()


@pytest.fixture(autouse=True)
def virtual_clock(kinapse: Kinapse, world: World, simcord_bot) -> None:
    on_virtual_clock(kinapse, world)


def question_of(message) -> int:
    ids = [m for m in (ANSWER.fullmatch(i) for i in custom_ids(message)) if m]
    assert ids, f"no answer buttons in {custom_ids(message)}"
    return int(ids[0][1])


async def correct_option(kinapse: Kinapse, question_id: int) -> int:
    question = await kinapse.storage.get_question(question_id)
    assert question is not None
    return question.correct


def answer_id(question_id: int, option: int) -> str:
    return f"kin:qa:{question_id}:{option}"


def latest(world: World, channel=None):
    """The channel's newest message, to press its buttons."""
    return (channel or world.channel).last_message


def seen(world: World, message, channel=None):
    """A message as it is now, with its raw components, to read it."""
    return world.env.backend.get_message((channel or world.channel).id, message.id)


@pytest.mark.no_generator
async def test_a_quiz_on_a_curated_map_with_no_key(
    world: World, kinapse: Kinapse, standin: StandIn
):
    """The black-box check: /quiz posts a card with answer buttons, two members answer at
    once, the card reveals the right answer; questions come from the map's own text."""
    started = await world.alice.slash(
        world.channel, "quiz", topic="AI Agents", questions=2, seconds=30
    )
    card = started.response
    assert not card.ephemeral
    assert "questions from the map's text" in card_text(card)
    buttons = [label for label in labels(card) if label and label[1:4] == " · "]
    assert 3 <= len(buttons) <= 5
    question = question_of(card)
    right = await correct_option(kinapse, question)
    wrong = (right + 1) % len(buttons)

    # Two members answer at the same moment of the clock (SimCord runs one operation at a
    # time; tests/explore/test_quizzes.py sends answers truly at once); each is told
    # privately, at once.
    alice = await world.alice.click(card, custom_id=answer_id(question, right))
    bob = await world.bob.click(card, custom_id=answer_id(question, wrong))
    assert alice.response.ephemeral and "Right!" in card_text(alice.response)
    assert bob.response.ephemeral and "Not this time" in card_text(bob.response)
    assert "Open the concept" in labels(bob.response)

    # One member twice: the first answer stands.
    again = await world.bob.click(card, custom_id=answer_id(question, right))
    assert again.response.ephemeral
    assert again.response.content.startswith(ALREADY.split("(")[0])
    stored = await kinapse.storage.tally(question)
    assert sorted((v.name, v.correct) for v in stored) == [("alice", True), ("bob", False)]

    await world.env.advance_time(31)
    revealed = world.env.backend.get_message(world.channel.id, card.id)
    shown = card_text(revealed)
    assert "Right: alice" in shown and "bob" not in shown.split("Right:")[1].split("\n")[0]
    assert not [c for c in custom_ids(revealed) if c.startswith("kin:qa:")]  # answers closed
    following = latest(world)
    assert following.id != card.id and question_of(seen(world, following)) != question
    assert "question 2 of 2" in card_text(seen(world, following))
    assert standin.requests == []  # no model call: no key, questions from the map's text

    # The last question's reveal carries the round's scores.
    last = question_of(seen(world, following))
    right = await correct_option(kinapse, last)
    await world.alice.click(following, custom_id=answer_id(last, right))
    await world.env.advance_time(31)
    final = card_text(world.env.backend.get_message(world.channel.id, following.id))
    assert "Round over: scores" in final
    assert "1. alice — 2 of 2" in final and "2. bob — 0 of 2" in final


async def test_only_the_starter_may_reveal_early(world: World, kinapse: Kinapse):
    card = (await world.alice.slash(world.channel, "quiz", topic="AI Agents", questions=2)).response
    question = question_of(card)

    refused = await world.bob.click(card, label="Reveal now")
    assert refused.response.ephemeral and "Only the member who started" in refused.response.content
    assert (await kinapse.storage.get_question(question)).state == "open"

    revealed = await world.alice.click(card, label="Reveal now")
    assert revealed.response.id == card.id and "Nobody answered." in card_text(revealed.response)
    second = latest(world)
    assert "question 2 of 2" in card_text(seen(world, second))
    # The first deadline comes and goes: closed once already, so no second next question.
    await world.env.advance_time(31)
    assert latest(world).id == second.id
    assert "Round over" in card_text(seen(world, second))


async def test_an_open_question_survives_a_restart(world: World, kinapse: Kinapse):
    card = (await world.alice.slash(world.channel, "quiz", topic="AI Agents", questions=1)).response
    question = question_of(card)
    right = await correct_option(kinapse, question)
    await world.bob.click(card, custom_id=answer_id(question, right))

    await kinapse.restart(world.env)
    on_virtual_clock(kinapse, world)
    await world.env.advance_time(31)

    revealed = card_text(world.env.backend.get_message(world.channel.id, card.id))
    assert "Right: bob" in revealed and "1. bob — 1 of 1" in revealed


async def test_the_quiz_button_of_a_concept_card(world: World, kinapse: Kinapse):
    first = kinapse.bundled.find("ai agents").concepts[0]
    message = (await world.alice.slash(world.channel, "explore", topic="AI Agents")).response
    concept = (await click_open(world.alice, message, first.title)).response
    assert labels(concept)[-3:] == ["Quiz", "Remember", "Discuss"]

    pressed = await world.bob.click(concept, label="Quiz")
    posted = pressed.response
    assert posted.id != concept.id and not posted.ephemeral
    quiz = await kinapse.storage.get_quiz(
        (await kinapse.storage.get_question(question_of(posted))).quiz_id
    )
    assert quiz.concept_id is not None and quiz.starter_id == world.bob.id
    # The first questions are about the concept and what is under it.
    question = await kinapse.storage.get_question(question_of(posted))
    below = {c.title for c in [first, *(first.children or [])]}
    concept_row = await kinapse.storage.get_concept(question.concept_id)
    assert concept_row.title in below


async def test_no_quiz_where_the_bot_cannot_post(world: World, kinapse: Kinapse):
    me = world.guild.me
    assert me is not None
    closed = world.guild.create_text_channel(
        "read-only", overwrites={me: discord.PermissionOverwrite(send_messages=False)}
    )
    refused = await world.alice.slash(closed, "quiz", topic="AI Agents")
    assert refused.response.ephemeral and refused.response.content == CANNOT_SEND
    assert not closed.history()
    assert len(world.env.errors) == 1  # answered by the tree's error handler


@pytest.mark.anthropic
async def test_with_a_key_claude_writes_the_questions_once(
    world: World, kinapse: Kinapse, standin: StandIn
):
    """The real SDK against the stand-in: one call writes the round's questions, grounded in
    the cards it quotes; the next round on the same concepts asks nothing."""
    concept = kinapse.bundled.find("ai agents").concepts[0]
    count = 1 + len(concept.children or [])
    options = {"topic": "AI Agents", "concept": concept.title, "questions": count}
    card = (await world.alice.slash(world.channel, "quiz", **options)).response
    [request] = standin.requests
    assert "<quiz>" in request.prompt and concept.detail[:40] in request.prompt
    assert "questions by claude" in card_text(card)
    assert "What does the card on" in card_text(card)

    await world.alice.click(card, label="Reveal now")
    again = (await world.bob.slash(world.channel, "quiz", **options)).response
    assert "questions by claude" in card_text(again)
    assert len(standin.requests) == 1  # stored: every concept has its question
    usage = await kinapse.storage.usage_since(world.guild.id, 0)
    assert usage.calls == 1


async def test_the_quiz_button_of_a_map_card(world: World, kinapse: Kinapse):
    message = (await world.alice.slash(world.channel, "explore", topic="Blockchain")).response
    pressed = await world.bob.click(message, label="Quiz")
    posted = pressed.response
    assert posted.id != message.id and not posted.ephemeral
    assert "Quiz · Blockchain · question 1 of 5" in card_text(posted)
