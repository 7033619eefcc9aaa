"""Generation of maps and sub-concepts: the ``Generator`` interface.

The explore core only knows this protocol; tests swap in a fake, production
uses ``AnthropicGenerator`` (below), which asks Claude through the official SDK.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import anthropic
from anthropic import AsyncAnthropic
from anthropic.types import Message, MessageParam, TextBlockParam
from pydantic import BaseModel, ValidationError

from bot.config import Settings
from bot.errors import ConfigError, GenerationError, Refused
from bot.models import (
    CHILDREN_MAX,
    CHILDREN_MIN,
    DETAIL_MAX,
    KEY_CONCEPTS_MAX,
    KEY_CONCEPTS_MIN,
    OVERVIEW_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    ConceptDraft,
    Expansion,
    MapDraft,
    Usage,
)
from bot.prompts import Prompts
from bot.text import clean_text, shorten

log = logging.getLogger(__name__)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Generated(Generic[T]):
    """A validated answer and the usage of every call it took (repairs included)."""

    value: T
    usage: list[Usage] = field(default_factory=list)


@dataclass(frozen=True)
class ExpandRequest:
    """What the model needs to expand one concept without repeating its surroundings."""

    topic: str
    language: str
    path: list[ConceptDraft]  # from the key concept down to the concept to expand
    siblings: list[str]  # titles of the concept's siblings


@dataclass(frozen=True)
class AskRequest:
    """A reader's question about one card, with what the card and the map around it say.

    For the map's overview card, ``title`` is the topic, ``summary`` the overview
    and ``subconcepts`` the key concepts.
    """

    topic: str
    language: str
    path: list[str]  # titles above the card, from the key concept down to its parent
    title: str
    summary: str
    detail: str
    subconcepts: list[str]
    question: str


# Called with the whole answer so far, cleaned, each time more of it arrives.
Progress = Callable[[str], Awaitable[None]]


class Generator(Protocol):
    model: str

    async def generate_map(self, topic: str, language: str) -> Generated[MapDraft]:
        """Overview and key concepts for a topic; raises ``GenerationError``."""
        ...

    async def expand(self, request: ExpandRequest) -> Generated[Expansion]:
        """Sub-concepts of the last concept on ``request.path``, or a leaf."""
        ...

    async def ask(self, request: AskRequest, on_text: Progress | None = None) -> Generated[str]:
        """A plain-text answer to ``request.question``, streamed to ``on_text`` as it is
        written; raises ``GenerationError`` (``Refused`` when Claude declines)."""
        ...


# -- the Anthropic implementation ---------------------------------------------

MAX_TOKENS = 4096  # a 7-concept map with every text at its limit is about 2,500 tokens of JSON
MAX_RETRIES = 2  # the SDK's own retries of 408/409/429/5xx/529 and dropped connections
CONNECT_TIMEOUT = 5.0  # a black-holed connection is retried instead of eating the deadline
STARTUP_CHECK_TIMEOUT = 10.0  # seconds for the one call that checks the key and model
PROBLEMS_SHOWN = 8  # validation problems quoted back to Claude in the repair request
# An answer is 80 to 250 words (prompts/ask.md); 250 words of a wordy language stay far below this.
ASK_MAX_TOKENS = 1024
ASK_WORDS_MIN = 80
ASK_WORDS_MAX = 250
# What an answer is cut to when stored: 250 words are about 1,600 characters, and a card
# quoting the question and naming the concept must still fit in one Discord message.
ANSWER_MAX = 1800

# The placeholders each template is rendered with; tests/test_prompts.py checks the files.
SYSTEM_FIELDS = frozenset({"title_max", "summary_max", "detail_max"})
MAP_FIELDS = frozenset({"topic", "language", "concepts_min", "concepts_max"})
# What a prompt about one card quotes: the map's topic and language, and the card itself.
CARD_FIELDS = frozenset(
    {"topic", "language", "path", "concept_title", "concept_summary", "concept_detail"}
)
EXPAND_FIELDS = CARD_FIELDS | {"siblings", "children_min", "children_max"}
REPAIR_FIELDS = frozenset({"problems"})
ASK_SYSTEM_FIELDS = frozenset({"words_min", "words_max"})
ASK_FIELDS = CARD_FIELDS | {"subconcepts", "question", "words_min", "words_max"}
PROMPT_FIELDS: dict[str, frozenset[str]] = {
    "system": SYSTEM_FIELDS,
    "map": MAP_FIELDS,
    "expand": EXPAND_FIELDS,
    "repair": REPAIR_FIELDS,
    "ask_system": ASK_SYSTEM_FIELDS,
    "ask": ASK_FIELDS,
}

UNUSABLE = "Claude's answer could not be used; please try again."
MALFORMED = "Claude's answer arrived garbled, perhaps through a proxy; please try again."
TOO_LONG = "Claude's answer was cut off before it was complete; please try again."
TOO_SLOW = "Claude took too long to answer; please try again in a few minutes."
UNREACHABLE = "Claude could not be reached; please try again in a few minutes."
OVERLOADED = "Claude is overloaded right now; please try again in a few minutes."
RATE_LIMITED = "Claude's rate limit was reached; please try again in a minute."
KEY_REJECTED = "The bot's Anthropic API key was rejected; a bot admin needs to check it."
REJECTED = "Claude rejected the request; please try again later."
MAP_REFUSED = "Claude declined to map this topic."
EXPAND_REFUSED = "Claude declined to go deeper into this concept."
ASK_REFUSED = "Claude declined to answer this question."
EMPTY_ANSWER = "Claude's answer was empty; please try again."


def _json_schema(model: type[BaseModel], *, required: list[str] | None = None) -> dict[str, Any]:
    """The model's schema in the form the API accepts; length limits become hints.

    ``transform_schema`` moves ``maxLength``/``minItems`` into descriptions,
    so the answer is still cut and validated here after it arrives.
    """
    schema = anthropic.transform_schema(model)
    if required is not None:
        schema["required"] = required
    return schema


_MAP_SCHEMA = _json_schema(MapDraft)
# Defaults are optional in pydantic's schema; asking for both keeps Claude explicit about leaves.
_EXPANSION_SCHEMA = _json_schema(Expansion, required=["leaf", "concepts"])

# Model text may end up in a message's content, where these ping unless allowed mentions
# forbid it; a zero-width space after the "@" keeps them readable and inert anywhere.
_MENTION = re.compile(r"@(?=everyone|here)|<@", re.IGNORECASE)
ZERO_WIDTH_SPACE = "\u200b"
# Data goes inside <tags> in the prompts; these stand-ins keep it from closing a tag.
_TAG_QUOTES = str.maketrans({"<": "‹", ">": "›"})


class _Unusable(Exception):
    """An answer that failed validation; ``problems`` is what the repair request quotes."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class AnthropicGenerator:
    """``Generator`` on Claude through the official SDK, with structured JSON output.

    Every answer is cleaned (control characters, mentions), cut to the model's
    limits, stripped of repeated titles and validated; an invalid answer gets
    one repair request quoting the problems. The whole operation, SDK retries
    and the repair included, ends within ``settings.generation_deadline``.
    """

    def __init__(
        self, settings: Settings, prompts: Prompts, *, client: AsyncAnthropic | None = None
    ) -> None:
        prompts.require(PROMPT_FIELDS)
        self.model = settings.model
        self._prompts = prompts
        self._deadline = settings.generation_deadline
        self._owns_client = client is None
        if client is None:
            if settings.anthropic_api_key is None:
                raise ConfigError("ANTHROPIC_API_KEY is not set")
            client = AsyncAnthropic(
                api_key=settings.anthropic_api_key.get_secret_value(),
                base_url=settings.anthropic_base_url,
                max_retries=MAX_RETRIES,
                timeout=anthropic.Timeout(settings.generation_deadline, connect=CONNECT_TIMEOUT),
            )
        self._client = client
        system = prompts.render(
            "system", title_max=TITLE_MAX, summary_max=SUMMARY_MAX, detail_max=DETAIL_MAX
        )
        # Identical on every call, so it is the cached prefix.
        self._system: list[TextBlockParam] = [
            {"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}
        ]
        ask_system = prompts.render("ask_system", words_min=ASK_WORDS_MIN, words_max=ASK_WORDS_MAX)
        self._ask_system: list[TextBlockParam] = [
            {"type": "text", "text": ask_system, "cache_control": {"type": "ephemeral"}}
        ]

    async def check(self) -> str | None:
        """Why generation cannot work with this key and model, or None when it can.

        One cheap call (the model's description). A network problem or an API
        hiccup may pass, so it is only logged and generation stays on.
        """
        try:
            await self._client.with_options(
                max_retries=0, timeout=STARTUP_CHECK_TIMEOUT
            ).models.retrieve(self.model)
        except (anthropic.AuthenticationError, anthropic.PermissionDeniedError):
            return "the bot's Anthropic API key was rejected"
        except anthropic.NotFoundError:
            return f"the model {self.model} (KINAPSE_MODEL) is unknown to the Anthropic API"
        except anthropic.APIStatusError as exc:
            log.warning("Could not check the Anthropic key and model: HTTP %s", exc.status_code)
        except anthropic.APIConnectionError as exc:
            log.warning(
                "Could not reach the Anthropic API to check the key and model: %s",
                type(exc.__cause__ or exc).__name__,
            )
        return None

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.close()

    async def generate_map(self, topic: str, language: str) -> Generated[MapDraft]:
        prompt = self._prompts.render(
            "map",
            topic=_quote(topic),
            language=_quote(language),
            concepts_min=KEY_CONCEPTS_MIN,
            concepts_max=KEY_CONCEPTS_MAX,
        )
        return await self._generate(
            prompt,
            _MAP_SCHEMA,
            lambda answer: _map_draft(answer, topic),
            refused=MAP_REFUSED,
            what=f"map of {topic!r}",
        )

    async def expand(self, request: ExpandRequest) -> Generated[Expansion]:
        if not request.path:
            raise ValueError("ExpandRequest.path must end with the concept to expand")
        *ancestors, concept = request.path
        path = "\n".join(
            f"{depth}. {_quote(a.title)}: {_quote(a.summary)}"
            for depth, a in enumerate(ancestors, start=1)
        )
        siblings = "\n".join(f"- {_quote(title)}" for title in request.siblings)
        prompt = self._prompts.render(
            "expand",
            topic=_quote(request.topic),
            language=_quote(request.language),
            path=path or "(none: the concept is a key concept of the topic)",
            concept_title=_quote(concept.title),
            concept_summary=_quote(concept.summary),
            concept_detail=_quote(concept.detail),
            siblings=siblings or "(none)",
            children_min=CHILDREN_MIN,
            children_max=CHILDREN_MAX,
        )
        return await self._generate(
            prompt,
            _EXPANSION_SCHEMA,
            lambda answer: _expansion(answer, request),
            refused=EXPAND_REFUSED,
            what=f"expansion of {concept.title!r}",
        )

    async def ask(self, request: AskRequest, on_text: Progress | None = None) -> Generated[str]:
        prompt = self._prompts.render(
            "ask",
            topic=_quote(request.topic),
            language=_quote(request.language),
            path="\n".join(
                f"{depth}. {_quote(title)}" for depth, title in enumerate(request.path, start=1)
            )
            or "(none: the card is at the top of the map)",
            concept_title=_quote(request.title),
            concept_summary=_quote(request.summary),
            concept_detail=_quote(request.detail),
            subconcepts="\n".join(f"- {_quote(t)}" for t in request.subconcepts) or "(none)",
            question=_quote(request.question),
            words_min=ASK_WORDS_MIN,
            words_max=ASK_WORDS_MAX,
        )
        usage: list[Usage] = []
        written = ""
        try:
            async with asyncio.timeout(self._deadline):
                with _api_errors(usage):
                    async with self._client.messages.stream(
                        model=self.model,
                        max_tokens=ASK_MAX_TOKENS,
                        system=self._ask_system,
                        messages=[{"role": "user", "content": prompt}],
                    ) as stream:
                        async for delta in stream.text_stream:
                            written += delta
                            if on_text is not None:
                                await on_text(answer_text(written))
                        message = await stream.get_final_message()
        except TimeoutError:
            log.warning("An answer passed the %ss deadline", self._deadline)
            raise GenerationError(TOO_SLOW, usage=list(usage)) from None
        written = _checked(message, usage, self.model)
        # An answer cut off by the token limit is still an answer: it is cut cleanly below.
        _check_stop(message, usage, refused=ASK_REFUSED, cut_off=True)
        text = answer_text(written)
        if not text:
            raise GenerationError(EMPTY_ANSWER, usage=list(usage))
        return Generated(text, list(usage))

    async def _generate(
        self,
        prompt: str,
        schema: dict[str, Any],
        build: Callable[[str], T],
        *,
        refused: str,
        what: str,
    ) -> Generated[T]:
        """Ask, validate, and on an unusable answer ask once more quoting the problems."""
        usage: list[Usage] = []
        messages: list[MessageParam] = [{"role": "user", "content": prompt}]
        try:
            async with asyncio.timeout(self._deadline) as deadline:
                answer = await self._call(messages, schema, usage, deadline, refused=refused)
                try:
                    return Generated(build(answer), list(usage))
                except _Unusable as exc:
                    log.warning("Unusable %s, asking for a repair: %s", what, exc)
                    problems = exc.problems
                messages += [
                    # The API refuses an empty assistant turn.
                    {"role": "assistant", "content": answer or "(no answer)"},
                    {
                        "role": "user",
                        "content": self._prompts.render(
                            "repair", problems="\n".join(f"- {_quote(p)}" for p in problems)
                        ),
                    },
                ]
                answer = await self._call(messages, schema, usage, deadline, refused=refused)
                try:
                    return Generated(build(answer), list(usage))
                except _Unusable as exc:
                    log.warning("Unusable %s after a repair: %s", what, exc)
                    raise GenerationError(UNUSABLE, usage=list(usage)) from None
        except TimeoutError:
            log.warning("Generation of the %s passed the %ss deadline", what, self._deadline)
            raise GenerationError(TOO_SLOW, usage=list(usage)) from None

    async def _call(
        self,
        messages: list[MessageParam],
        schema: dict[str, Any],
        usage: list[Usage],
        deadline: asyncio.Timeout,
        *,
        refused: str,
    ) -> str:
        """One Messages API call (the SDK retries inside it); its text, or GenerationError."""
        when = deadline.when()
        assert when is not None
        # No attempt outlives the deadline; asyncio.timeout ends whatever the SDK's
        # retries would still add after a fast failure.
        left = max(when - asyncio.get_running_loop().time(), 0.001)
        with _api_errors(usage):
            message = await self._client.messages.create(
                model=self.model,
                max_tokens=MAX_TOKENS,
                system=self._system,
                messages=messages,
                output_config={"format": {"type": "json_schema", "schema": schema}},
                timeout=anthropic.Timeout(left, connect=min(CONNECT_TIMEOUT, left)),
            )
        text = _checked(message, usage, self.model)
        _check_stop(message, usage, refused=refused, cut_off=False)
        return text


# What the SDK raises reading a 200 that is not a Messages API answer: it does not
# validate what it parses, and its stream accumulator asserts on a missing message_start.
_UNREADABLE = (
    anthropic.APIResponseValidationError,
    json.JSONDecodeError,
    AssertionError,
    AttributeError,
    KeyError,
    TypeError,
)


@contextmanager
def _api_errors(usage: list[Usage]) -> Iterator[None]:
    """The SDK's errors as ``GenerationError`` with a message safe to show a user."""
    try:
        yield
    except anthropic.APITimeoutError:
        log.warning("Anthropic request timed out")
        raise GenerationError(TOO_SLOW, usage=list(usage)) from None
    except anthropic.APIConnectionError as exc:
        log.warning("Anthropic unreachable: %s", type(exc.__cause__ or exc).__name__)
        raise GenerationError(UNREACHABLE, usage=list(usage)) from None
    except anthropic.APIStatusError as exc:
        # The body is not logged or shown: it is the API's text, not ours.
        log.warning(
            "Anthropic answered HTTP %s (%s, request id %s)",
            exc.status_code,
            type(exc).__name__,
            exc.request_id,
        )
        raise GenerationError(_status_message(_status_of(exc)), usage=list(usage)) from None
    except _UNREADABLE as exc:
        # A 200 whose body is not the API's (a proxy's HTML page, an empty body, a stream
        # of events without a message): the SDK trips over it in one of these ways. Logged
        # with the traceback, since one of these could also be a bug of ours.
        log.warning("Anthropic answered with an unreadable body: %r", exc, exc_info=True)
        raise GenerationError(MALFORMED, usage=list(usage)) from None


def _checked(message: object, usage: list[Usage], model: str) -> str:
    """The answer's text, its usage appended to ``usage``; a malformed answer raises.

    The SDK builds its models without validating them: a proxy's "{}" arrives as a
    Message whose fields are all None, which must not become an AttributeError.
    """
    used = _usage(message, model)
    if used is not None:
        usage.append(used)
    text = _text(message)
    if used is None or text is None:
        log.warning("Anthropic answered 200 without a usable message (usage or content)")
        raise GenerationError(MALFORMED, usage=list(usage))
    return text


def _check_stop(message: Message, usage: list[Usage], *, refused: str, cut_off: bool) -> None:
    """Raise for an answer that must not be used; ``cut_off`` accepts one cut by a limit."""
    log.debug(
        "Anthropic call: stop %s, %s in / %s out tokens, cache %s read / %s written",
        message.stop_reason,
        usage[-1].input_tokens,
        usage[-1].output_tokens,
        usage[-1].cache_read_tokens,
        usage[-1].cache_write_tokens,
    )
    if message.stop_reason == "refusal":
        raise Refused(refused, usage=list(usage))
    if message.stop_reason in ("max_tokens", "model_context_window_exceeded"):
        if cut_off:
            return
        # A cut-off JSON answer is never used, not even the part that parses.
        raise GenerationError(TOO_LONG, usage=list(usage))
    if message.stop_reason not in ("end_turn", "stop_sequence"):
        log.warning("Unexpected stop reason %s", message.stop_reason)
        raise GenerationError(UNUSABLE, usage=list(usage))


# An error event in the middle of a stream arrives on an HTTP 200; its type says what it is.
_STREAM_ERROR_STATUS = {
    "authentication_error": 401,
    "permission_error": 403,
    "rate_limit_error": 429,
    "overloaded_error": 529,
}


def _status_of(exc: anthropic.APIStatusError) -> int:
    if exc.status_code >= 400:
        return exc.status_code
    error = exc.body.get("error") if isinstance(exc.body, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    return _STREAM_ERROR_STATUS.get(str(kind), 500)


def _status_message(status: int) -> str:
    if status in (401, 403):
        return KEY_REJECTED
    if status == 429:
        return RATE_LIMITED
    if status == 529 or status >= 500:
        return OVERLOADED
    if status == 408:
        return TOO_SLOW
    return REJECTED


def _usage(message: object, model: str) -> Usage | None:
    """The call's token usage, or None when the answer carries no readable one."""
    usage = getattr(message, "usage", None)
    counts = [
        getattr(usage, name, None)
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
        )
    ]
    if not all(isinstance(n, int) for n in counts[:2]) or not all(
        n is None or isinstance(n, int) for n in counts[2:]
    ):
        return None
    answered = getattr(message, "model", None)
    return Usage(
        model=answered if isinstance(answered, str) and answered else model,
        input_tokens=counts[0],
        output_tokens=counts[1],
        cache_read_tokens=counts[2] or 0,
        cache_write_tokens=counts[3] or 0,
    )


def _text(message: object) -> str | None:
    """The answer's text blocks joined, or None when its content is not a list of blocks."""
    content = getattr(message, "content", None)
    if not isinstance(content, list):
        return None
    return "".join(
        text
        for block in content
        if getattr(block, "type", None) == "text"
        and isinstance(text := getattr(block, "text", None), str)
    )


def _quote(text: str) -> str:
    """User or model text made safe to put between the prompts' data tags."""
    return text.translate(_TAG_QUOTES)


def defuse_mentions(text: str) -> str:
    """``@everyone``, ``@here`` and ``<@id>`` with a zero-width space after the "@"."""
    return _MENTION.sub(lambda m: m.group() + ZERO_WIDTH_SPACE, text)


def answer_text(text: str) -> str:
    """A model's plain-text answer cleaned, defused and cut to ``ANSWER_MAX``.

    Paragraphs stay apart by one blank line; Markdown is left to whoever shows it.
    """
    paragraphs = clean_text(text).split("\n")
    # After clean_text, which would drop the zero-width space as a format character.
    return shorten(defuse_mentions("\n\n".join(paragraphs)), ANSWER_MAX)


def _fit(value: object, limit: int, *, one_line: bool = False) -> object:
    """A model text cleaned, defused and cut to ``limit``; a non-string is left to validation."""
    if not isinstance(value, str):
        return value
    text = clean_text(value)
    if one_line:
        text = " ".join(text.split("\n"))
    # After clean_text, which would drop the zero-width space as a format character.
    return shorten(defuse_mentions(text), limit)


def _title_key(title: object) -> str | None:
    if not isinstance(title, str):
        return None
    return " ".join(title.casefold().split()).rstrip(".…")


def _concepts(value: object, seen: dict[str, str], notes: list[str], kind: str) -> object:
    """The answer's concepts, their texts fitted, minus those that repeat a title in ``seen``.

    ``seen`` maps a title key to how to name what it repeats ("the topic", ...).
    """
    if not isinstance(value, list):
        return value
    kept: list[object] = []
    for item in value:
        if not isinstance(item, dict):
            kept.append(item)
            continue
        concept = dict(item)
        for field_name, limit in (("title", TITLE_MAX), ("summary", SUMMARY_MAX)):
            if field_name in concept:
                concept[field_name] = _fit(concept[field_name], limit, one_line=True)
        if "detail" in concept:
            concept["detail"] = _fit(concept["detail"], DETAIL_MAX)
        key = _title_key(concept.get("title"))
        if key is not None and key in seen:
            notes.append(f"the {kind} {concept['title']!r} repeats {seen[key]}, so it was left out")
            continue
        if key is not None:
            seen[key] = f"another {kind}"
        kept.append(concept)
    return kept


def _load(answer: str) -> dict[str, Any]:
    try:
        data = json.loads(answer)
    except json.JSONDecodeError as exc:
        raise _Unusable(
            [f"the answer is not valid JSON ({exc.msg} at character {exc.pos})"]
        ) from None
    if not isinstance(data, dict):
        raise _Unusable(["the answer is not a JSON object"])
    return data


def _validate(model: type[M], data: dict[str, Any], notes: list[str]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or 'answer'}: {error['msg']}"
            for error in exc.errors(include_url=False)[:PROBLEMS_SHOWN]
        ]
        raise _Unusable(notes + problems) from None


def _map_draft(answer: str, topic: str) -> MapDraft:
    data = _load(answer)
    notes: list[str] = []
    if "overview" in data:
        data["overview"] = _fit(data["overview"], OVERVIEW_MAX)
    seen = {key: "the topic" for key in [_title_key(topic)] if key}
    if "concepts" in data:
        data["concepts"] = _concepts(data["concepts"], seen, notes, "key concept")
    return _validate(MapDraft, data, notes)


def _expansion(answer: str, request: ExpandRequest) -> Expansion:
    data = _load(answer)
    notes: list[str] = []
    if data.get("leaf") is True:
        # A leaf has no sub-concepts, whatever else came with it.
        data["concepts"] = []
    seen: dict[str, str] = {}
    names = [(request.topic, "the topic")]
    names += [(sibling, "a sibling") for sibling in request.siblings]
    names += [(ancestor.title, "an ancestor") for ancestor in request.path[:-1]]
    names.append((request.path[-1].title, "the concept being expanded"))
    for name, role in names:
        if key := _title_key(name):
            seen[key] = role
    if "concepts" in data:
        data["concepts"] = _concepts(data["concepts"], seen, notes, "sub-concept")
    return _validate(Expansion, data, notes)
