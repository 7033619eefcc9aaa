"""A local stand-in for Anthropic's Messages API, for tests of the real SDK.

The SDK is pointed at it through ``base_url``; it listens on 127.0.0.1 on a
random port, so no test reaches the internet. Each POST /v1/messages is
recorded and answered with the next scripted reply, or, when nothing is
scripted, with a valid map, expansion or quiz (whichever task the prompt sets), or a
plain-text answer to a question (a request with no output schema).

A request with ``"stream": true`` is answered with server-sent events in the
order Anthropic's streaming docs give (message_start, content_block_start, a
ping, the deltas, content_block_stop, message_delta, message_stop), the first
text ``first_token`` seconds after the request and the rest in pieces of
``chunk`` characters at ``rate`` characters a second; a reply's ``interrupt``
breaks such a stream off part way (the connection
dropped, or an error event). With ``caching`` on, usage is computed the way
the API bills prompt caching: the prefix up to the last ``cache_control``
breakpoint, with the output schema, is written once and read afterwards when
it reaches ``cache_min_tokens``.

A request that carries the web search tool (``web_search_20250305``) is answered
the way Anthropic's web search docs describe: a ``server_tool_use`` block per
search (its query), a ``web_search_tool_result`` block with what it found (a
list of ``web_search_result``, or a ``web_search_tool_result_error`` with its
``error_code``), then the answer's text; a plain-text answer's text blocks carry
``web_search_result_location`` citations. Searches past the tool's ``max_uses``
fail with ``max_uses_exceeded``, results from ``blocked_domains`` are left out,
and usage counts the searches that ran in ``server_tool_use.web_search_requests``.
Streamed, the same blocks arrive as events (``input_json_delta`` for the query,
``citations_delta`` before a cited block's text). Unscripted, such a request gets
one search with ``search_results(query)`` and an answer whose sources (or
citations) are among them.

    async def test_something(standin):
        standin.script(overloaded(), answer(valid_map()))
        generator = AnthropicGenerator(standin.settings(), prompts)
        ...
        assert len(standin.requests) == 2

Registered as a pytest plugin in ``tests/conftest.py``; the fixture is
``standin``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import pytest
from aiohttp import web

from bot.config import Settings
from tests.support import standin_documents as documents

# Short enough that the SDK's retries cost nothing in a test (it honours retry-after-ms).
RETRY_AFTER_MS = 5
# Claude Sonnet 4.6's minimum cacheable prefix: 1,024 tokens in Anthropic's prompt-caching
# docs, but caching was observed to start only at 2,048 (anthropic-sdk-python#1194), so
# the stand-in holds the prompt to the higher figure.
CACHE_MIN_TOKENS = 2048
CHARS_PER_TOKEN = 4  # a low estimate of English text's characters per token (so, few tokens)
DEFAULT_USAGE = {
    "input_tokens": 120,
    "output_tokens": 340,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
}


@dataclass
class Reply:
    """One scripted HTTP answer.

    ``content`` is the text of the single text block: a dict or list is sent as
    JSON, a str as it is, None for no content block. ``body`` replaces the whole
    response body (error replies use it). ``delay`` holds the answer back.
    """

    status: int = 200
    content: Any = None
    stop_reason: str | None = "end_turn"
    usage: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_USAGE))
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    raw: str | None = None  # sent as it is, with ``content_type``: a proxy's page, not JSON
    content_type: str = "application/json"
    delay: float = 0.0
    # For a streamed answer: break it off after this share of its text.
    interrupt: Literal["drop", "error"] | None = None
    interrupt_at: float = 0.5
    # Streamed replies: an error event of this type after the first text delta.
    stream_error: str | None = None
    # Web searches run before the text (the request must carry the search tool), and for a
    # plain-text answer its text blocks with their citations (``content`` is then unused).
    searches: tuple[Searched, ...] = ()
    segments: tuple[Segment, ...] = ()


@dataclass(frozen=True)
class Found:
    """One web search result, as the API returns it."""

    url: str
    title: str
    page_age: str | None = "November 30, 2026"

    def block(self) -> dict[str, Any]:
        found = {
            "type": "web_search_result",
            "url": self.url,
            "title": self.title,
            "encrypted_content": "EqgfCioIARgBIiQ3YTAwMjY1Mi1mZjM5LTQ1NGUtODgxNC1kNjNjNTk1ZWI3Y2I",
        }
        if self.page_age is not None:
            found["page_age"] = self.page_age
        return found


@dataclass(frozen=True)
class Searched:
    """One search: its query and what it found, or the error code it failed with."""

    query: str
    results: tuple[Found, ...] = ()
    error: str | None = None  # "unavailable", "max_uses_exceeded", "too_many_requests", ...


@dataclass(frozen=True)
class Segment:
    """A text block of a plain-text answer, citing ``cites`` (with the text it quotes)."""

    text: str
    cites: tuple[Found, ...] = ()


def search_results(query: str, count: int = 3) -> tuple[Found, ...]:
    """What the stand-in's search finds for ``query``: ``count`` pages on made-up hosts."""
    slug = re.sub(r"[^a-z0-9]+", "-", query.casefold()).strip("-") or "page"
    return tuple(
        Found(f"https://source{n}.example/{slug}", f"{query}: report {n} (Source {n})")
        for n in range(1, count + 1)
    )


def searched(content: Any = None, *searches: Searched, segments: tuple[Segment, ...] = ()) -> Reply:
    """A 200 that ran ``searches`` before answering ``content`` (or ``segments``)."""
    return Reply(content=content, searches=searches, segments=segments)


def search_failed(code: str, query: str = "the topic") -> Searched:
    """A search that failed with ``code`` (the result block carries the error)."""
    return Searched(query, error=code)


def answer(content: Any, *, stop_reason: str | None = "end_turn", **usage: int) -> Reply:
    """A 200 with ``content`` as the text block; ``usage`` overrides token counts."""
    return Reply(content=content, stop_reason=stop_reason, usage={**DEFAULT_USAGE, **usage})


def refusal() -> Reply:
    """Claude declining: stop_reason "refusal" and no JSON."""
    return answer(None, stop_reason="refusal")


def error(status: int, kind: str, message: str, *, retry: bool | None = None) -> Reply:
    """An API error in Anthropic's shape; ``retry`` sets ``x-should-retry`` when given."""
    headers = {"retry-after-ms": str(RETRY_AFTER_MS), "request-id": "req_standin_error"}
    if retry is not None:
        headers["x-should-retry"] = "true" if retry else "false"
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return Reply(status=status, headers=headers, body=body)


def interrupted(content: Any, how: Literal["drop", "error"] = "drop", at: float = 0.5) -> Reply:
    """A streamed answer broken off after ``at`` of its text: the connection dropped, or
    an overloaded error event."""
    return Reply(content=content, interrupt=how, interrupt_at=at)


def raw(text: str, content_type: str = "text/html") -> Reply:
    """A 200 whose body is ``text`` as it is: what a misconfigured proxy answers."""
    return Reply(raw=text, content_type=content_type)


def without_usage(content: Any) -> Reply:
    """A 200 message with ``content`` but no ``usage`` object."""
    return Reply(body={**_message_shape(content), "model": "claude-sonnet-4-6"})


def overloaded() -> Reply:
    return error(529, "overloaded_error", "Overloaded", retry=True)


def concept(title: str, *, summary: str | None = None, detail: str | None = None) -> dict[str, str]:
    return {
        "title": title,
        "summary": summary or f"{title} in one sentence.",
        "detail": detail or f"{title} matters here. It connects to its parent. It fits the topic.",
    }


def valid_map(
    count: int = 5, *, prefix: str = "Key concept", title: str = "The Topic"
) -> dict[str, Any]:
    return {
        "kind": "map",
        "title": title,
        "overview": "An overview of the topic. It has two sentences.",
        "concepts": [concept(f"{prefix} {n}") for n in range(1, count + 1)],
    }


def valid_expansion(count: int = 3, *, prefix: str = "Sub-concept") -> dict[str, Any]:
    return {
        "kind": "subconcepts",
        "concepts": [concept(f"{prefix} {n}") for n in range(1, count + 1)],
    }


def valid_quiz(titles: list[str]) -> dict[str, Any]:
    """A question per card title, its right answer first."""
    return {
        "questions": [
            {
                "concept": title,
                "prompt": f"What does the card on {title} say matters most?",
                "options": [f"What {title} explains", "An unrelated idea", "The opposite claim"],
                "correct": 0,
                "explanation": f"The card on {title} says so in its own words.",
            }
            for title in titles
        ]
    }


def leaf() -> dict[str, Any]:
    return {"kind": "leaf"}


def meanings(*titles: str) -> dict[str, Any]:
    return {
        "kind": "meanings",
        "meanings": [{"title": title, "line": f"{title} in one line."} for title in titles],
    }


def unknown() -> dict[str, Any]:
    return {"kind": "unknown"}


def declined() -> dict[str, Any]:
    return {"kind": "declined"}


def plain_answer(title: str) -> str:
    """The stand-in's answer to a question about the card titled ``title`` (about 90 words)."""
    return (
        f"{title} matters here because it is the step the rest of the map builds on. "
        "The card's summary names the idea; the detail says where it sits. In practice, the "
        "question you asked comes down to how this piece connects to its neighbours: what it "
        "needs from the concept above it, and what the sub-concepts below it add.\n\n"
        "A good way to check your understanding is to explain one of the sub-concepts in your "
        "own words and say how it depends on this one. If that is hard, open the sub-concept's "
        "card and read its detail before coming back."
    )


@dataclass
class Request:
    """One request the stand-in received."""

    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body["messages"]

    @property
    def system(self) -> list[dict[str, Any]]:
        system = self.body.get("system", [])
        return [{"type": "text", "text": system}] if isinstance(system, str) else system

    @property
    def system_text(self) -> str:
        return "\n".join(block["text"] for block in self.system)

    @property
    def prompt(self) -> str:
        """The text of the first user message (the task)."""
        return _text(self.messages[0]["content"])

    @property
    def last(self) -> str:
        """The text of the last message (a repair request, when there is one)."""
        return _text(self.messages[-1]["content"])

    @property
    def schema(self) -> dict[str, Any]:
        return self.body.get("output_config", {}).get("format", {}).get("schema", {})

    @property
    def streamed(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def search_tool(self) -> dict[str, Any] | None:
        """The web search tool the request carries, if it does."""
        for tool in self.body.get("tools") or []:
            if str(tool.get("type", "")).startswith("web_search_"):
                return tool
        return None

    def cached_prefix(self) -> str:
        """What the API caches: the output schema, then the system blocks up to the last one
        marked ``cache_control`` ("" when none is)."""
        blocks = self.system
        marked = [i for i, block in enumerate(blocks) if "cache_control" in block]
        if not marked:
            return ""
        prefix = "".join(block["text"] for block in blocks[: marked[-1] + 1])
        return json.dumps(self.schema, sort_keys=True) + prefix


def _text(content: str | list[dict[str, Any]]) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(block.get("text", "") for block in content)


class StandIn:
    """The server; ``script`` queues replies, ``requests`` records what came in."""

    def __init__(self) -> None:
        self.queue: deque[Reply] = deque()
        self.requests: list[Request] = []
        # Answers every request once the queue is empty; None: a valid map or expansion.
        self.fallback: Reply | None = None
        # How GET /v1/models/{model} answers (the bot's startup check): 200, or an error.
        self.model_reply: Reply | None = None
        self.base_url = ""
        # Streams: seconds before the first text (the model reading the prompt; about
        # 1 s for Claude), characters a second after it (Claude writes about 250), and
        # characters per event.
        self.first_token = 0.0
        self.rate = 20_000.0
        self.chunk = 24
        # Seconds each web search of a stream takes (between its server_tool_use block
        # and its results), as the API's own searches take a moment.
        self.search_time = 0.0
        self.caching = False
        self.cache_min_tokens = CACHE_MIN_TOKENS
        self._cache: set[str] = set()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        # Members' material: pages to "fetch", uploaded files (standin_documents.py).
        self.materials = documents.MaterialWorld()

    def script(self, *replies: Reply) -> None:
        self.queue.extend(replies)

    def always(self, reply: Reply) -> None:
        self.fallback = reply

    def settings(self, **overrides: Any) -> Settings:
        """Settings whose SDK client talks to this stand-in."""
        values: dict[str, Any] = {
            "anthropic_api_key": "test-key",
            "anthropic_base_url": self.base_url,
            "model": "claude-sonnet-4-6",
            "generation_deadline": 10.0,
        }
        return Settings(**(values | overrides))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_get("/v1/models/{model}", self._model)
        documents.install(app, self)
        # A request a test abandoned (deadline tests) must not hold up the teardown.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _messages(self, http: web.Request) -> web.StreamResponse:
        body = await http.json()
        request = Request(body=body, headers={k.lower(): v for k, v in http.headers.items()})
        self.requests.append(request)
        if not self.queue and self.fallback is None:
            # A document block or the web fetch tool: answered with citations of it.
            blocks = documents.answer_material(self, request)
            if blocks is not None:
                return await documents.respond(self, http, request, blocks)
        reply = self.queue.popleft() if self.queue else self.fallback or _default(request)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.raw is not None:
            return web.Response(
                text=reply.raw, status=reply.status, content_type=reply.content_type
            )
        if reply.body is not None:
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)
        usage = self._usage(request, reply)
        searches = _run_searches(request, reply)
        if searches:
            usage = dict(usage, server_tool_use=_search_usage(searches))
        if request.streamed:
            return await self._stream(http, reply, body["model"], usage, searches)
        payload = self._message(reply, body["model"], usage)
        if searches:
            payload["content"] = _search_blocks(searches) + _text_blocks(reply)
        return web.json_response(payload, status=reply.status, headers=reply.headers)

    def _usage(self, request: Request, reply: Reply) -> dict[str, int]:
        if not self.caching:
            return reply.usage
        prefix = request.cached_prefix()
        prefix_tokens = len(prefix) // CHARS_PER_TOKEN
        messages = json.dumps(request.messages)
        rest = (len(request.system_text) - len(prefix) + len(messages)) // CHARS_PER_TOKEN
        usage = dict(reply.usage, cache_read_input_tokens=0, cache_creation_input_tokens=0)
        if prefix_tokens < self.cache_min_tokens:
            usage["input_tokens"] = rest + prefix_tokens  # too short: silently not cached
        elif prefix in self._cache:
            usage.update(input_tokens=rest, cache_read_input_tokens=prefix_tokens)
        else:
            self._cache.add(prefix)
            usage.update(input_tokens=rest, cache_creation_input_tokens=prefix_tokens)
        return usage

    async def _model(self, http: web.Request) -> web.Response:
        reply = self.model_reply
        if reply is not None and reply.body is not None:
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)
        model = http.match_info["model"]
        info = {
            "type": "model",
            "id": model,
            "display_name": model,
            "created_at": "2026-01-01T00:00:00Z",
        }
        return web.json_response(info)

    def _message(self, reply: Reply, model: str, usage: dict[str, int]) -> dict[str, Any]:
        return {
            **_message_shape(reply.content, reply.stop_reason),
            "id": f"msg_standin_{next(self._ids)}",
            "model": model,
            "usage": usage,
        }

    async def _stream(
        self,
        http: web.Request,
        reply: Reply,
        model: str,
        usage: dict[str, Any],
        searches: list[Searched] | None = None,
    ) -> web.StreamResponse:
        """The reply as server-sent events, its text at ``rate`` characters a second
        from ``first_token`` seconds after the request."""
        loop = asyncio.get_running_loop()
        first_text = loop.time() + self.first_token
        response = web.StreamResponse(
            status=200, headers={"content-type": "text/event-stream", **reply.headers}
        )
        await response.prepare(http)

        async def send(event: str, data: dict[str, Any]) -> None:
            await response.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())

        start = self._message(reply, model, dict(usage, output_tokens=1))
        start.update(content=[], stop_reason=None)
        start["usage"].pop("server_tool_use", None)
        await send("message_start", {"type": "message_start", "message": start})
        index = 0
        if searches:
            index = await _stream_searches(send, searches, self.search_time)
            if reply.segments:
                for segment in reply.segments[:-1]:
                    await _stream_segment(send, index, segment)
                    index += 1
        text = _text_of(reply)
        if text is not None:
            block: dict[str, Any] = {"type": "text", "text": ""}
            cites = reply.segments[-1].cites if reply.segments and searches else ()
            if cites:
                block["citations"] = []
            await send(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": block},
            )
            await send("ping", {"type": "ping"})
            for found in cites:
                delta = {"type": "citations_delta", "citation": _citation(found, text)}
                await send(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
            cut = int(len(text) * reply.interrupt_at) if reply.interrupt else len(text)
            if reply.stream_error:
                cut = min(self.chunk, len(text))
            for sent in range(0, cut, self.chunk):
                # A steady rate: each piece leaves when the clock says it is due.
                due = first_text + sent / self.rate
                if (wait := due - loop.time()) > 0:
                    await asyncio.sleep(wait)
                delta = {"type": "text_delta", "text": text[sent : min(sent + self.chunk, cut)]}
                await send(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
            if reply.interrupt == "drop":
                # Gone mid-answer: the chunked body never ends.
                assert http.transport is not None
                http.transport.abort()
                return response
            if reply.interrupt == "error" or reply.stream_error:
                error = {"type": reply.stream_error or "overloaded_error", "message": "Overloaded"}
                await send("error", {"type": "error", "error": error})
                await response.write_eof()
                return response
            await send("content_block_stop", {"type": "content_block_stop", "index": index})
        final_usage: dict[str, Any] = {"output_tokens": usage["output_tokens"]}
        if "server_tool_use" in usage:
            final_usage["server_tool_use"] = usage["server_tool_use"]
        await send(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
                "usage": final_usage,
            },
        )
        await send("message_stop", {"type": "message_stop"})
        await response.write_eof()
        return response


def _text_of(reply: Reply) -> str | None:
    """The text of the reply's (last) text block."""
    if reply.segments and reply.searches:
        return reply.segments[-1].text
    if reply.content is None:
        return None
    return reply.content if isinstance(reply.content, str) else json.dumps(reply.content)


# -- web search ---------------------------------------------------------------


def _run_searches(request: Request, reply: Reply) -> list[Searched]:
    """The searches the reply runs, as the request's tool allows them: none without the
    tool, ``max_uses_exceeded`` past its ``max_uses``, blocked domains' results left out."""
    tool = request.search_tool
    if tool is None or not reply.searches:
        return []
    allowed = tool.get("max_uses")
    blocked = [d.casefold() for d in tool.get("blocked_domains") or []]
    ran: list[Searched] = []
    for number, search in enumerate(reply.searches, start=1):
        if allowed is not None and number > allowed:
            ran.append(Searched(search.query, error="max_uses_exceeded"))
            continue
        kept = tuple(r for r in search.results if not _blocked(r.url, blocked))
        ran.append(Searched(search.query, kept, search.error))
    return ran


def _blocked(url: str, domains: list[str]) -> bool:
    host = (urlsplit(url).hostname or "").casefold()
    return any(host == d or host.endswith("." + d) for d in domains)


def _search_usage(searches: list[Searched]) -> dict[str, int]:
    # A search that failed is not billed (Anthropic's web search docs).
    ran = sum(1 for s in searches if s.error is None)
    return {"web_search_requests": ran, "web_fetch_requests": 0}


def _tool_id(number: int) -> str:
    return f"srvtoolu_standin_{number:04d}"


def _result_content(search: Searched) -> Any:
    if search.error is not None:
        return {"type": "web_search_tool_result_error", "error_code": search.error}
    return [found.block() for found in search.results]


def _search_blocks(searches: list[Searched]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for number, search in enumerate(searches, start=1):
        blocks.append(
            {
                "type": "server_tool_use",
                "id": _tool_id(number),
                "name": "web_search",
                "input": {"query": search.query},
            }
        )
        blocks.append(
            {
                "type": "web_search_tool_result",
                "tool_use_id": _tool_id(number),
                "content": _result_content(search),
            }
        )
    return blocks


def _citation(found: Found, text: str) -> dict[str, Any]:
    return {
        "type": "web_search_result_location",
        "url": found.url,
        "title": found.title,
        "encrypted_index": "Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNm",
        "cited_text": text[:150],
    }


def _text_blocks(reply: Reply) -> list[dict[str, Any]]:
    """The answer's text blocks after its searches: its segments with their citations, or
    its content as one block."""
    if reply.segments:
        blocks = []
        for segment in reply.segments:
            block: dict[str, Any] = {"type": "text", "text": segment.text}
            if segment.cites:
                block["citations"] = [_citation(f, segment.text) for f in segment.cites]
            blocks.append(block)
        return blocks
    text = _text_of(reply)
    return [] if text is None else [{"type": "text", "text": text}]


async def _stream_searches(send: Any, searches: list[Searched], search_time: float) -> int:
    """The searches as events, each taking ``search_time`` seconds; the index of the next
    block."""
    index = 0
    for number, search in enumerate(searches, start=1):
        use = {"type": "server_tool_use", "id": _tool_id(number), "name": "web_search", "input": {}}
        await send(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": use},
        )
        query = {"type": "input_json_delta", "partial_json": json.dumps({"query": search.query})}
        await send(
            "content_block_delta", {"type": "content_block_delta", "index": index, "delta": query}
        )
        await send("content_block_stop", {"type": "content_block_stop", "index": index})
        await asyncio.sleep(search_time)
        index += 1
        result = {
            "type": "web_search_tool_result",
            "tool_use_id": _tool_id(number),
            "content": _result_content(search),
        }
        await send(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": result},
        )
        await send("content_block_stop", {"type": "content_block_stop", "index": index})
        index += 1
    return index


async def _stream_segment(send: Any, index: int, segment: Segment) -> None:
    """A whole text block (one that comes before the last) with its citations."""
    block: dict[str, Any] = {"type": "text", "text": ""}
    if segment.cites:
        block["citations"] = []
    await send(
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": block},
    )
    for found in segment.cites:
        delta = {"type": "citations_delta", "citation": _citation(found, segment.text)}
        await send(
            "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        )
    delta = {"type": "text_delta", "text": segment.text}
    await send(
        "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
    )
    await send("content_block_stop", {"type": "content_block_stop", "index": index})


def _message_shape(content: Any, stop_reason: str | None = "end_turn") -> dict[str, Any]:
    """A Messages API message without id, model and usage."""
    blocks = []
    if content is not None:
        text = content if isinstance(content, str) else json.dumps(content)
        blocks = [{"type": "text", "text": text}]
    return {
        "type": "message",
        "role": "assistant",
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": None,
    }


def _default(request: Request) -> Reply:
    """A valid answer to whichever task the prompt sets; with the search tool, grounded
    by one search (each text naming the results that support it)."""
    title = re.search(r"<title>(.*?)</title>", request.prompt)
    topic = re.search(r"<topic>(.*?)</topic>", request.prompt)
    if request.search_tool is not None:
        query = title[1] if title else topic[1] if topic else "the topic"
        return _grounded_default(request, query, search_results(query))
    if not request.schema:
        return answer(plain_answer(title[1] if title else "This concept"))
    if "<written>" in request.prompt:
        return answer(refreshed())
    if "<quiz>" in request.prompt:
        return answer(valid_quiz(re.findall(r"<title>(.*?)</title>", request.prompt)))
    if "<concept>" in request.prompt:
        return answer(valid_expansion())
    # The topic as its own canonical title.
    return answer(valid_map(title=topic[1] if topic else "The Topic"))


def _grounded_default(request: Request, query: str, found: tuple[Found, ...]) -> Reply:
    search = Searched(query, found)
    urls = [f.url for f in found]
    if not request.schema:
        text = plain_answer(query)
        first, rest = text.split("\n\n", 1)
        return searched(None, search, segments=(Segment(first, found[:1]), Segment("\n\n" + rest)))
    if "<written>" in request.prompt:
        return searched(refreshed(sources=urls[:2]), search)
    if "<concept>" in request.prompt:
        return searched(with_sources(valid_expansion(), urls), search)
    topic = re.search(r"<topic>(.*?)</topic>", request.prompt)
    content = with_sources(valid_map(title=topic[1] if topic else "The Topic"), urls)
    return searched(content, search)


def with_sources(content: dict[str, Any], urls: list[str]) -> dict[str, Any]:
    """A map or expansion whose texts each name one of ``urls`` as their source, in turn
    (and the overview the first), as a grounded answer does."""
    content = json.loads(json.dumps(content))
    if content.get("kind") == "map":
        content["sources"] = urls[:1]
    for n, concept in enumerate(content.get("concepts") or []):
        concept["sources"] = [urls[n % len(urls)]] if urls else []
    return content


def refreshed(*, sources: list[str] | None = None) -> dict[str, Any]:
    """An answer to the refresh task: the concept written again."""
    return {
        "kind": "concept",
        "summary": "The concept as it stands today, in one sentence.",
        "detail": "The concept with today's facts. It still fits its parent. It fits the topic.",
        "sources": sources or [],
    }


@pytest.fixture
async def standin() -> AsyncIterator[StandIn]:
    server = StandIn()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
