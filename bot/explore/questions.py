"""Questions about a card: answered by Claude once per (card, question) and stored, so
the same question is answered from storage the next time."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from bot.errors import KinapseError, NoGenerator, NotFound, StorageBusy, StorageFull
from bot.explore.concepts import Concepts, check_scope
from bot.explore.flights import Flight, Flights, OnQueued
from bot.explore.limits import Budget
from bot.explore.material import material_for
from bot.explore.provenance import described, unique_sources
from bot.explore.views import QUESTIONS_OFF, AnswerView, ConceptView, View
from bot.generator import AskRequest, Generator, Progress
from bot.i18n import N_
from bot.models import QUESTION_MAX, QUESTION_MIN, clean_question, question_key
from bot.storage import Storage
from bot.text import shorten

log = logging.getLogger(__name__)

NOT_YOURS = N_("Only the member who asked this question can share its answer.")
ALREADY_SHARED = N_("This answer is already shared in the channel.")
OVERVIEW_DETAIL = "(This is the overview card of the whole topic; its text is the summary.)"


class Questions:
    """Ask and answers."""

    def __init__(
        self,
        storage: Storage,
        concepts: Concepts,
        budget: Budget,
        flights: Flights[tuple[int, int, str], AnswerView],
        generator: Generator | None,
        generation_off: str,
        clock: Callable[[], float],
    ) -> None:
        self.storage = storage
        self.concepts = concepts
        self.budget = budget
        self.generator = generator
        self.generation_off = generation_off
        self.clock = clock
        # One answer per (map, concept or 0 for the overview, normalized question) at a time.
        self._flights = flights

    async def ask(
        self,
        scope: int,
        user_id: int,
        question: str,
        *,
        concept_id: int | None = None,
        map_id: int | None = None,
        on_text: Progress | None = None,
        on_queued: OnQueued | None = None,
    ) -> AnswerView:
        """Answer a question about a concept's card, or with ``map_id`` the map's overview.

        The same question about the same card (normalized) is answered from storage
        without a model call; a new one counts like a generation (cooldown, budget,
        usage of kind ``ask``). ``on_text`` sees the answer as it is written;
        ``on_queued`` is awaited once if the answer has to wait for a free slot.
        """
        question = shorten(clean_question(question), QUESTION_MAX)  # the form enforces it
        if len(question) < QUESTION_MIN:
            raise KinapseError(
                N_("Ask a question of at least {count} characters.", count=QUESTION_MIN)
            )
        key = question_key(question)
        if concept_id is not None:
            view: View = await self.concepts.concept_view(concept_id, scope)
        elif map_id is not None:
            view = await self.concepts.map_view(map_id, scope)
        else:
            raise ValueError("ask needs a concept_id or a map_id")
        concept = view.concept if isinstance(view, ConceptView) else None
        stored = await self.storage.find_answer(view.map.id, concept_id, key)
        if stored is not None:
            answered = AnswerView(stored, view.map, concept)
        elif self.generator is None:
            raise NoGenerator(QUESTIONS_OFF, [], detail=self.generation_off)
        else:
            subject = f"ask:{view.map.id}:{concept_id or 0}:{key}"
            answered = await self._flights.join(
                (view.map.id, concept_id or 0, key),
                lambda: self.budget.start(scope, user_id, subject),
                lambda flight: self._answer(
                    scope, user_id, view, question, subject, on_text, flight
                ),
                on_queued=on_queued,
            )
        return await self._asked_by(answered, user_id)

    async def _asked_by(self, answered: AnswerView, user_id: int) -> AnswerView:
        """The answer as ``user_id``'s: their asking recorded, for their Share button."""
        try:
            asked = await self.storage.record_ask(answered.answer.id, user_id, now=self.clock())
        except (StorageFull, StorageBusy):
            # The answer stands; only its Share button needs the row.
            log.warning("Could not record who asked answer %s", answered.answer.id)
            return answered
        return dataclasses.replace(answered, asked=asked)

    async def share(self, ask_id: int, user_id: int, scope: int) -> AnswerView:
        """Claim the asking ``ask_id`` for posting in the channel: only its asker may, and
        only once (the claim is stored, so two presses at once claim it once). After a
        post that failed, ``unshare`` lets it be shared again."""
        asked = await self.storage.get_ask(ask_id)
        if asked is None:
            raise NotFound(N_("This answer no longer exists; ask again from the card."))
        if asked.user_id != user_id:
            raise KinapseError(NOT_YOURS)
        view = await self.answer_view(asked.answer_id, scope)
        if asked.shared_at is not None or not await self.storage.claim_share(
            ask_id, user_id, now=self.clock()
        ):
            raise KinapseError(ALREADY_SHARED)
        return dataclasses.replace(view, asked=ask_id)

    async def unshare(self, ask_id: int) -> None:
        await self.storage.release_share(ask_id)

    async def _answer(
        self,
        scope: int,
        user_id: int,
        view: View,
        question: str,
        subject: str,
        on_text: Progress | None,
        flight: Flight,
    ) -> AnswerView:
        generator = self.generator
        assert generator is not None
        request = _request(view, question)
        # A map of a member's material: answered from it, citing it.
        material = await material_for(self.storage, view.map)
        search = None if material else await self.concepts.preferences.search(scope)
        result = await self.budget.call(
            scope,
            user_id,
            "ask",
            subject,
            lambda: generator.ask(request, on_text, search=search, material=material),
            flight,
        )
        concept = view.concept if isinstance(view, ConceptView) else None
        stored = await self.storage.save_answer(
            scope=scope,
            map_id=view.map.id,
            concept_id=concept.id if concept else None,
            question_key=question_key(question),
            question=question,
            text=result.value,
            model=generator.model,
            now=self.clock(),
            sources=result.sources,
        )
        return AnswerView(stored, view.map, concept)

    async def answer_view(self, answer_id: int, scope: int | None = None) -> AnswerView:
        """A stored answer; with ``scope``, only if it belongs to that scope."""
        answer = await self.storage.get_answer(answer_id)
        concept_map = await self.storage.get_map(answer.map_id) if answer else None
        if answer is None or concept_map is None:
            raise NotFound(N_("This answer no longer exists; ask again from the card."))
        check_scope(concept_map, scope)
        concept = None
        if answer.concept_id is not None:
            concept = await self.storage.get_concept(answer.concept_id)
        return AnswerView(answer, concept_map, concept)


def _request(view: View, question: str) -> AskRequest:
    """What the model is told of the card a question is about."""
    if isinstance(view, ConceptView):
        return AskRequest(
            topic=view.map.topic,
            language=view.map.language,
            level=view.map.level,
            path=[c.title for c in view.path[:-1]],
            title=view.concept.title,
            summary=view.concept.summary,
            detail=view.concept.detail,
            subconcepts=[c.title for c in view.children],
            question=question,
            provenance=described(view.provenance),
            sources=list(view.provenance.sources),
        )
    return AskRequest(
        topic=view.map.topic,
        language=view.map.language,
        level=view.map.level,
        path=[],
        title=view.map.topic,
        summary=view.map.overview,
        detail=OVERVIEW_DETAIL,
        subconcepts=[c.title for c in view.concepts],
        question=question,
        provenance=described(view.provenance),
        sources=unique_sources(view.sources),
    )
