"""Quizzes in a channel: /quiz and the Quiz buttons post a question card; each member's
answer gets a private reply at once; the starter may reveal early; the deadline reveals
it otherwise (``bot.ui.quiz_clock``), then the next question follows."""

from __future__ import annotations

import logging

from bot.errors import KinapseError, NotFound
from bot.explore.quizzes import QUESTIONS_DEFAULT, SECONDS_DEFAULT, Answered
from bot.i18n import N_, _
from bot.models import clean_topic
from bot.ui.cards import accent_of, literal
from bot.ui.cards.learning import LETTERS, feedback_card, question_card, revealed_card
from bot.ui.context import Interaction, in_thread, scope_of, server_installed
from bot.ui.deliver import answer_in_place, answer_privately
from bot.ui.ids import Action
from bot.ui.in_time import answered_in_time
from bot.ui.items import pair_route, route
from bot.ui.layout import message_kwargs
from bot.ui.respond import answering, edit_finally, send_text

log = logging.getLogger(__name__)

NOT_HERE = N_("Quizzes run in a server channel where Kinapse is installed.")
CANNOT_SEND = N_(
    "I can't post in this channel, so a quiz can't run here: a server manager can give "
    "Kinapse **View Channel** and **Send Messages** here, or start the quiz in another channel."
)
ALREADY = N_("You already answered this question (you chose **{choice}**): one answer each.")
TOO_LATE = N_("Time is up for this question: the answer is on its card.")
REVEALED_ALREADY = N_("This question has been revealed already.")


def check_can_run(interaction: Interaction) -> None:
    """A quiz needs a server that installed Kinapse, and a channel it can post in (its
    next questions are messages of its own)."""
    if not server_installed(interaction):
        raise KinapseError(NOT_HERE)
    permissions = interaction.app_permissions
    threaded = in_thread(interaction)
    can_send = permissions.send_messages_in_threads if threaded else permissions.send_messages
    if not (permissions.view_channel and can_send):
        raise KinapseError(CANNOT_SEND)


async def quiz_command(
    interaction: Interaction,
    topic: str,
    concept: str | None,
    questions: int | None,
    seconds: int | None,
) -> None:
    """/quiz: a round on a map this server has (a curated map is opened first)."""
    check_can_run(interaction)
    async with answered_in_time(interaction, thinking=True, ephemeral=False):
        explorer = interaction.client.explorer
        scope = scope_of(interaction)
        concept_map = await explorer.topics.lookup(scope, clean_topic(topic), interaction.user.id)
        if concept_map is None:
            raise NotFound(
                N_(
                    "There is no map called {topic} yet; /explore it first.",
                    topic=literal(clean_topic(topic)),
                )
            )
        concept_id = None
        if concept:
            concept_id = await explorer.quizzes.concept_named(concept_map.id, clean_topic(concept))
        await start_quiz(
            interaction,
            map_id=concept_map.id,
            concept_id=concept_id,
            count=questions or QUESTIONS_DEFAULT,
            seconds=seconds or SECONDS_DEFAULT,
        )


@route(Action.QUIZ)
async def quiz_concept(interaction: Interaction, concept_id: int) -> None:
    check_can_run(interaction)
    concept = await interaction.client.explorer.concepts.get(concept_id)
    if concept is None:
        raise NotFound(N_("This concept no longer exists; run /explore again."))
    await start_quiz(interaction, map_id=concept.map_id, concept_id=concept_id)


@route(Action.QUIZ_MAP)
async def quiz_map(interaction: Interaction, map_id: int) -> None:
    check_can_run(interaction)
    await start_quiz(interaction, map_id=map_id)


async def start_quiz(
    interaction: Interaction,
    *,
    map_id: int,
    concept_id: int | None = None,
    count: int = QUESTIONS_DEFAULT,
    seconds: int = SECONDS_DEFAULT,
) -> None:
    """Post the round's first question publicly in the channel and start its clock."""
    explorer = interaction.client.explorer
    assert interaction.channel_id is not None
    started = await explorer.quizzes.start(
        scope_of(interaction),
        interaction.channel_id,
        interaction.user.id,
        map_id=map_id,
        concept_id=concept_id,
        count=count,
        seconds=seconds,
    )
    clock = interaction.client.quiz_clock
    with clock.in_server_language(started.quiz):  # a public card, the server's
        card = question_card(started.quiz, started.map, started.question)
    fields = message_kwargs(card)
    message_id: int | None = None
    async with answering(interaction):
        if not interaction.response.is_done():
            sent = await interaction.response.send_message(**fields)
            message_id = sent.message_id
    if message_id is None:
        if interaction.message is None:  # /quiz's own "thinking…" message becomes the card
            message = await edit_finally(interaction, **message_kwargs(card, edit=True))
        else:  # a Quiz button acknowledged in place: the card is a message of its own
            message = await interaction.followup.send(wait=True, **fields)
        message_id = message.id if message is not None else None
    clock.schedule(started.question)
    if message_id is not None:
        await explorer.quizzes.posted(started.question.id, message_id)


@pair_route(Action.ANSWER)
async def answer(interaction: Interaction, question_id: int, option: int) -> None:
    """One member's answer: taken once, and answered privately at once."""
    explorer = interaction.client.explorer
    result = await explorer.quizzes.answer(
        question_id,
        scope_of(interaction),
        interaction.user.id,
        interaction.user.display_name,
        option,
    )
    if result.outcome is Answered.CLOSED:
        await send_text(interaction, _(TOO_LATE))
        return
    if result.outcome is Answered.ALREADY:
        choice = result.choice if result.choice is not None else option
        shown = f"{LETTERS[choice]} · {literal(result.question.options[choice])}"
        await send_text(interaction, _(ALREADY, choice=shown))
        return
    _round, concept_map = await explorer.quizzes.round_of(result.question)
    await answer_privately(interaction, feedback_card(result, accent_of(concept_map.key)))


@route(Action.REVEAL)
async def reveal(interaction: Interaction, question_id: int) -> None:
    """The starter reveals the answer before the time is up; anyone else is told why not."""
    explorer = interaction.client.explorer
    revealed = await explorer.quizzes.reveal_early(
        question_id, scope_of(interaction), interaction.user.id
    )
    if revealed is None:
        await send_text(interaction, _(REVEALED_ALREADY))
        return
    with interaction.client.quiz_clock.in_server_language(revealed.quiz):
        card = revealed_card(revealed)
    await answer_in_place(interaction, card)
    await interaction.client.quiz_clock.publish(revealed, edited=True)
