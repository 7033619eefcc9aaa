"""The cards of learning together: a quiz question (open, then revealed with the round's
scores after the last), the private feedback on an answer, a review card, the deck, a
member's progress and the server's leaderboard."""

from __future__ import annotations

import discord

from bot.explore.progress import Board, MemberProgress
from bot.explore.quizzes import AnswerResult, Reveal
from bot.explore.reviews import DeckPage, Due
from bot.i18n import N_, _, ngettext
from bot.models import ConceptMap, Quiz, QuizQuestion, ReviewCard, topic_key
from bot.text import defuse_mentions, shorten
from bot.ui.cards.blocks import MAP_COLOURS, Card, Control, Divider, Row, accent_of, literal
from bot.ui.cards.explore import MODEL_NAME_MAX
from bot.ui.cards.fit import (
    BODY_FLOOR,
    HEADING_MAX,
    SUMMARY_FLOOR,
    TITLE_FLOOR,
    Draft,
    Said,
    SectionDraft,
    TextDraft,
    assemble,
)
from bot.ui.ids import Action
from bot.ui.limits import BUTTON_LABEL_MAX, TEXT_TOTAL_MAX

LETTERS = "ABCDE"
NAME_MAX = 40  # a display name on a card
NAMES_SHOWN = 15  # who got it right, before "and N more"
RIGHT = "✅"
WRONG = "❌"
REVEAL_LABEL = N_("Reveal now")
OPEN_CONCEPT_LABEL = N_("Open the concept")
GRADES = ((1, N_("Again")), (2, N_("Hard")), (3, N_("Good")), (4, N_("Easy")))
EMPTY_DECK = N_(
    "Your review deck is empty. Press **Remember** on a concept card to add it; "
    "/review then shows it when it is due."
)


def cards_counted(count: int) -> str:
    """``1 card``, ``2 cards``, in the member's language."""
    return ngettext("{count} card", "{count} cards", count)


def name_of(name: str, user_id: int) -> str:
    """A member's display name as text: literal, cut, never a mention."""
    shown = name or _("member {id}", id=str(user_id))
    return literal(defuse_mentions(shorten(shown, NAME_MAX)))


def _when(timestamp: float) -> str:
    """A Discord timestamp ("in 5 minutes"), which every client shows in its own language."""
    return f"<t:{int(timestamp)}:R>"


def _about(quiz: Quiz, concept_map: ConceptMap, question: QuizQuestion) -> str:
    source = (
        _("questions by {model}", model=literal(shorten(quiz.written_by, MODEL_NAME_MAX)))
        if quiz.written_by
        else _("questions from the map's text")
    )
    return _(
        "-# Quiz · {topic} · question {position} of {count} · {source}",
        topic=literal(shorten(concept_map.topic, HEADING_MAX)),
        position=question.position,
        count=quiz.questions,
        source=source,
    )


def question_card(quiz: Quiz, concept_map: ConceptMap, question: QuizQuestion) -> Card:
    """An open question: the question, an answer button per option, when it closes."""
    deadline = int(question.deadline or 0)
    options = tuple(
        Control(
            Action.ANSWER,
            question.id,
            shorten(f"{LETTERS[i]} · {option}", BUTTON_LABEL_MAX),
            discord.ButtonStyle.primary,
            detail=i,
        )
        for i, option in enumerate(question.options)
    )
    drafts: list[Draft] = [
        TextDraft(_about(quiz, concept_map, question)),
        TextDraft("## ", Said(question.prompt, HEADING_MAX * 2, BODY_FLOOR)),
        Row(options),
        TextDraft(
            _(
                "-# ⏱️ Answers close {when} · one answer each; "
                "only you see at once whether you are right",
                when=_when(deadline),
            )
        ),
        Row((Control(Action.REVEAL, question.id, _(REVEAL_LABEL)),)),
    ]
    return assemble(drafts, accent_of(concept_map.key))


def revealed_card(reveal: Reveal) -> Card:
    """The question with its right answer, how many chose each option and who got it right;
    the round's scores after its last question."""
    question = reveal.question
    counts = [0] * len(question.options)
    for vote in reveal.votes:
        counts[vote.choice] += 1
    lines = []
    for i, option in enumerate(question.options):
        mark = RIGHT if i == question.correct else "▫️"
        text = f"{LETTERS[i]} · {literal(option)}"
        shown = f"**{text}**" if i == question.correct else text
        lines.append(f"{mark} {shown} — {counts[i]}")
    right = [name_of(v.name, v.user_id) for v in reveal.votes if v.correct]
    if not reveal.votes:
        who = _("Nobody answered.")
    elif not right:
        who = _("Nobody got it right.")
    elif len(right) > NAMES_SHOWN:
        who = _(
            "Right: {names} and {count} more",
            names=", ".join(right[:NAMES_SHOWN]),
            count=len(right) - NAMES_SHOWN,
        )
    else:
        who = _("Right: {names}", names=", ".join(right))
    drafts: list[Draft] = [
        TextDraft(_about(reveal.quiz, reveal.map, question)),
        TextDraft("## ", Said(question.prompt, HEADING_MAX * 2, BODY_FLOOR)),
        TextDraft("\n".join(lines)),
        TextDraft(
            _("**{who}**\n-# Why: ", who=who),
            Said(question.explanation, TEXT_TOTAL_MAX, SUMMARY_FLOOR),
        ),
    ]
    if reveal.scores is not None:
        drafts += [Divider(), TextDraft(_scores(reveal))]
    elif reveal.following is not None:
        drafts.append(TextDraft(_("-# The next question follows below.")))
    return assemble(drafts, accent_of(reveal.map.key))


def _scores(reveal: Reveal) -> str:
    scores = reveal.scores or []
    if not scores:
        return _("### Round over\nNobody answered this round.")
    lines = [
        _(
            "{rank}. {name} — {right} of {count}",
            rank=n,
            name=name_of(s.name, s.user_id),
            right=s.correct,
            count=reveal.quiz.questions,
        )
        for n, s in enumerate(scores, start=1)
    ]
    return _("### Round over: scores") + "\n" + "\n".join(lines)


def feedback_card(result: AnswerResult, accent: int) -> Card:
    """The private reply to an answer: right or wrong, one sentence why, and the concept."""
    question = result.question
    answer = question.options[question.correct]
    chosen = f"{LETTERS[question.correct]} · {literal(answer)}"
    if result.right:
        verdict = _("{mark} **Right!** {answer}", mark=RIGHT, answer=chosen)
    else:
        verdict = _(
            "{mark} **Not this time.** The answer is **{answer}**.", mark=WRONG, answer=chosen
        )
    drafts: list[Draft] = [
        TextDraft(verdict),
        TextDraft(Said(question.explanation, TEXT_TOTAL_MAX, SUMMARY_FLOOR)),
        TextDraft(_("-# Everyone sees the answers when the time is up.")),
    ]
    if question.concept_id is not None:
        button = Control(Action.OPEN, question.concept_id, _(OPEN_CONCEPT_LABEL))
        drafts.append(Row((button,)))
    return assemble(drafts, accent)


# -- the review deck ---------------------------------------------------------------


def review_card(due: Due, *, shown: bool, note: str | None = None) -> Card:
    """The first card due: its prompt, and with ``shown`` its answer and the ratings;
    ``note`` (markdown, ours) above it, say how the last review was scheduled."""
    card = due.card
    if card is None:
        return nothing_due_card(due, note)
    drafts: list[Draft] = [TextDraft(note)] if note else []
    drafts += [
        TextDraft(
            _("-# Review · {due} due · {total} in your deck · ", due=due.due, total=due.total),
            Said(card.topic, HEADING_MAX, TITLE_FLOOR),
            "\n## ",
            Said(card.title, HEADING_MAX, TITLE_FLOOR),
            "\n",
            Said(card.prompt, TEXT_TOTAL_MAX, SUMMARY_FLOOR),
        )
    ]
    if shown:
        drafts += [
            Divider(),
            TextDraft(Said(card.answer, TEXT_TOTAL_MAX, BODY_FLOOR)),
            TextDraft(_("-# How well did you remember it?")),
            Row(
                tuple(
                    Control(Action.GRADE, card.id, _(label), _grade_style(rating), detail=rating)
                    for rating, label in GRADES
                )
            ),
        ]
    else:
        show = Control(Action.SHOW_ANSWER, card.id, _("Show answer"), discord.ButtonStyle.primary)
        drafts.append(Row((show, _deck_button())))
    return assemble(drafts, accent_of(topic_key(card.topic)))


def _grade_style(rating: int) -> discord.ButtonStyle:
    return discord.ButtonStyle.danger if rating == 1 else discord.ButtonStyle.secondary


def _deck_button(page: int = 0) -> Control:
    return Control(Action.DECK, page, _("My deck"))


def nothing_due_card(due: Due, note: str | None = None) -> Card:
    drafts: list[Draft] = [TextDraft(note)] if note else []
    if not due.total:
        return assemble([*drafts, TextDraft(_(EMPTY_DECK))], MAP_COLOURS[0])
    text = ngettext(
        "Nothing is due now; {count} card in your deck.",
        "Nothing is due now; {count} cards in your deck.",
        due.total,
    )
    if due.next_due is not None:
        text += " " + _("The next one is due {when}.", when=_when(due.next_due))
    return assemble([*drafts, TextDraft(text), Row((_deck_button(),))], MAP_COLOURS[0])


def graded_line(card: ReviewCard) -> str:
    title = literal(shorten(card.title, HEADING_MAX))
    return _("-# {title}: next review {when}.", title=title, when=_when(card.due))


def deck_card(page: DeckPage, note: str | None = None) -> Card:
    """A page of the member's deck: each card with when it is due and its Remove button."""
    drafts: list[Draft] = [TextDraft(note)] if note else []
    if page.cards:
        drafts.append(
            TextDraft(_("## Your review deck · {cards}", cards=cards_counted(page.total)))
        )
    else:
        drafts.append(TextDraft(_(EMPTY_DECK)))
    for card in page.cards:
        remove = Control(Action.UNREMEMBER, card.id, _("Remove"), discord.ButtonStyle.danger)
        drafts.append(
            SectionDraft(
                remove,
                "**",
                Said(card.title, HEADING_MAX, TITLE_FLOOR),
                "** · ",
                Said(card.topic, HEADING_MAX, TITLE_FLOOR),
                "\n-# " + _("due {when}", when=_when(card.due)),
            )
        )
    number, count = page.number, page.count
    previous = Control(Action.DECK, number - 1 if number else count + 1, _("Previous"))
    following = Control(Action.DECK, number + 1 if number < count - 1 else count + 2, _("Next"))
    drafts += [
        TextDraft(
            _(
                "-# Page {page} of {count} · /review shows the cards that are due",
                page=number + 1,
                count=count,
            )
        ),
        Row(
            (
                Control(Action.REVIEW, 0, _("Review now"), discord.ButtonStyle.primary),
                Control(previous.action, previous.target, previous.label, disabled=number == 0),
                Control(
                    following.action,
                    following.target,
                    following.label,
                    disabled=number >= count - 1,
                ),
                Control(Action.EXPORT_DECK, 0, _("Export for Anki")),
            )
        ),
    ]
    return assemble(drafts, MAP_COLOURS[0])


# -- progress ----------------------------------------------------------------------


def progress_card(progress: MemberProgress, *, where: str) -> Card:
    lines = [_("## Your progress in {where}", where=literal(shorten(where, HEADING_MAX)))]
    if progress.maps:
        lines.append(_("**Explored**"))
        lines += [
            ngettext(
                "- {topic}: {explored} of {count} concept",
                "- {topic}: {explored} of {count} concepts",
                m.total,
                topic=literal(shorten(m.topic, HEADING_MAX)),
                explored=m.explored,
            )
            for m in progress.maps
        ]
    else:
        lines.append(_("You have not opened any concept here yet: /explore a topic to start."))
    if progress.answered:
        lines.append(
            _(
                "**Quizzes:** {right} right of {count} answered",
                right=progress.right,
                count=progress.answered,
            )
        )
    else:
        lines.append(_("**Quizzes:** none answered yet (/quiz starts one)"))
    lines.append(
        _(
            "**Review:** {cards} in your deck, {due} due · streak {days}",
            cards=cards_counted(progress.deck),
            due=progress.due,
            days=ngettext("{count} day", "{count} days", progress.streak),
        )
    )
    return assemble([TextDraft("\n".join(lines))], MAP_COLOURS[0])


def board_card(board: Board, names: dict[int, str], *, server: str) -> Card:
    server_name = literal(shorten(server, HEADING_MAX))
    if board.since is not None:
        since = f"<t:{int(board.since)}:f>"  # a date every client writes its own way
        head = _(
            "## Leaderboard · this week\n-# {server} · since {when}", server=server_name, when=since
        )
    else:
        head = _("## Leaderboard · all time\n-# {server}", server=server_name)
    explorers = [
        ngettext(
            "{rank}. {name} — {count} concept",
            "{rank}. {name} — {count} concepts",
            count,
            rank=n,
            name=name_of(names.get(u, ""), u),
        )
        for n, (u, count) in enumerate(board.explorers, start=1)
    ] or [_("Nobody has explored yet.")]
    scorers = [
        _("{rank}. {name} — {score} right", rank=n, name=name_of(names.get(u, ""), u), score=score)
        for n, (u, score) in enumerate(board.scorers, start=1)
    ] or [_("No quiz answers yet.")]
    drafts: list[Draft] = [
        TextDraft(head),
        TextDraft(_("### Top explorers") + "\n" + "\n".join(explorers)),
        TextDraft(_("### Top quiz scores") + "\n" + "\n".join(scorers)),
        Row(
            (
                Control(Action.BOARD, 1, _("This week"), disabled=board.since is not None),
                Control(Action.BOARD, 0, _("All time"), disabled=board.since is None),
            )
        ),
    ]
    return assemble(drafts, MAP_COLOURS[0])


# -- threads -----------------------------------------------------------------------


def discussion_card(
    topic: str, key: str, concept_id: int, title: str, summary: str, link: str | None
) -> Card:
    """A Discuss thread's first message: the concept's summary, a link back to its card,
    and Ask, which answers in the thread."""
    back = " · " + _("[back to the card]({link})", link=link) if link else ""
    drafts: list[Draft] = [
        TextDraft(
            _("-# Discussion · "),
            Said(topic, HEADING_MAX, TITLE_FLOOR),
            f"{back}\n## ",
            Said(title, HEADING_MAX, TITLE_FLOOR),
            "\n",
            Said(summary, TEXT_TOTAL_MAX, SUMMARY_FLOOR),
        ),
        TextDraft(_("-# Ask in this thread and the answer is posted here, for everyone.")),
        Row(
            (
                Control(Action.ASK, concept_id, _("Ask"), discord.ButtonStyle.success),
                Control(Action.OPEN, concept_id, _(OPEN_CONCEPT_LABEL)),
            )
        ),
    ]
    return assemble(drafts, accent_of(key))
