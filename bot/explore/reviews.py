"""A member's own review deck: concepts they chose to remember, shown again when they are
due. Scheduling is FSRS, by the maintained ``fsrs`` package (open-spaced-repetition's
py-fsrs), not a scheduler of our own: each card keeps the package's card as JSON.

The deck belongs to the member wherever they use the bot (servers, DMs, user installs);
a card keeps the concept's text as it was remembered, so it outlives a forgotten map.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from fsrs import Card, Rating, Scheduler

from bot.errors import NotFound
from bot.explore.concepts import Concepts
from bot.i18n import N_
from bot.models import ReviewCard
from bot.storage import Storage

DECK_PAGE_SIZE = 8
STREAK_DAYS_MAX = 400  # days of reviews read back for a streak
# The card's front, stored in the language of the member who remembered it (``say``).
PROMPT = N_("What is “{title}” in {where}, and why does it matter?")
ANSWER = "{summary}\n\n{detail}"
# Anki reads these headers (its text import, 2.1.55 and later): the separator, plain text
# fields, the columns and which of them holds the tags, the note type and the deck.
ANKI_HEADERS = (
    "#separator:comma",
    "#html:false",
    "#notetype:Basic",
    "#deck:Kinapse",
    "#columns:Front,Back,Tags",
    "#tags column:3",
)
RATINGS = {rating.value: rating for rating in Rating}


@dataclass(frozen=True)
class Due:
    """What /review shows: the first card due (None: nothing due), how many are due, how
    many the deck holds, and when the next one not due yet will be."""

    card: ReviewCard | None
    due: int
    total: int
    next_due: float | None


@dataclass(frozen=True)
class DeckPage:
    cards: list[ReviewCard]
    number: int  # from 0
    count: int  # pages in all, at least 1
    total: int


class Reviews:
    """Remember, review, list, remove and export."""

    def __init__(self, storage: Storage, concepts: Concepts, clock: Callable[[], float]) -> None:
        self.storage = storage
        self.concepts = concepts
        self.clock = clock
        self.scheduler = Scheduler()

    async def remember(
        self, user_id: int, concept_id: int, scope: int, say: Callable[[str], str] = str
    ) -> tuple[ReviewCard, bool]:
        """Add the concept to the member's deck, due now; (its card, whether it is new).
        ``say`` writes the card's front in the member's language (the edge's ``_``)."""
        view = await self.concepts.concept_view(concept_id, scope)
        concept = view.concept
        where = " › ".join([view.map.topic, *(c.title for c in view.path[:-1])])
        now = self.clock()
        fresh = Card(due=_moment(now))
        return await self.storage.add_card(
            user_id=user_id,
            concept_id=concept.id,
            topic=view.map.topic,
            title=concept.title,
            prompt=say(N_(PROMPT, title=concept.title, where=where)),
            answer=ANSWER.format(summary=concept.summary, detail=concept.detail),
            fsrs=fresh.to_json(),
            due=now,
            now=now,
        )

    async def due(self, user_id: int) -> Due:
        now = self.clock()
        return Due(
            card=await self.storage.first_due(user_id, now),
            due=await self.storage.count_due(user_id, now),
            total=await self.storage.count_cards(user_id),
            next_due=await self.storage.next_due(user_id, now),
        )

    async def turned(self, card_id: int, user_id: int) -> Due:
        """What /review shows with the member's card ``card_id`` turned over."""
        return replace(await self.due(user_id), card=await self.card(card_id, user_id))

    async def card(self, card_id: int, user_id: int) -> ReviewCard:
        card = await self.storage.get_card(card_id)
        if card is None or card.user_id != user_id:
            raise NotFound(N_("This card is no longer in your deck."))
        return card

    async def grade(self, card_id: int, user_id: int, rating: int) -> ReviewCard:
        """Schedule the card by the member's rating (1 Again, 2 Hard, 3 Good, 4 Easy)."""
        if rating not in RATINGS:
            raise NotFound(N_("That rating is not one of Again, Hard, Good or Easy."))
        card = await self.card(card_id, user_id)
        now = self.clock()
        scheduled, _ = self.scheduler.review_card(
            Card.from_json(card.fsrs), RATINGS[rating], review_datetime=_moment(now)
        )
        due = scheduled.due.timestamp()
        fsrs = scheduled.to_json()
        if not await self.storage.review_card(
            card_id, user_id, fsrs=fsrs, due=due, rating=rating, now=now
        ):
            raise NotFound(N_("This card is no longer in your deck."))
        return card.model_copy(update={"fsrs": fsrs, "due": due})

    async def deck(self, user_id: int, page: int) -> DeckPage:
        total = await self.storage.count_cards(user_id)
        count = max(1, -(-total // DECK_PAGE_SIZE))
        number = min(max(page, 0), count - 1)
        cards = await self.storage.deck_page(user_id, DECK_PAGE_SIZE, number * DECK_PAGE_SIZE)
        return DeckPage(cards, number, count, total)

    async def remove(self, card_id: int, user_id: int) -> ReviewCard:
        card = await self.card(card_id, user_id)
        if not await self.storage.remove_card(card_id, user_id):
            raise NotFound(N_("This card is no longer in your deck."))
        return card

    async def export_csv(self, user_id: int) -> str:
        """The whole deck as a CSV file Anki imports: front, back, tags."""
        out = io.StringIO()
        out.write("\n".join(ANKI_HEADERS) + "\n")
        writer = csv.writer(out, lineterminator="\n")
        for card in await self.storage.whole_deck(user_id):
            tag = "_".join(card.topic.split())
            writer.writerow([card.prompt, card.answer, f"kinapse {tag}"])
        return out.getvalue()

    async def streak(self, user_id: int) -> int:
        """Days in a row, up to today (or yesterday, if not yet today), with a review."""
        now = self.clock()
        times = await self.storage.review_times(user_id, now - STREAK_DAYS_MAX * 86_400)
        days = {_moment(t).date() for t in times}
        day = _moment(now).date()
        if day not in days:
            day -= timedelta(days=1)
        streak = 0
        while day in days:
            streak += 1
            day -= timedelta(days=1)
        return streak


def _moment(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
