"""Pictures of maps: drawn in a subprocess by ``bot.render``, once per map version."""

from __future__ import annotations

import asyncio

from bot.models import ConceptMap
from bot.render import MapPicture, Node, PictureCache, Renderer
from bot.storage import Storage


class Pictures:
    """The pictures of stored maps, kept by map version and highlighted concept."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.renderer = Renderer()
        self.cache = PictureCache()

    def of(
        self, concept_map: ConceptMap, highlight: int | None = None, *, whole: bool = True
    ) -> asyncio.Future[MapPicture]:
        """The picture of everything stored of the map, ``highlight`` (None: the topic)
        and its path marked; one render per version, however many ask at once. Without
        ``whole``, the map card's small picture: what can be read at Discord's inline size.

        A map only grows (concepts are added, and opened ones stay opened), so the
        counts of stored and opened concepts name its version.
        """
        key = (concept_map.id, concept_map.total, concept_map.opened, highlight, whole)

        async def draw() -> MapPicture:
            concepts = await self.storage.map_concepts(concept_map.id)
            opened = await self.storage.opened_ids(concept_map.id)
            nodes = [Node(c.id, c.parent_id, c.title, c.id in opened) for c in concepts]
            return await self.renderer.draw(concept_map.topic, nodes, highlight, whole=whole)

        return self.cache.get(key, draw, family=(concept_map.id, highlight, whole))

    def earlier(
        self, concept_map: ConceptMap, highlight: int | None = None, *, whole: bool = True
    ) -> MapPicture | None:
        """The last picture drawn of the map with ``highlight``, of whatever version."""
        return self.cache.newest((concept_map.id, highlight, whole))
