"""The cards of a question and its answer: while it is written, and as stored."""

from __future__ import annotations

import discord

from bot.explore import AnswerView
from bot.i18n import N_, _
from bot.models import QUESTION_MAX
from bot.text import defuse_mentions, shorten
from bot.ui.cards.blocks import Card, Control, Row, accent_of, literal
from bot.ui.cards.explore import FOOTER_MAX, MODEL_NAME_MAX
from bot.ui.cards.fit import (
    BODY_FLOOR,
    HEADING_MAX,
    SUMMARY_FLOOR,
    TITLE_FLOOR,
    Draft,
    Said,
    TextDraft,
    assemble,
    phrase,
)
from bot.ui.cards.sources import answer_sources
from bot.ui.ids import Action
from bot.ui.limits import TEXT_TOTAL_MAX

SHARE_LABEL = N_("Share")
SHARED_LABEL = N_("Shared in the channel")
WRITING_NOTE = N_("-# ✍️ Writing the answer…")
QUEUED_ANSWER_NOTE = N_(
    "-# ⏳ Queued: other maps and answers are being written; yours is next in line…"
)


def answer_card(
    subject: str,
    question: str,
    *,
    answer: str | None,
    note: str,
    accent: int | None,
    share: int | None = None,
    shared: bool = False,
    sources: str | None = None,
) -> Card:
    """A reader's question and its answer: the card it was asked on, the question quoted,
    the answer (None: not written yet), a ``note`` line (markdown, ours) and, with
    ``share`` (the answer's id), the button that posts it in the channel (``shared``:
    greyed out once it has been); ``sources``: the line of links to what it cites."""
    drafts: list[Draft] = [
        TextDraft(
            *phrase(
                _("-# Question about **{subject}**"),
                subject=Said(subject, HEADING_MAX, TITLE_FLOOR),
            ),
            "\n> ",
            # Twice the form's limit: escaping can double a question made of markdown.
            Said(defuse_mentions(question), QUESTION_MAX * 2, SUMMARY_FLOOR),
        )
    ]
    if answer:
        drafts.append(TextDraft(Said(answer, TEXT_TOTAL_MAX, BODY_FLOOR)))
    drafts.append(TextDraft(f"{sources}\n{note}" if sources else note))
    if share is not None:
        label = _(SHARED_LABEL) if shared else _(SHARE_LABEL)
        button = Control(Action.SHARE, share, label, discord.ButtonStyle.primary, shared)
        drafts.append(Row((button,)))
    return assemble(drafts, accent)


def answered_card(view: AnswerView, *, can_share: bool, shared: bool = False) -> Card:
    """A stored answer: privately with its asker's Share button (greyed out once
    ``shared``; none when the asking was not recorded), or without it, as posted in the
    channel."""
    answer = view.answer
    model = literal(shorten(answer.model, MODEL_NAME_MAX))
    topic = literal(shorten(view.map.topic, HEADING_MAX))
    return answer_card(
        view.subject,
        answer.question,
        answer=answer.text,
        note=shorten(
            _("-# Answered by {model} from the map of {topic}", model=model, topic=topic),
            FOOTER_MAX,
        ),
        accent=accent_of(view.map.key),
        share=view.asked if can_share else None,
        shared=shared,
        sources=answer_sources(answer.sources),
    )
