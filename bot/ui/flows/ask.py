"""Ask: a form for one question about the card it was opened from, the answer written
privately onto the reply as it arrives, and Share, which posts it in the channel."""

from __future__ import annotations

import asyncio
import logging
import re
from functools import partial
from typing import Any

import discord

from bot.errors import KinapseError, NotFound
from bot.explore import View
from bot.i18n import N_, _
from bot.models import QUESTION_MAX, QUESTION_MIN, clean_question
from bot.text import shorten
from bot.ui import cards
from bot.ui.cards import Card
from bot.ui.context import Interaction, in_thread, scope_of
from bot.ui.deliver import answer_in_place
from bot.ui.ids import FORM_ID, FORM_INPUT, Action, form_id
from bot.ui.in_time import answered_in_time
from bot.ui.items import route
from bot.ui.layout import message_kwargs
from bot.ui.limits import FORM_TITLE_MAX, LABEL_DESCRIPTION_MAX, LABEL_TEXT_MAX
from bot.ui.live import LiveEdits
from bot.ui.replies import explain, reply_error
from bot.ui.respond import answering
from bot.ui.speech import speak_to

log = logging.getLogger(__name__)

OLD_SHARE = N_(
    "This Share button is from an older version of Kinapse; ask the question again "
    "to share its answer."
)
FORM_TOO_LATE = N_("The question form couldn't open in time; please press Ask again.")


class AskForm(discord.ui.Modal):
    """The Ask form: one question about the card it was opened from.

    discord.py keeps a sent form in memory only, so a reader who submits after a
    restart would get Discord's "Something went wrong". Instead the form is
    never kept (it is stopped before it is sent) and every submission goes
    through ``submit_form``, which needs nothing but the custom_id.
    """

    def __init__(
        self, subject: str, accent: int, *, concept_id: int | None, map_id: int | None
    ) -> None:
        super().__init__(
            title=shorten(_("Ask about {subject}", subject=subject), FORM_TITLE_MAX),
            custom_id=form_id(concept_id=concept_id, map_id=map_id),
        )
        self.stop()  # not kept by discord.py: submissions arrive through submit_form
        self.subject = subject
        self.accent = accent
        self.concept_id = concept_id
        self.map_id = map_id
        self.question: discord.ui.TextInput[AskForm] = discord.ui.TextInput(
            custom_id=FORM_INPUT,
            style=discord.TextStyle.paragraph,
            min_length=QUESTION_MIN,
            max_length=QUESTION_MAX,
            placeholder=_("For example: why does this matter?"),
        )
        about = shorten(
            _("About {subject}; only you see the answer.", subject=subject), LABEL_DESCRIPTION_MAX
        )
        self.add_item(
            discord.ui.Label(
                text=shorten(_("Your question"), LABEL_TEXT_MAX),
                description=about,
                component=self.question,
            )
        )


async def submit_form(interaction: Interaction) -> None:
    """Answer a submitted Ask form from its custom_id and the question typed in it."""
    data = interaction.data or {}
    match = FORM_ID.fullmatch(str(data.get("custom_id", "")))
    if match is None:
        return  # not a Kinapse form
    speak_to(interaction)
    # Reading the card comes first and may be slow (a busy disk, a locked table): the
    # submission is acknowledged in time all the same, as a button's press is.
    async with answered_in_time(interaction, thinking=True, ephemeral=True):
        try:
            question = _submitted(data.get("components") or [], FORM_INPUT)
            if question is None:
                raise NotFound(N_("The form arrived without a question; press Ask again."))
            await answer_question(interaction, await _form_of(interaction, match), question)
        except Exception as exc:
            await reply_error(interaction, exc)


async def _form_of(interaction: Interaction, match: re.Match[str]) -> AskForm:
    """The form a submission came from, rebuilt from its custom_id and the card it names."""
    target = int(match["target"])
    concepts = interaction.client.explorer.concepts
    if match["kind"] == "c":
        view: View = await concepts.concept_view(target, scope_of(interaction))
        title, concept_id, map_id = view.concept.title, target, None
    else:
        view = await concepts.map_view(target, scope_of(interaction))
        title, concept_id, map_id = view.map.topic, None, target
    return AskForm(title, cards.accent_of(view.map.key), concept_id=concept_id, map_id=map_id)


def _submitted(components: list[dict[str, Any]], custom_id: str) -> str | None:
    """The value typed into the form's input ``custom_id`` (inside labels or rows)."""
    for component in components:
        if component.get("custom_id") == custom_id and "value" in component:
            return str(component["value"])
        inner = list(component.get("components") or [])
        if isinstance(component.get("component"), dict):
            inner.append(component["component"])
        found = _submitted(inner, custom_id)
        if found is not None:
            return found
    return None


@route(Action.ASK)
async def ask_about_concept(interaction: Interaction, concept_id: int) -> None:
    view = await interaction.client.explorer.concepts.concept_view(
        concept_id, scope_of(interaction)
    )
    accent = cards.accent_of(view.map.key)
    form = AskForm(view.concept.title, accent, concept_id=concept_id, map_id=None)
    await open_form(interaction, form)


@route(Action.ASK_MAP)
async def ask_about_map(interaction: Interaction, map_id: int) -> None:
    view = await interaction.client.explorer.concepts.map_view(map_id, scope_of(interaction))
    form = AskForm(view.map.topic, cards.accent_of(view.map.key), concept_id=None, map_id=map_id)
    await open_form(interaction, form)


async def open_form(interaction: Interaction, form: AskForm) -> None:
    """The Ask form, which can only be the first response: if the interaction had to be
    acknowledged before the card was read, the presser is asked to press again."""
    async with answering(interaction):
        if not interaction.response.is_done():
            await interaction.response.send_modal(form)
            return
    await interaction.followup.send(_(FORM_TOO_LATE), ephemeral=True)


async def answer_question(interaction: Interaction, form: AskForm, question: str) -> None:
    """Answer privately: the question at once, then the answer as it is written, then
    the whole answer with its Share button, or what stood in the way. In a concept's
    Discuss thread the answer is the thread's: posted there for everyone."""
    shown = clean_question(question)
    public = await in_discussion(interaction)

    def card(answer: str | None = None, note: str | None = None) -> Card:
        note = note or _(cards.WRITING_NOTE)
        return cards.answer_card(form.subject, shown, answer=answer, note=note, accent=form.accent)

    # Answered before anything slow, so the form never shows an error.
    async with answering(interaction):
        acknowledged = interaction.response.is_done()
        if not acknowledged:
            await interaction.response.send_message(ephemeral=not public, **message_kwargs(card()))
    if acknowledged:
        # Reading the card was slow and "thinking…" went out privately: the answer takes
        # its place, private too.
        public = False
        await _edit_answer(interaction, card())
    live = LiveEdits(partial(_edit, interaction))

    async def on_text(text: str) -> None:
        live.offer(**message_kwargs(card(text), edit=True))

    try:
        answered = await interaction.client.explorer.questions.ask(
            scope_of(interaction),
            interaction.user.id,
            question,
            concept_id=form.concept_id,
            map_id=form.map_id,
            on_text=on_text,
            on_queued=lambda: _edit_answer(interaction, card(note=_(cards.QUEUED_ANSWER_NOTE))),
        )
    except Exception as exc:
        await live.settle()
        await _edit_answer(interaction, card(note=f"⚠️ {explain(interaction, exc)}"))
        return
    await live.settle()
    await _edit_answer(interaction, cards.answered_card(answered, can_share=not public))


async def in_discussion(interaction: Interaction) -> bool:
    """Whether the interaction comes from a concept's Discuss thread."""
    if not in_thread(interaction) or interaction.channel_id is None:
        return False
    try:
        explorer = interaction.client.explorer
        return await explorer.discussions.concept_of(interaction.channel_id) is not None
    except Exception:
        log.warning("Could not tell whether %s is a discussion", interaction.channel_id)
        return False


async def _edit_answer(interaction: Interaction, card: Card) -> None:
    await _edit(interaction, **message_kwargs(card, edit=True))


async def _edit(interaction: Interaction, **fields: Any) -> None:
    try:
        await interaction.edit_original_response(**fields)
    except discord.HTTPException:
        # Dismissed by the reader, or Discord refused: the answer is stored all the same.
        log.info("Could not update an answer in %s", interaction.guild_id, exc_info=True)


@route(Action.SHARE)
async def share(interaction: Interaction, ask_id: int) -> None:
    """Post the presser's own answer publicly in the channel, quoting its question and
    naming its card, once: the claim is stored before anything is posted, and the
    private answer's Share button greys out."""
    questions = interaction.client.explorer.questions
    view = await questions.share(ask_id, interaction.user.id, scope_of(interaction))
    try:
        await answer_in_place(interaction, cards.answered_card(view, can_share=True, shared=True))
        await interaction.followup.send(
            **message_kwargs(cards.answered_card(view, can_share=False))
        )
    except BaseException:
        # Not posted: the member may press Share again.
        await asyncio.shield(questions.unshare(ask_id))
        await _edit_answer(interaction, cards.answered_card(view, can_share=True))
        raise


@route(Action.SHARE_UNRECORDED)
async def share_unrecorded(interaction: Interaction, answer_id: int) -> None:
    raise KinapseError(OLD_SHARE)
