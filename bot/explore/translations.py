"""Curated maps in the scope's language: each part translated by Claude once per language
and stored for every scope that speaks it.

A part is the map's top (title, overview, key concepts), translated when a scope first
opens the map, or the curated children of one concept, translated when a member first
opens that concept in a translated copy. The translation keeps everything but the texts
(sources, dates, leaves) from the English; a bundled file edited since is translated
again (each part is stored with a hash of its English).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from bot.explore.provenance import bundled_at
from bot.generator import Generated, Generator, TranslateRequest
from bot.languages import canonical, for_model
from bot.models import BundledConcept, BundledMap, ConceptDraft, MapDraft
from bot.storage import Storage

log = logging.getLogger(__name__)

T = TypeVar("T")
# Runs one model call, counting its usage (``Budget.call``, bound to a scope and member).
Call = Callable[[Callable[[], Awaitable[Generated[MapDraft]]]], Awaitable[Generated[MapDraft]]]
TOP = ""  # the part that is the map's top


class Translations:
    """Parts of curated maps in other languages, each translated at most once at a time."""

    def __init__(self, storage: Storage, generator: Generator, clock: Callable[[], float]):
        self.storage = storage
        self.generator = generator
        self.clock = clock
        self._under_way: dict[tuple[str, str, str], asyncio.Task[MapDraft]] = {}

    async def map_in(self, bundled: BundledMap, language: str, call: Call) -> BundledMap:
        """``bundled`` in ``language``: its title, overview and key concepts translated,
        the key concepts' curated children left to be translated when opened."""
        request = TranslateRequest(
            language=for_model(language),
            topic=bundled.topic,
            overview=bundled.overview,
            concepts=[_draft(c) for c in bundled.concepts],
        )
        translated = await self._part(bundled.key, language, TOP, request, call)
        return bundled.model_copy(
            update={
                "topic": translated.title or bundled.topic,
                "overview": translated.overview,
                "language": canonical(language),
                "concepts": _translated(bundled.concepts, translated.concepts),
            }
        )

    async def children_in(
        self,
        bundled: BundledMap,
        positions: Sequence[int],
        path: list[str],
        language: str,
        call: Call,
    ) -> list[BundledConcept] | None:
        """The curated children of the concept at ``positions`` (from the key concept down)
        in ``language``, ``path`` being the translated titles down to it; None when the
        English has none there (the concept is generated, or a leaf)."""
        english = bundled_at(bundled, positions)
        if english is None or not english.children:
            return None
        request = TranslateRequest(
            language=for_model(language),
            topic=path[0] if path else bundled.topic,
            concepts=[_draft(c) for c in english.children],
            path=path,
        )
        part = ".".join(str(position) for position in positions)
        translated = await self._part(bundled.key, language, part, request, call)
        return _translated(english.children, translated.concepts)

    async def _part(
        self, key: str, language: str, part: str, request: TranslateRequest, call: Call
    ) -> MapDraft:
        """The part from storage, or translated now (once, however many ask at once)."""
        language = canonical(language)
        english = _hash(request)
        stored = await self.storage.translation(key, language, part)
        if stored is not None and stored.source_hash == english:
            return MapDraft.model_validate_json(stored.content)
        flight = (key, language, part)
        task = self._under_way.get(flight)
        if task is None:
            task = asyncio.create_task(self._translate(flight, english, request, call))
            self._under_way[flight] = task
            task.add_done_callback(lambda _: self._under_way.pop(flight, None))
        return await asyncio.shield(task)

    async def _translate(
        self,
        flight: tuple[str, str, str],
        english: str,
        request: TranslateRequest,
        call: Call,
    ) -> MapDraft:
        key, language, part = flight
        result = await call(lambda: self.generator.translate(request))
        translated = result.value
        await self.storage.save_translation(
            key,
            language,
            part,
            source_hash=english,
            content=translated.model_dump_json(),
            model=self.generator.model,
            now=self.clock(),
        )
        log.info("Translated %s (part %r) into %s", key, part, language)
        return translated


def _draft(concept: BundledConcept) -> ConceptDraft:
    return ConceptDraft(title=concept.title, summary=concept.summary, detail=concept.detail)


def _translated(
    english: list[BundledConcept], translated: list[ConceptDraft]
) -> list[BundledConcept]:
    """The English concepts with the translated texts: sources and leaves kept, curated
    children left out (they are translated when their parent is opened)."""
    return [
        concept.model_copy(
            update={
                "title": text.title,
                "summary": text.summary,
                "detail": text.detail,
                "children": None,
            }
        )
        for concept, text in zip(english, translated, strict=True)
    ]


def _hash(request: TranslateRequest) -> str:
    """The English a part was translated from (the path above children is not its text)."""
    english = {
        "topic": request.topic if request.overview is not None else None,
        "overview": request.overview,
        "concepts": [c.model_dump() for c in request.concepts],
    }
    return hashlib.sha256(json.dumps(english, sort_keys=True).encode()).hexdigest()
