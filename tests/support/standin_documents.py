"""The stand-in's side of a member's material, as Anthropic's docs describe it: document
blocks (a base64 PDF, plain text, or a Files API ``file`` id) answered with citations on
the text blocks (``page_location`` for a PDF, ``char_location`` for text), the web fetch
server tool (``web_fetch_20250910``: a ``server_tool_use`` block, then a
``web_fetch_tool_result`` holding the page as a document, or a
``web_fetch_tool_result_error`` with its ``error_code``), ``POST /v1/messages/count_tokens``
and the Files API (``POST /v1/files``, ``DELETE /v1/files/{id}``).

The stand-in never fetches anything: a page's text is whatever the test put in
``pages`` (an address it does not know fails with ``url_not_accessible``). A PDF is read
with pypdf, so an unscripted map of it has one key concept per page, each citing the
page its summary is taken from: a test can check that a concept cites the right page.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pypdf import PdfReader

if TYPE_CHECKING:
    from tests.support.standin import Request, StandIn

FETCH_TOOL_PREFIX = "web_fetch_"
PDF = "application/pdf"
PAGE_TOKENS = 1_500  # the low end of Anthropic's estimate of a PDF page's tokens
CHARS_PER_TOKEN = 4
_URL = re.compile(r"https?://\S+")


@dataclass
class Uploaded:
    id: str
    name: str
    media_type: str
    data: bytes


@dataclass
class MaterialWorld:
    """What the stand-in knows of materials: pages to "fetch", uploaded files, and what it
    was asked."""

    pages: dict[str, tuple[str, str]] = field(default_factory=dict)  # url -> (title, text)
    fetch_errors: dict[str, str] = field(default_factory=dict)  # url -> error_code
    files: dict[str, Uploaded] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    counted: list[dict[str, Any]] = field(default_factory=list)  # count_tokens bodies
    fetched: list[str] = field(default_factory=list)  # URLs the fetch tool was asked for
    language: str = "English"  # what an unscripted map says the material is written in
    token_count: int | None = None  # count_tokens' answer, when a test sets it
    # Answers to give, in order, before the made-up ones: each its text blocks (with the
    # citations a test chose), after the fetch tool's blocks when the request fetches.
    scripted: list[list[dict[str, Any]]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))


def install(app: web.Application, standin: StandIn) -> None:
    world = standin.materials

    async def count_tokens(http: web.Request) -> web.Response:
        body = await http.json()
        world.counted.append(body)
        if world.token_count is not None:
            return web.json_response({"input_tokens": world.token_count})
        return web.json_response({"input_tokens": estimate(body, world)})

    async def upload(http: web.Request) -> web.Response:
        form = await http.post()
        part = form["file"]
        assert isinstance(part, web.FileField)
        data = part.file.read()
        file_id = f"file_standin_{next(world._ids):04d}"
        media_type = part.content_type or "application/octet-stream"
        world.files[file_id] = Uploaded(file_id, part.filename, media_type, data)
        return web.json_response(
            {
                "id": file_id,
                "type": "file",
                "filename": part.filename,
                "mime_type": media_type,
                "size_bytes": len(data),
                "created_at": "2026-12-07T00:00:00Z",
                "downloadable": False,
            }
        )

    async def delete(http: web.Request) -> web.Response:
        file_id = http.match_info["file_id"]
        if world.files.pop(file_id, None) is None:
            body = {"type": "error", "error": {"type": "not_found_error", "message": "no file"}}
            return web.json_response(body, status=404)
        world.deleted.append(file_id)
        return web.json_response({"id": file_id, "type": "file_deleted"})

    app.router.add_post("/v1/messages/count_tokens", count_tokens)
    app.router.add_post("/v1/files", upload)
    app.router.add_delete("/v1/files/{file_id}", delete)


def estimate(body: dict[str, Any], world: MaterialWorld) -> int:
    """Tokens as the stand-in counts them: text by characters, a PDF by its pages."""
    tokens = len(json.dumps(body.get("system", ""))) // CHARS_PER_TOKEN
    for message in body.get("messages", []):
        content = message["content"]
        if isinstance(content, str):
            tokens += len(content) // CHARS_PER_TOKEN
            continue
        for block in content:
            if block.get("type") == "document":
                doc = read_document(block, world)
                tokens += doc.pages * PAGE_TOKENS if doc.pdf else len(doc.text) // CHARS_PER_TOKEN
            else:
                tokens += len(block.get("text", "")) // CHARS_PER_TOKEN
    return tokens


# -- reading a document block -----------------------------------------------------


@dataclass(frozen=True)
class Doc:
    """A document as the stand-in read it: its passages with where each one is."""

    title: str
    pdf: bool
    passages: list[tuple[str, int, int]]  # (text, page or start char, end char)
    text: str = ""

    @property
    def pages(self) -> int:
        return max((p[1] for p in self.passages), default=0) if self.pdf else 0


def read_document(block: dict[str, Any], world: MaterialWorld) -> Doc:
    source = block["source"]
    title = block.get("title") or "Document"
    if source["type"] == "file":
        uploaded = world.files[source["file_id"]]  # a KeyError is a test failure
        if uploaded.media_type == PDF:
            return _pdf(title, uploaded.data)
        return _text_doc(title, uploaded.data.decode())
    if source["type"] == "base64":
        assert source["media_type"] == PDF, source["media_type"]
        return _pdf(title, base64.b64decode(source["data"]))
    assert source["type"] == "text", source["type"]
    return _text_doc(title, source["data"])


def _pdf(title: str, data: bytes) -> Doc:
    reader = PdfReader(io.BytesIO(data))
    passages = []
    for number, page in enumerate(reader.pages, start=1):
        text = " ".join((page.extract_text() or "").split())
        if text:
            passages.append((text, number, number))
    return Doc(title, True, passages)


def _text_doc(title: str, text: str) -> Doc:
    passages = []
    for match in re.finditer(r"[^\n]+(?:\n[^\n]+)*", text):
        passage = " ".join(match[0].split())
        if len(passage) > 20 and not passage.startswith("#"):
            passages.append((passage, match.start(), match.end()))
    return Doc(title, False, passages, text)


def documents_of(request: Request) -> list[dict[str, Any]]:
    content = request.messages[0]["content"]
    if isinstance(content, str):
        return []
    return [block for block in content if block.get("type") == "document"]


def fetch_tool(request: Request) -> dict[str, Any] | None:
    for tool in request.body.get("tools") or []:
        if str(tool.get("type", "")).startswith(FETCH_TOOL_PREFIX):
            return tool
    return None


# -- answering --------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """A text block of the answer, citing one passage of the document (or none)."""

    text: str
    cites: tuple[str, int, int] | None = None


def answer_material(standin: StandIn, request: Request) -> list[dict[str, Any]] | None:
    """The content blocks of an unscripted answer to a request about a material, or None
    when the request carries none."""
    world = standin.materials
    docs = documents_of(request)
    tool = fetch_tool(request)
    if not docs and tool is None:
        return None
    blocks: list[dict[str, Any]] = []
    if docs:
        doc = read_document(docs[0], world)
    else:
        found = _URL.search(request.prompt)
        url = found[0] if found else ""
        world.fetched.append(url)
        use_id = f"srvtoolu_standin_fetch_{len(world.fetched):04d}"
        blocks.append(
            {"type": "server_tool_use", "id": use_id, "name": "web_fetch", "input": {"url": url}}
        )
        if url in world.fetch_errors or url not in world.pages:
            code = world.fetch_errors.get(url, "url_not_accessible")
            error = {"type": "web_fetch_tool_result_error", "error_code": code}
            failed = {"type": "web_fetch_tool_result", "tool_use_id": use_id, "content": error}
            blocks.append(failed)
            blocks.append({"type": "text", "text": "I could not fetch that page."})
            return blocks
        title, text = world.pages[url]
        result = {
            "type": "web_fetch_result",
            "url": url,
            "retrieved_at": "2026-12-07T12:00:00Z",
            "content": {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": text},
                "title": title,
                "citations": {"enabled": bool((tool or {}).get("citations", {}).get("enabled"))},
            },
        }
        blocks.append({"type": "web_fetch_tool_result", "tool_use_id": use_id, "content": result})
        doc = _text_doc(title, text)
    prompt = request.prompt
    if world.scripted:
        return blocks + world.scripted.pop(0)
    if "Task: map the material." in prompt:
        pieces = _map_pieces(doc, prompt, world.language)
    elif "Task: break one concept" in prompt:
        pieces = _expansion_pieces(doc, prompt)
    else:
        pieces = _answer_pieces(doc)
    return blocks + [_block(piece, doc) for piece in pieces]


def _block(piece: Piece, doc: Doc) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": piece.text}
    if piece.cites is not None:
        block["citations"] = [citation(doc, piece.cites)]
    return block


def citation(doc: Doc, passage: tuple[str, int, int]) -> dict[str, Any]:
    text, start, end = passage
    if doc.pdf:
        return {
            "type": "page_location",
            "cited_text": text,
            "document_index": 0,
            "document_title": doc.title,
            "start_page_number": start,
            "end_page_number": end + 1,  # exclusive
        }
    return {
        "type": "char_location",
        "cited_text": text,
        "document_index": 0,
        "document_title": doc.title,
        "start_char_index": start,
        "end_char_index": end,
    }


def _first_sentence(text: str) -> str:
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return sentence if len(sentence) <= 150 else sentence[:140].rsplit(" ", 1)[0] + "."


def _title(text: str, used: set[str]) -> str:
    words = re.sub(r"[^\w\s-]", "", text).split()[:4]
    title = " ".join(words).title()[:50] or "Passage"
    while title.casefold() in used:
        title += " Again"
    used.add(title.casefold())
    return title


def _concept(passage: tuple[str, int, int], doc: Doc, used: set[str]) -> list[Piece]:
    where = f"page {passage[1]}" if doc.pdf else "one passage"
    return [
        Piece(f"<concept>\n<title>{_title(passage[0], used)}</title>\n<summary>"),
        Piece(_first_sentence(passage[0]), passage),
        Piece(
            f"</summary>\n<detail>The material sets this out on {where}. "
            "It is one step of its whole argument.</detail>\n</concept>\n"
        ),
    ]


def _passages(doc: Doc, count: int) -> list[tuple[str, int, int]]:
    passages = doc.passages or [("The material has little text.", 1, 1)]
    return [passages[n % len(passages)] for n in range(max(count, 1))]


def _map_pieces(doc: Doc, prompt: str, language: str) -> list[Piece]:
    typed = re.search(r"<topic>(.*?)</topic>", prompt)
    topic = typed[1] if typed and typed[1] != "(none)" else None
    if topic is None:
        topic = re.sub(r"\.\w+$", "", doc.title).replace("-", " ").replace("_", " ").title()
    used = {topic.casefold()}
    pieces = [
        Piece(
            f"<map>\n<title>{topic}</title>\n<material_language>{language}</material_language>\n"
            "<overview>"
        ),
        Piece("An overview of the material. It has two sentences.", _passages(doc, 1)[0]),
        Piece("</overview>\n"),
    ]
    for passage in _passages(doc, min(max(len(doc.passages), 4), 7)):
        pieces += _concept(passage, doc, used)
    return [*pieces, Piece("</map>")]


def _expansion_pieces(doc: Doc, prompt: str) -> list[Piece]:
    concept = re.search(r"<concept>\s*<title>(.*?)</title>", prompt, re.DOTALL)
    parent = " ".join((concept[1] if concept else "Concept").split()[:2])
    used = {parent.casefold()}
    pieces = [Piece("<subconcepts>\n")]
    for n, passage in enumerate(_passages(doc, 3)):
        # Titled after the parent: two expansions never share a sub-concept's title.
        text = f"{parent} part {n + 1}. {passage[0]}"
        pieces += _concept((text, passage[1], passage[2]), doc, used)
    return [*pieces, Piece("</subconcepts>")]


def _answer_pieces(doc: Doc) -> list[Piece]:
    passage = _passages(doc, 1)[0]
    return [
        Piece("The material answers this directly. "),
        Piece(_first_sentence(passage[0]), passage),
        Piece(
            " That is the heart of it: the card's summary names the idea, and the material "
            "explains how it connects to what comes before and after it in the argument. "
            "Reading that passage again, with the card beside it, is the quickest way to "
            "check your understanding of the point, and the sub-concepts below the card take "
            "each part of it one step further, citing the same material as they go."
        ),
    ]


async def stream_blocks(send: Any, blocks: list[dict[str, Any]]) -> None:
    """Content blocks as the API streams them: tool blocks whole, a text block's
    citations as ``citations_delta`` events before its text."""
    for index, block in enumerate(blocks):
        if block["type"] == "server_tool_use":
            start = dict(block, input={})
            await send(_start(index, start))
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            await send({"type": "content_block_delta", "index": index, "delta": delta})
        elif block["type"] == "text":
            start = {"type": "text", "text": ""}
            if "citations" in block:
                start["citations"] = []
            await send(_start(index, start))
            for cited in block.get("citations", []):
                delta = {"type": "citations_delta", "citation": cited}
                await send({"type": "content_block_delta", "index": index, "delta": delta})
            delta = {"type": "text_delta", "text": block["text"]}
            await send({"type": "content_block_delta", "index": index, "delta": delta})
        else:
            await send(_start(index, block))
        await send({"type": "content_block_stop", "index": index})


def _start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


async def respond(
    standin: StandIn, http: web.Request, request: Request, blocks: list[dict[str, Any]]
) -> web.StreamResponse:
    """The answer made of ``blocks``, streamed or whole, with its usage."""
    fetches = sum(1 for b in blocks if b["type"] == "server_tool_use")
    usage: dict[str, Any] = {
        "input_tokens": estimate(request.body, standin.materials),
        "output_tokens": sum(len(b.get("text", "")) for b in blocks) // CHARS_PER_TOKEN,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    if fetches:
        usage["server_tool_use"] = {"web_search_requests": 0, "web_fetch_requests": fetches}
    message = {
        "type": "message",
        "role": "assistant",
        "id": f"msg_standin_doc_{len(standin.requests)}",
        "model": request.body["model"],
        "content": blocks,
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }
    if not request.streamed:
        return web.json_response(message)
    response = web.StreamResponse(status=200, headers={"content-type": "text/event-stream"})
    await response.prepare(http)

    async def send(data: dict[str, Any]) -> None:
        await response.write(f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode())

    start = dict(message, content=[], stop_reason=None, usage=dict(usage, output_tokens=1))
    start["usage"].pop("server_tool_use", None)
    await send({"type": "message_start", "message": start})
    await stream_blocks(send, blocks)
    final: dict[str, Any] = {"output_tokens": usage["output_tokens"]}
    if fetches:
        final["server_tool_use"] = usage["server_tool_use"]
    delta = {"stop_reason": "end_turn", "stop_sequence": None}
    await send({"type": "message_delta", "delta": delta, "usage": final})
    await send({"type": "message_stop"})
    await response.write_eof()
    return response
