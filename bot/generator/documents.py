"""Calls about a member's own material: its map, its concepts' sub-concepts and answers
to questions, each grounded in the material and citing it, and what the API needs around
them (counting its tokens, the Files API).

The material goes to Claude as a document block with citations on: a PDF by its Files
API id once uploaded (as base64 before), a text file or a fetched page as plain text. A
page is fetched by the API's web fetch tool, never by the bot: the first call carries the
tool and the URL, and what the tool returns is kept and sent as text afterwards. The
document is the first block of the task message and marked for caching, so the map and
its sub-concepts within minutes of each other read it from the cache.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import TYPE_CHECKING, Any

import anthropic
from anthropic.types import Message, MessageParam, TextBlockParam

from bot.errors import FetchFailed, GenerationError
from bot.generator.answers import _decided, _expansion, _map_answer, _Unusable, answer_text
from bot.generator.api import TOO_SLOW, UNUSABLE, SearchRejected, _api_errors, _check_stop, _text
from bot.generator.base import (
    AskRequest,
    ExpandRequest,
    Generated,
    Material,
    OnSketch,
    Progress,
    Read,
)
from bot.generator.cited import Cited, answer_of, cited_places, read_tagged, sketch_of_tagged
from bot.generator.prompting import _quote
from bot.i18n import N_
from bot.languages import for_model
from bot.models import (
    CHILDREN_MAX,
    CHILDREN_MIN,
    DETAIL_MAX,
    KEY_CONCEPTS_MAX,
    KEY_CONCEPTS_MIN,
    SUMMARY_MAX,
    TITLE_MAX,
    Expansion,
    Level,
    MapDraft,
    MaterialKind,
    Usage,
)

if TYPE_CHECKING:
    from bot.generator.claude import AnthropicGenerator

log = logging.getLogger(__name__)

# The basic tool (the 2026 versions filter pages with code execution, a tool we do not use).
WEB_FETCH_TOOL = "web_fetch_20250910"
WEB_FETCH_NAME = "web_fetch"
# Tokens of a page's text the fetch tool passes on at most: what a generation counts
# against the budget for a page before it is fetched.
PAGE_TOKENS_MAX = 60_000
PDF = "application/pdf"
MAP_REFUSED = N_("Claude declined to map this material.")
EXPAND_REFUSED = N_("Claude declined to go deeper into this concept.")  # as claude.py
NOT_DELETED = N_("The file could not be deleted at the API just now.")
# The {search} paragraph of a sub-concept or question task about a material's map.
GROUNDED = (
    "The document attached above is the material this map is made from. Write from what it "
    "says, and cite it for every statement it supports: the reader sees the cited pages or "
    "passages as the sources."
)
NOTHING_TO_MAP = N_("Claude found nothing in this material to map.")
NOT_FETCHED = N_("The page could not be fetched: Claude's web fetch tool did not return it.")
FETCH_REFUSED = N_("The page could not be fetched: the web fetch tool is not enabled for the bot.")
NO_PAGE_TEXT = N_("The page could not be fetched: it has no text.")
FETCH_FAILED = N_("The page could not be fetched: {why}.")
# What the web fetch tool's error codes mean to a member.
FETCH_ERRORS = {
    "url_not_accessible": N_("the page answered with an error (is it public?)"),
    "url_not_allowed": N_("its site is blocked for fetching"),
    "url_too_long": N_("the address is too long"),
    "unsupported_content_type": N_("it is not a web page, text or a PDF"),
    "content_too_large": N_("it is too large"),
    "too_many_requests": N_("the fetch service is busy; try again in a few minutes"),
    "unavailable": N_("the fetch service is unavailable; try again in a few minutes"),
}
FETCH_ERROR_OTHER = N_("it could not be fetched")


class MaterialCalls:
    """What ``AnthropicGenerator`` does with a material besides mapping it (a mixin)."""

    documents: DocumentCalls

    async def count_tokens(self, topic: str, language: str, material: Material) -> int:
        return await self.documents.count_tokens(topic, language, material)

    async def upload(self, material: Material) -> str | None:
        return await self.documents.upload(material)

    async def delete_file(self, file_id: str) -> None:
        await self.documents.delete_file(file_id)


class DocumentCalls:
    """The material calls of an ``AnthropicGenerator`` (its client, stream and prompts)."""

    def __init__(self, generator: AnthropicGenerator) -> None:
        self.g = generator
        prompts = generator._prompts
        system = prompts.render(
            "material_system",
            title_max=TITLE_MAX,
            summary_max=SUMMARY_MAX,
            detail_max=DETAIL_MAX,
            concepts_min=KEY_CONCEPTS_MIN,
            concepts_max=KEY_CONCEPTS_MAX,
            children_min=CHILDREN_MIN,
            children_max=CHILDREN_MAX,
        )
        self.system: list[TextBlockParam] = [{"type": "text", "text": system}]

    # -- the calls ------------------------------------------------------------------

    async def generate_map(
        self,
        topic: str,
        language: str,
        level: Level,
        on_progress: OnSketch | None,
        material: Material,
    ) -> Generated[MapDraft]:
        task = self._map_task(topic, language, level, material)
        return await self._tagged(task, material, "map", topic, None, on_progress)

    async def expand(
        self, request: ExpandRequest, task: str, material: Material, on_progress: OnSketch | None
    ) -> Generated[Expansion]:
        return await self._tagged(task, material, "expand", request.topic, request, on_progress)

    async def ask(
        self,
        request: AskRequest,
        task: str,
        material: Material,
        on_text: Progress | None,
        refused: str,
        empty: str,
        max_tokens: int,
    ) -> Generated[str]:
        """An answer about a material map, from the material, citing it; ``task`` is the
        generator's ask prompt, answered with its ask system prompt."""
        usage: list[Usage] = []

        async def shown(written: str) -> None:
            if on_text is not None:
                await on_text(answer_text(written))

        try:
            async with asyncio.timeout(self.g._deadline) as deadline:
                message = await self.g.stream(
                    [{"role": "user", "content": [document(material), task_block(task)]}],
                    usage,
                    deadline,
                    system=self.g._ask_system,
                    max_tokens=max_tokens,
                    on_text=shown,
                )
        except TimeoutError:
            raise GenerationError(TOO_SLOW, usage=list(usage)) from None
        _check_stop(message, usage, refused=refused, cut_off=True)
        text = answer_text(_text(message) or "")
        if not text:
            raise GenerationError(empty, usage=list(usage))
        return Generated(text, list(usage), cited_places(message, material))

    async def count_tokens(self, topic: str, language: str, material: Material) -> int:
        """The input tokens of the map call (the API's count_tokens; for a page, its
        prompt and the most the fetch tool passes on)."""
        task = self._map_task(topic, language, Level.STANDARD, material)
        if material.kind is MaterialKind.PAGE and material.data is None:
            content: list[Any] = [task_block(task)]
            extra = PAGE_TOKENS_MAX
        else:
            content = [document(material), task_block(task)]
            extra = 0
        with _api_errors([]):
            counted = await self.g._client.messages.count_tokens(
                model=self.g.model,
                system=self.system,
                messages=[{"role": "user", "content": content}],
            )
        return counted.input_tokens + extra

    async def upload(self, material: Material) -> str | None:
        """Upload a PDF to the Files API: later calls send its id instead of its bytes."""
        if material.media_type != PDF or material.data is None:
            return None
        try:
            stored = await self.g._client.files.upload(
                file=(material.name, material.data, material.media_type)
            )
        except anthropic.APIError as exc:
            # The bytes are kept too: calls then send them as they are.
            log.warning("Could not upload %r to the Files API: %s", material, type(exc).__name__)
            return None
        return stored.id

    async def delete_file(self, file_id: str) -> None:
        try:
            await self.g._client.files.delete(file_id)
        except anthropic.NotFoundError:
            return  # already gone (expired, or deleted by hand)
        except anthropic.APIError as exc:
            log.warning("Could not delete file %s at the API: %s", file_id, type(exc).__name__)
            raise GenerationError(NOT_DELETED) from None

    # -- one tagged answer, repaired once ----------------------------------------------

    def _map_task(self, topic: str, language: str, level: Level, material: Material) -> str:
        return self.g._prompts.render(
            "material_map",
            today=self.g._today(),
            topic=_quote(topic) if topic else "(none)",
            language=_quote(for_model(language)),
            level=level.value,
            material=material_note(material),
        )

    async def _tagged(
        self,
        task: str,
        material: Material,
        kind: str,
        topic: str,
        request: ExpandRequest | None,
        on_progress: OnSketch | None,
    ) -> Generated[Any]:
        """Ask for a tagged answer grounded in ``material``, validate it as ``answers``
        does a JSON one (its places as its sources), and ask once more on an unusable one."""
        usage: list[Usage] = []
        read = Read()

        def on_text(snapshot: str) -> None:
            if on_progress is not None and (sketch := sketch_of_tagged(snapshot)) is not None:
                on_progress(sketch)

        def build(message: Message, lenient: bool) -> Any:
            nonlocal read
            tagged = read_tagged(message, material)
            cited = Cited()
            answer, language = answer_of(tagged, "map" if request is None else "expand", cited)
            read = Read(language=language, title=read.title, text=read.text)

            def value(text: str, strict: bool, grounding: Any) -> Any:
                if request is None:
                    return _map_answer(text, topic or "", grounding, lenient=strict)
                return _expansion(text, request, grounding, lenient=strict)

            refused = MAP_REFUSED if request is None else EXPAND_REFUSED
            if answer == '{"kind": "unknown"}':
                raise GenerationError(NOTHING_TO_MAP, usage=list(usage))
            return _decided(value, answer, lenient, refused, usage, cited)

        try:
            async with asyncio.timeout(self.g._deadline) as deadline:
                message, material = await self._first(task, material, usage, deadline, on_text)
                if material.data is not None and material.kind is MaterialKind.PAGE:
                    read = Read(title=material.title, text=material.data.decode())
                _check_stop(message, usage, refused=MAP_REFUSED, cut_off=False)
                try:
                    return Generated(build(message, False), list(usage), read=read)
                except _Unusable as exc:
                    log.warning("Unusable %s of %r, asking for a repair: %s", kind, material, exc)
                    problems = exc.problems
                messages: list[MessageParam] = [
                    {"role": "user", "content": [document(material), task_block(task)]},
                    {"role": "assistant", "content": _text(message) or "(no answer)"},
                    {
                        "role": "user",
                        "content": self.g._prompts.render(
                            "material_repair",
                            problems="\n".join(f"- {_quote(p)}" for p in problems),
                        ),
                    },
                ]
                message = await self.g.stream(
                    messages, usage, deadline, system=self.system, on_text=on_text
                )
                _check_stop(message, usage, refused=MAP_REFUSED, cut_off=False)
                try:
                    return Generated(build(message, True), list(usage), read=read)
                except _Unusable as exc:
                    log.warning("Unusable %s of %r after a repair: %s", kind, material, exc)
                    raise GenerationError(UNUSABLE, usage=list(usage)) from None
        except TimeoutError:
            raise GenerationError(TOO_SLOW, usage=list(usage)) from None

    async def _first(
        self,
        task: str,
        material: Material,
        usage: list[Usage],
        deadline: asyncio.Timeout,
        on_text: Any,
    ) -> tuple[Message, Material]:
        """The first answer, and the material as later calls send it: a page not fetched
        yet is fetched by the API's tool here, and comes back with its text."""
        if material.kind is not MaterialKind.PAGE or material.data is not None:
            content = [document(material), task_block(task)]
            message = await self.g.stream(
                [{"role": "user", "content": content}],
                usage,
                deadline,
                system=self.system,
                on_text=on_text,
            )
            return message, material
        try:
            message = await self.g.stream(
                [{"role": "user", "content": [task_block(task)]}],
                usage,
                deadline,
                system=self.system,
                tools=[fetch_tool(material)],
                on_text=on_text,
            )
        except SearchRejected:
            raise FetchFailed(FETCH_REFUSED, usage=list(usage)) from None
        return message, fetched(message, material, usage)


def fetch_tool(material: Material) -> dict[str, Any]:
    """The web fetch tool, for the one page the member gave: once, with citations."""
    return {
        "type": WEB_FETCH_TOOL,
        "name": WEB_FETCH_NAME,
        "max_uses": 1,
        "citations": {"enabled": True},
        "max_content_tokens": PAGE_TOKENS_MAX,
    }


def fetched(message: Message, material: Material, usage: list[Usage]) -> Material:
    """The page as the fetch tool returned it, or ``FetchFailed`` saying why not."""
    for block in message.content:
        if getattr(block, "type", None) != "web_fetch_tool_result":
            continue
        result = getattr(block, "content", None)
        if getattr(result, "type", None) == "web_fetch_tool_result_error":
            code = str(getattr(result, "error_code", "unknown"))
            why = FETCH_ERRORS.get(code, FETCH_ERROR_OTHER)
            log.info("Web fetch of a member's page failed: %s", code)
            raise FetchFailed(N_(FETCH_FAILED, why=why), usage=list(usage))
        doc = getattr(result, "content", None)
        source = getattr(doc, "source", None)
        data = getattr(source, "data", None)
        if not isinstance(data, str) or not data.strip():
            raise FetchFailed(NO_PAGE_TEXT, usage=list(usage))
        if getattr(source, "type", None) == "base64":  # a PDF behind the link
            return Material(
                MaterialKind.PAGE,
                material.name,
                PDF,
                base64.b64decode(data),
                title=getattr(doc, "title", None),
            )
        title = getattr(doc, "title", None)
        return Material(
            MaterialKind.PAGE,
            material.name,
            "text/plain",
            data.encode(),
            title=title if isinstance(title, str) and title.strip() else None,
        )
    raise FetchFailed(NOT_FETCHED, usage=list(usage))


def document(material: Material) -> dict[str, Any]:
    """The material as a document block with citations on, marked for caching."""
    if material.file_id is not None:
        source: dict[str, Any] = {"type": "file", "file_id": material.file_id}
    elif material.media_type == PDF:
        assert material.data is not None
        data = base64.standard_b64encode(material.data).decode()
        source = {"type": "base64", "media_type": PDF, "data": data}
    else:
        assert material.data is not None
        source = {"type": "text", "media_type": "text/plain", "data": material.data.decode()}
    return {
        "type": "document",
        "source": source,
        "title": material.title or material.name,
        "citations": {"enabled": True},
        "cache_control": {"type": "ephemeral"},
    }


def task_block(task: str) -> dict[str, Any]:
    return {"type": "text", "text": task}


def material_note(material: Material) -> str:
    """What the task says of the material: the attached document, or the page to fetch."""
    if material.kind is MaterialKind.PAGE and material.data is None:
        return (
            f"The material is the web page at this address: {material.name}\n"
            "Fetch it with the web fetch tool (once), then write from what it returns."
        )
    name = _quote(material.title or material.name)
    return f"The material is the document attached above, {name}."
