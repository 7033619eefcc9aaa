"""The cards of learning together: a quiz question (open, then revealed with the round's
scores after the last), the private feedback on an answer, a review card, the deck, a
member's progress and the server's leaderboard."""

from __future__ import annotations

import discord

from bot.explore.progress import Board, MemberProgress
from bot.explore.quizzes import AnswerResult, Reveal
from bot.explore.reviews import DeckPage, Due
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
REVEAL_LABEL = "Reveal now"
OPEN_CONCEPT_LABEL = "Open the concept"
GRADES = ((1, "Again"), (2, "Hard"), (3, "Good"), (4, "Easy"))
EMPTY_DECK = (
    "Your review deck is empty. Press **Remember** on a concept card to add it; "
    "/review then shows it when it is due."
)


def counted(number: int, thing: str) -> str:
    """``1 card``, ``2 cards``."""
    return f"{number} {thing}" if number == 1 else f"{number} {thing}s"


def name_of(name: str, user_id: int) -> str:
    """A member's display name as text: literal, cut, never a mention."""
    shown = name or f"member {user_id}"
    return literal(defuse_mentions(shorten(shown, NAME_MAX)))


def _about(quiz: Quiz, concept_map: ConceptMap, question: QuizQuestion) -> str:
    source = (
        f"questions by {literal(shorten(quiz.written_by, MODEL_NAME_MAX))}"
        if quiz.written_by
        else "questions from the map's text"
    )
    return (
        f"-# Quiz · {literal(shorten(concept_map.topic, HEADING_MAX))} · "
        f"question {question.position} of {quiz.questions} · {source}"
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
            f"-# ⏱️ Answers close <t:{deadline}:R> · one answer each; "
            "only you see at once whether you are right"
        ),
        Row((Control(Action.REVEAL, question.id, REVEAL_LABEL),)),
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
        who = "Nobody answered."
    elif not right:
        who = "Nobody got it right."
    else:
        more = f" and {len(right) - NAMES_SHOWN} more" if len(right) > NAMES_SHOWN else ""
        who = f"Right: {', '.join(right[:NAMES_SHOWN])}{more}"
    drafts: list[Draft] = [
        TextDraft(_about(reveal.quiz, reveal.map, question)),
        TextDraft("## ", Said(question.prompt, HEADING_MAX * 2, BODY_FLOOR)),
        TextDraft("\n".join(lines)),
        TextDraft(
            f"**{who}**\n-# Why: ", Said(question.explanation, TEXT_TOTAL_MAX, SUMMARY_FLOOR)
        ),
    ]
    if reveal.scores is not None:
        drafts += [Divider(), TextDraft(_scores(reveal))]
    elif reveal.following is not None:
        drafts.append(TextDraft("-# The next question follows below."))
    return assemble(drafts, accent_of(reveal.map.key))


def _scores(reveal: Reveal) -> str:
    scores = reveal.scores or []
    if not scores:
        return "### Round over\nNobody answered this round."
    lines = [
        f"{n}. {name_of(s.name, s.user_id)} — {s.correct} of {reveal.quiz.questions}"
        for n, s in enumerate(scores, start=1)
    ]
    return "### Round over: scores\n" + "\n".join(lines)


def feedback_card(result: AnswerResult, accent: int) -> Card:
    """The private reply to an answer: right or wrong, one sentence why, and the concept."""
    question = result.question
    answer = question.options[question.correct]
    if result.right:
        verdict = f"{RIGHT} **Right!** {LETTERS[question.correct]} · {literal(answer)}"
    else:
        verdict = (
            f"{WRONG} **Not this time.** The answer is "
            f"**{LETTERS[question.correct]} · {literal(answer)}**."
        )
    drafts: list[Draft] = [
        TextDraft(verdict),
        TextDraft(Said(question.explanation, TEXT_TOTAL_MAX, SUMMARY_FLOOR)),
        TextDraft("-# Everyone sees the answers when the time is up."),
    ]
    if question.concept_id is not None:
        button = Control(Action.OPEN, question.concept_id, OPEN_CONCEPT_LABEL)
        drafts.append(Row((button,)))
    return assemble(drafts, accent)


# -- the review deck ---------------------------------------------------------------


def review_card(due: Due, *, shown: bool, note: str | None = None) -> Card:
    """The first card due: its prompt, and with ``shown`` its answer and the ratings;
    ``note`` (markdown, ours) above it, say how the last review was scheduled."""
    card = due.card
    if card is None:
        return nothing_due_card(due, note)
    due_now = f"{due.due} due"
    drafts: list[Draft] = [TextDraft(note)] if note else []
    drafts += [
        TextDraft(
            f"-# Review · {due_now} · {due.total} in your deck · ",
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
            TextDraft("-# How well did you remember it?"),
            Row(
                tuple(
                    Control(Action.GRADE, card.id, label, _grade_style(rating), detail=rating)
                    for rating, label in GRADES
                )
            ),
        ]
    else:
        show = Control(Action.SHOW_ANSWER, card.id, "Show answer", discord.ButtonStyle.primary)
        drafts.append(Row((show, _deck_button())))
    return assemble(drafts, accent_of(topic_key(card.topic)))


def _grade_style(rating: int) -> discord.ButtonStyle:
    return discord.ButtonStyle.danger if rating == 1 else discord.ButtonStyle.secondary


def _deck_button(page: int = 0) -> Control:
    return Control(Action.DECK, page, "My deck")


def nothing_due_card(due: Due, note: str | None = None) -> Card:
    drafts: list[Draft] = [TextDraft(note)] if note else []
    if not due.total:
        return assemble([*drafts, TextDraft(EMPTY_DECK)], MAP_COLOURS[0])
    text = f"Nothing is due now; {counted(due.total, 'card')} in your deck."
    if due.next_due is not None:
        text += f" The next one is due <t:{int(due.next_due)}:R>."
    return assemble([*drafts, TextDraft(text), Row((_deck_button(),))], MAP_COLOURS[0])


def graded_line(card: ReviewCard) -> str:
    return f"-# {literal(shorten(card.title, HEADING_MAX))}: next review <t:{int(card.due)}:R>."


def deck_card(page: DeckPage, note: str | None = None) -> Card:
    """A page of the member's deck: each card with when it is due and its Remove button."""
    drafts: list[Draft] = [TextDraft(note)] if note else []
    if page.cards:
        drafts.append(TextDraft(f"## Your review deck · {counted(page.total, 'card')}"))
    else:
        drafts.append(TextDraft(EMPTY_DECK))
    for card in page.cards:
        remove = Control(Action.UNREMEMBER, card.id, "Remove", discord.ButtonStyle.danger)
        drafts.append(
            SectionDraft(
                remove,
                "**",
                Said(card.title, HEADING_MAX, TITLE_FLOOR),
                "** · ",
                Said(card.topic, HEADING_MAX, TITLE_FLOOR),
                f"\n-# due <t:{int(card.due)}:R>",
            )
        )
    number, count = page.number, page.count
    previous = Control(Action.DECK, number - 1 if number else count + 1, "Previous")
    following = Control(Action.DECK, number + 1 if number < count - 1 else count + 2, "Next")
    drafts += [
        TextDraft(f"-# Page {number + 1} of {count} · /review shows the cards that are due"),
        Row(
            (
                Control(Action.REVIEW, 0, "Review now", discord.ButtonStyle.primary),
                Control(previous.action, previous.target, "Previous", disabled=number == 0),
                Control(following.action, following.target, "Next", disabled=number >= count - 1),
                Control(Action.EXPORT_DECK, 0, "Export for Anki"),
            )
        ),
    ]
    return assemble(drafts, MAP_COLOURS[0])


# -- progress ----------------------------------------------------------------------


def progress_card(progress: MemberProgress, *, where: str) -> Card:
    lines = [f"## Your progress in {literal(shorten(where, HEADING_MAX))}"]
    if progress.maps:
        lines.append("**Explored**")
        lines += [
            f"- {literal(shorten(m.topic, HEADING_MAX))}: {m.explored} of {m.total} concepts"
            for m in progress.maps
        ]
    else:
        lines.append("You have not opened any concept here yet: /explore a topic to start.")
    if progress.answered:
        lines.append(f"**Quizzes:** {progress.right} right of {progress.answered} answered")
    else:
        lines.append("**Quizzes:** none answered yet (/quiz starts one)")
    days = "day" if progress.streak == 1 else "days"
    lines.append(
        f"**Review:** {counted(progress.deck, 'card')} in your deck, {progress.due} due · "
        f"streak {progress.streak} {days}"
    )
    return assemble([TextDraft("\n".join(lines))], MAP_COLOURS[0])


def board_card(board: Board, names: dict[int, str], *, server: str) -> Card:
    when = "this week" if board.since is not None else "all time"
    head = f"## Leaderboard · {when}\n-# {literal(shorten(server, HEADING_MAX))}"
    if board.since is not None:
        head += f" · since <t:{int(board.since)}:f>"
    explorers = [
        f"{n}. {name_of(names.get(u, ''), u)} — {counted(count, 'concept')}"
        for n, (u, count) in enumerate(board.explorers, start=1)
    ] or ["Nobody has explored yet."]
    scorers = [
        f"{n}. {name_of(names.get(u, ''), u)} — {score} right"
        for n, (u, score) in enumerate(board.scorers, start=1)
    ] or ["No quiz answers yet."]
    drafts: list[Draft] = [
        TextDraft(head),
        TextDraft("### Top explorers\n" + "\n".join(explorers)),
        TextDraft("### Top quiz scores\n" + "\n".join(scorers)),
        Row(
            (
                Control(Action.BOARD, 1, "This week", disabled=board.since is not None),
                Control(Action.BOARD, 0, "All time", disabled=board.since is None),
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
    back = f" · [back to the card]({link})" if link else ""
    drafts: list[Draft] = [
        TextDraft(
            "-# Discussion · ",
            Said(topic, HEADING_MAX, TITLE_FLOOR),
            f"{back}\n## ",
            Said(title, HEADING_MAX, TITLE_FLOOR),
            "\n",
            Said(summary, TEXT_TOTAL_MAX, SUMMARY_FLOOR),
        ),
        TextDraft("-# Ask in this thread and the answer is posted here, for everyone."),
        Row(
            (
                Control(Action.ASK, concept_id, "Ask", discord.ButtonStyle.success),
                Control(Action.OPEN, concept_id, "Open the concept"),
            )
        ),
    ]
    return assemble(drafts, accent_of(key))
