"""Quiz deadlines while the bot runs: one asyncio task per open question sleeps until its
deadline, closes it in storage (one process and one timer win: ``Quizzes.close_due``),
edits its card into the reveal and posts the round's next question.

A round's cards are public, the server's: they speak the server's language (its preferred
locale), whoever started the round and whatever happens to the process meanwhile; the
private reply to an answer speaks the member's.

At start every open question is put back on a timer (one whose deadline passed while the
bot was stopped closes at once, with the answers it had); while questions are open, a
sweep now and then takes up those another process left behind when it stopped.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

import discord

from bot.explore.quizzes import Quizzes, Reveal
from bot.i18n import speaking
from bot.models import ConceptMap, Quiz, QuizQuestion
from bot.ui.cards.learning import question_card, revealed_card
from bot.ui.layout import message_kwargs

if TYPE_CHECKING:
    from bot.ui.client import KinapseBot

log = logging.getLogger(__name__)

SWEEP_SECONDS = 300.0  # how often open questions left by other processes are looked for
SWEEP_GRACE = 10.0  # a question this long past its deadline has no live timer elsewhere
RETRY_SECONDS = 5.0  # a close the database refused is tried again after this
RETRIES = 12


class QuizClock:
    """The timers of the open questions this process knows of."""

    def __init__(self, bot: KinapseBot) -> None:
        self.bot = bot
        self._timers: dict[int, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def quizzes(self) -> Quizzes:
        return self.bot.explorer.quizzes

    def in_server_language(self, quiz: Quiz) -> AbstractContextManager[None]:
        """Messages inside the block in the language of the quiz's server (as it is now)."""
        guild = self.bot.get_guild(quiz.scope)
        locale = guild.preferred_locale if guild is not None else None
        return speaking(str(locale)) if locale else nullcontext()

    async def start(self) -> None:
        """Put every open question back on its timer (a failure is logged: the bot starts
        all the same, and the sweep of the next quiz takes them up)."""
        try:
            await self.sweep(grace=0.0)
        except Exception:
            log.warning("Could not put the open quiz questions back on their timers", exc_info=True)

    async def stop(self) -> None:
        tasks = [*self._timers.values(), *([self._sweeper] if self._sweeper else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._timers.clear()

    def schedule(self, question: QuizQuestion) -> None:
        """Close ``question`` at its deadline (once: a second call changes nothing)."""
        if question.id in self._timers or question.deadline is None:
            return
        timer = asyncio.create_task(self._at_deadline(question.id, question.deadline))
        self._timers[question.id] = timer
        timer.add_done_callback(lambda _: self._timers.pop(question.id, None))
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep_while_open())

    async def sweep(self, *, grace: float = SWEEP_GRACE) -> int:
        """Take up open questions with no timer here: the ones a stopped process left
        (posted, or not yet), or, with ``grace`` 0 at start, every one. How many are open."""
        now = self.bot.explorer.clock()
        found = await self.quizzes.open_questions()
        for question in found:
            if question.id in self._timers:
                continue
            if question.message_id is None:
                await self._post_orphan(question)
            if (question.deadline or 0) <= now - grace or grace == 0.0:
                self.schedule(question)
        return len(found)

    async def _sweep_while_open(self) -> None:
        """Now and then while questions are open (a bot with no quiz running reads nothing)."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                if not await self.sweep():
                    return
            except Exception:
                log.warning("Could not look for quiz questions left open", exc_info=True)

    async def _at_deadline(self, question_id: int, deadline: float) -> None:
        clock = self.bot.explorer.clock
        # A timer may wake a hair early by the clock it is compared with: sleep the rest.
        while (left := deadline - clock()) > 0:  # noqa: ASYNC110 - a deadline, not an event
            await asyncio.sleep(left)
        for attempt in range(RETRIES):
            try:
                reveal = await self.quizzes.close_due(question_id)
                break
            except Exception:
                log.warning(
                    "Could not close quiz question %s (attempt %d)",
                    question_id,
                    attempt + 1,
                    exc_info=True,
                )
                await asyncio.sleep(RETRY_SECONDS)
        else:
            return
        if reveal is not None:
            await self.publish(reveal)

    async def publish(self, reveal: Reveal, *, edited: bool = False) -> None:
        """Show the reveal on the question's card (unless ``edited``: the starter's press
        did) and post the next question."""
        question = reveal.question
        if not edited and question.message_id:
            channel = self.bot.get_partial_messageable(reveal.quiz.channel_id)
            with self.in_server_language(reveal.quiz):
                card = revealed_card(reveal)
            try:
                await channel.get_partial_message(question.message_id).edit(
                    **message_kwargs(card, edit=True)
                )
            except discord.HTTPException as exc:
                log.warning("Could not reveal quiz question %s: %s", question.id, exc)
        if reveal.following is not None:
            await self.post(reveal.quiz, reveal.map, reveal.following)

    async def post(self, quiz: Quiz, concept_map: ConceptMap, question: QuizQuestion) -> None:
        """Post an open question in its channel and put it on its timer; of the processes
        that try, the one that claims it posts it."""
        self.schedule(question)  # its round goes on even if the card cannot be posted
        if not await self.quizzes.claim_posting(question.id):
            return
        channel = self.bot.get_partial_messageable(quiz.channel_id)
        with self.in_server_language(quiz):
            card = question_card(quiz, concept_map, question)
        try:
            message = await channel.send(**message_kwargs(card))
        except discord.HTTPException as exc:
            log.warning("Could not post quiz question %s: %s", question.id, exc)
            return
        await self.quizzes.posted(question.id, message.id)

    async def _post_orphan(self, question: QuizQuestion) -> None:
        try:
            quiz, concept_map = await self.quizzes.round_of(question)
        except Exception:
            log.warning("Quiz question %s has no round to post it in", question.id)
            return
        await self.post(quiz, concept_map, question)
