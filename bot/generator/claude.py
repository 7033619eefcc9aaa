"""``AnthropicGenerator``: the ``Generator`` that asks Claude through the official SDK."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import anthropic
import httpx2
import jiter
from anthropic import AsyncAnthropic
from anthropic.types import Message, MessageParam, TextBlockParam
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from bot.config import Settings
from bot.errors import Ambiguous, ConfigError, GenerationError, Refused, UnknownTopic
from bot.generator import (
    AskRequest,
    Clock,
    ExpandRequest,
    Generated,
    OnSketch,
    OutlineNode,
    Progress,
    Sketch,
    SketchConcept,
)
from bot.models import (
    CHILDREN_MAX,
    CHILDREN_MIN,
    DETAIL_MAX,
    DETAIL_SENTENCES,
    KEY_CONCEPTS_MAX,
    KEY_CONCEPTS_MIN,
    MEANINGS_MAX,
    MEANINGS_MIN,
    OVERVIEW_MAX,
    OVERVIEW_SENTENCES,
    SUMMARY_MAX,
    SUMMARY_SENTENCES,
    TITLE_MAX,
    TOPIC_MAX,
    ConceptDraft,
    Expansion,
    Level,
    MapDraft,
    Meaning,
    Usage,
)
from bot.prompts import Prompts
from bot.text import (
    clean_text,
    count_sentences,
    defuse_mentions,
    shorten,
    width,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


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
SYSTEM_FIELDS = frozenset(
    {
        "title_max",
        "summary_max",
        "detail_max",
        "concepts_min",
        "concepts_max",
        "children_min",
        "children_max",
        "meanings_min",
        "meanings_max",
    }
)
MAP_FIELDS = frozenset({"today", "topic", "language", "level"})
# What a prompt about one card quotes: the map's topic and language, and the card itself.
CARD_FIELDS = frozenset(
    {"topic", "language", "path", "concept_title", "concept_summary", "concept_detail"}
)
EXPAND_FIELDS = CARD_FIELDS | {"today", "level", "outline", "siblings"}
REPAIR_FIELDS = frozenset({"problems"})
ASK_SYSTEM_FIELDS = frozenset({"words_min", "words_max"})
ASK_FIELDS = CARD_FIELDS | {"level", "subconcepts", "question", "words_min", "words_max"}
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
INTERRUPTED = "Claude's answer was interrupted; please try again."
OVERLOADED = "Claude is overloaded right now; please try again in a few minutes."
RATE_LIMITED = "Claude's rate limit was reached; please try again in a minute."
KEY_REJECTED = "The bot's Anthropic API key was rejected; a bot admin needs to check it."
REJECTED = "Claude rejected the request; please try again later."
MAP_REFUSED = "Claude declined to map this topic."
EXPAND_REFUSED = "Claude declined to go deeper into this concept."
ASK_REFUSED = "Claude declined to answer this question."
EMPTY_ANSWER = "Claude's answer was empty; please try again."
UNKNOWN = (
    "Claude doesn't know this topic well enough to map it (it may be made up, too obscure or "
    "misspelled), so nothing was saved. Try another name for it."
)
AMBIGUOUS = "This topic has several meanings: {meanings}. Explore the one you mean."


# -- the answer format: one schema for every call ------------------------------
#
# Map and expansion calls share one output schema (a union tagged by "kind"), so
# the whole prefix the API caches (system prompt and schema) is identical on every
# call: a different schema per task would miss the cache on every switch.


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MapAnswer(Answer):
    kind: Literal["map"]
    title: str
    overview: str
    concepts: list[ConceptDraft]


class MeaningsAnswer(Answer):
    kind: Literal["meanings"]
    meanings: list[Meaning]


class SubConceptsAnswer(Answer):
    kind: Literal["subconcepts"]
    concepts: list[ConceptDraft]


class LeafAnswer(Answer):
    kind: Literal["leaf"]


class UnknownAnswer(Answer):
    kind: Literal["unknown"]


class DeclinedAnswer(Answer):
    kind: Literal["declined"]


# transform_schema moves maxLength/minItems into descriptions: the answer is
# checked here after it arrives, whatever the schema could say.
ANSWER_SCHEMA: dict[str, Any] = anthropic.transform_schema(
    TypeAdapter(
        MapAnswer | MeaningsAnswer | SubConceptsAnswer | LeafAnswer | UnknownAnswer | DeclinedAnswer
    ).json_schema()
)
MAP_KINDS = ("map", "meanings", "unknown", "declined")
EXPAND_KINDS = ("subconcepts", "leaf", "declined")

# Data goes inside <tags> in the prompts; these stand-ins keep it from closing a tag.
_TAG_QUOTES = str.maketrans({"<": "‹", ">": "›"})
# What Markdown looks like in a text meant to be plain: emphasis, code, headings,
# list items, links. Cards show text as it is, so these would show as symbols.
_MARKDOWN = re.compile(
    r"\*\*|__|`|\[[^\]\n]+\]\([^)\n]*\)|^\s{0,3}(?:#{1,6}\s|[-*+]\s|\d+[.)]\s)", re.MULTILINE
)


class _Unusable(Exception):
    """An answer that failed validation; ``problems`` is what the repair request quotes."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class AnthropicGenerator:
    """``Generator`` on Claude through the official SDK, streaming structured JSON output.

    Every answer is cleaned (control characters, mentions), stripped of repeated
    titles, validated, and checked for what the schema cannot say (sentences,
    Markdown, lengths); a failed answer gets one repair request quoting the
    problems, after which only lengths are cut. The whole operation, SDK retries
    and the repair included, ends within ``settings.generation_deadline``.
    """

    def __init__(
        self,
        settings: Settings,
        prompts: Prompts,
        *,
        client: AsyncAnthropic | None = None,
        clock: Clock = time.time,
    ) -> None:
        prompts.require(PROMPT_FIELDS)
        self.model = settings.model
        self._prompts = prompts
        self._deadline = settings.generation_deadline
        self._clock = clock
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
            "system",
            title_max=TITLE_MAX,
            summary_max=SUMMARY_MAX,
            detail_max=DETAIL_MAX,
            concepts_min=KEY_CONCEPTS_MIN,
            concepts_max=KEY_CONCEPTS_MAX,
            children_min=CHILDREN_MIN,
            children_max=CHILDREN_MAX,
            meanings_min=MEANINGS_MIN,
            meanings_max=MEANINGS_MAX,
        )
        # Identical on every call (the date and the data go in the task message), so
        # with the shared schema it is the cached prefix.
        self.system: list[TextBlockParam] = [
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

    def _today(self) -> str:
        return datetime.fromtimestamp(self._clock(), UTC).strftime("%-d %B %Y")

    async def generate_map(
        self,
        topic: str,
        language: str,
        *,
        level: Level = Level.STANDARD,
        on_progress: OnSketch | None = None,
    ) -> Generated[MapDraft]:
        prompt = self._prompts.render(
            "map",
            today=self._today(),
            topic=_quote(topic),
            language=_quote(language),
            level=level.value,
        )
        return await self._generate(
            prompt,
            lambda answer, lenient: _map_answer(answer, topic, lenient=lenient),
            refused=MAP_REFUSED,
            what=f"map of {topic!r}",
            on_progress=on_progress,
        )

    async def expand(
        self, request: ExpandRequest, *, on_progress: OnSketch | None = None
    ) -> Generated[Expansion]:
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
            today=self._today(),
            topic=_quote(request.topic),
            language=_quote(request.language),
            level=request.level.value,
            outline=_outline(request.outline) or "(no outline)",
            path=path or "(none: the concept is a key concept of the topic)",
            concept_title=_quote(concept.title),
            concept_summary=_quote(concept.summary),
            concept_detail=_quote(concept.detail),
            siblings=siblings or "(none)",
        )
        return await self._generate(
            prompt,
            lambda answer, lenient: _expansion(answer, request, lenient=lenient),
            refused=EXPAND_REFUSED,
            what=f"expansion of {concept.title!r}",
            on_progress=on_progress,
        )

    async def ask(self, request: AskRequest, on_text: Progress | None = None) -> Generated[str]:
        prompt = self._prompts.render(
            "ask",
            topic=_quote(request.topic),
            language=_quote(request.language),
            level=request.level.value,
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
        build: Callable[[str, bool], T],
        *,
        refused: str,
        what: str,
        on_progress: OnSketch | None,
    ) -> Generated[T]:
        """Ask, validate, and on an unusable answer ask once more quoting the problems.

        ``build(answer, lenient)`` turns the text into the value; on the repaired
        answer (``lenient``) it cuts what is too long instead of objecting.
        """
        usage: list[Usage] = []
        messages: list[MessageParam] = [{"role": "user", "content": prompt}]
        on_text = _sketcher(on_progress) if on_progress is not None else None
        try:
            async with asyncio.timeout(self._deadline) as deadline:
                answer = await self._answer(messages, usage, deadline, refused, on_text)
                try:
                    return Generated(_decided(build, answer, False, refused, usage), list(usage))
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
                answer = await self._answer(messages, usage, deadline, refused, on_text)
                try:
                    return Generated(_decided(build, answer, True, refused, usage), list(usage))
                except _Unusable as exc:
                    log.warning("Unusable %s after a repair: %s", what, exc)
                    raise GenerationError(UNUSABLE, usage=list(usage)) from None
        except TimeoutError:
            log.warning("Generation of the %s passed the %ss deadline", what, self._deadline)
            raise GenerationError(TOO_SLOW, usage=list(usage)) from None

    async def _answer(
        self,
        messages: list[MessageParam],
        usage: list[Usage],
        deadline: asyncio.Timeout,
        refused: str,
        on_text: Callable[[str], None] | None,
    ) -> str:
        """One structured call: the answer's text, or GenerationError for every stop but the end."""
        message = await self.stream(
            messages,
            usage,
            deadline,
            output_config={"format": {"type": "json_schema", "schema": ANSWER_SCHEMA}},
            on_text=on_text,
        )
        _check_stop(message, usage, refused=refused, cut_off=False)
        return _text(message) or ""

    async def stream(
        self,
        messages: list[MessageParam],
        usage: list[Usage],
        deadline: asyncio.Timeout,
        *,
        output_config: Any = anthropic.omit,
        on_text: Callable[[str], None] | None = None,
        max_tokens: int = MAX_TOKENS,
    ) -> Message:
        """One streamed Messages API call (the SDK retries its start); the final message.

        ``on_text`` gets the whole text so far after each piece. Usage is appended
        to ``usage``, also for a stream that breaks off. Every SDK or transport
        failure becomes a ``GenerationError`` with a user-safe message here, the
        one place that maps them.
        """
        when = deadline.when()
        assert when is not None
        # No attempt outlives the deadline; asyncio.timeout ends whatever the SDK's
        # retries would still add after a fast failure.
        left = max(when - asyncio.get_running_loop().time(), 0.001)
        manager = self._client.messages.stream(
            model=self.model,
            max_tokens=max_tokens,
            system=self.system,
            messages=messages,
            output_config=output_config,
            timeout=anthropic.Timeout(left, connect=min(CONNECT_TIMEOUT, left)),
        )
        started: anthropic.AsyncMessageStream | None = None
        try:
            with _api_errors(usage):
                async with manager as stream:
                    started = stream
                    async for event in stream:
                        if event.type == "text" and on_text is not None:
                            on_text(event.snapshot)
                    message = await stream.get_final_message()
        except GenerationError as exc:
            # What a stream that broke off had already reported is billed all the same.
            exc.usage = _billed(started, usage)
            raise
        _checked(message, usage, self.model)
        return message


def _decided(
    build: Callable[[str, bool], T], answer: str, lenient: bool, refused: str, usage: list[Usage]
) -> T:
    """``build``'s value; an answer that declines or names no known topic ends here."""
    kind = _kind(answer)
    if kind == "declined":
        raise Refused(refused, usage=list(usage))
    if kind == "unknown":
        raise UnknownTopic(UNKNOWN, usage=list(usage))
    value = build(answer, lenient)
    if isinstance(value, list):  # the meanings of an ambiguous topic
        titles = "; ".join(meaning.title for meaning in value)
        raise Ambiguous(AMBIGUOUS.format(meanings=titles), value, usage=list(usage))
    return value


def _kind(answer: str) -> str | None:
    try:
        data = json.loads(answer)
    except json.JSONDecodeError:
        return None
    return data.get("kind") if isinstance(data, dict) else None


def _billed(stream: anthropic.AsyncMessageStream | None, usage: list[Usage]) -> list[Usage]:
    """``usage`` plus what a stream that broke off had already reported (it is billed)."""
    if stream is None:
        return list(usage)
    try:
        snapshot = stream.current_message_snapshot
    except Exception:  # no message_start yet: nothing was reported
        return list(usage)
    used = _usage(snapshot, snapshot.model)
    return [*usage, used] if used is not None else list(usage)


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
    except httpx2.TransportError as exc:
        # A stream that broke off after it began: the SDK does not retry those.
        log.warning("Anthropic stream interrupted: %s", type(exc).__name__)
        raise GenerationError(INTERRUPTED, usage=list(usage)) from None
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


def _outline(nodes: Sequence[OutlineNode], depth: int = 0) -> str:
    """Titles only, indented under their parents; the path and the target marked."""
    lines = []
    for node in nodes:
        mark = ""
        if node.on_path:
            # The concept to expand is the deepest node on the path.
            deepest = not any(child.on_path for child in node.children)
            mark = " (break this down)" if deepest else " (path)"
        lines.append(f"{'  ' * depth}- {_quote(node.title)}{mark}")
        if node.children:
            lines.append(_outline(node.children, depth + 1))
    return "\n".join(lines)


def answer_text(text: str) -> str:
    """A model's plain-text answer cleaned, defused and cut to ``ANSWER_MAX``.

    Paragraphs stay apart by one blank line; Markdown is left to whoever shows it.
    """
    paragraphs = clean_text(text).split("\n")
    # After clean_text, which would drop the zero-width space as a format character.
    return shorten(defuse_mentions("\n\n".join(paragraphs)), ANSWER_MAX)


# -- reading a streaming answer ------------------------------------------------


def _sketcher(on_progress: OnSketch) -> Callable[[str], None]:
    """A text callback that reports each new sketch of the answer once."""
    last = Sketch()

    def on_text(snapshot: str) -> None:
        nonlocal last
        sketch = sketch_of(snapshot)
        if sketch is not None and sketch != last:
            last = sketch
            on_progress(sketch)

    return on_text


def sketch_of(snapshot: str) -> Sketch | None:
    """The complete texts of a partial JSON answer; None if it has nothing to show yet.

    jiter's trailing-strings mode keeps the last, unfinished string too; structured
    output writes properties in the schema's order, so a text is complete once the
    next property has begun (a summary once its concept's "detail" has).
    """
    try:
        data = jiter.from_json(snapshot.encode(), partial_mode="trailing-strings")
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("kind") not in ("map", "subconcepts"):
        return None
    title = data.get("title") if "overview" in data else None
    overview = data.get("overview") if "concepts" in data else None
    concepts = []
    for item in data.get("concepts") or []:
        if not isinstance(item, dict) or "detail" not in item:
            break
        title_text, summary = item.get("title"), item.get("summary")
        if not isinstance(title_text, str) or not isinstance(summary, str):
            break
        concepts.append(
            SketchConcept(
                _plain(title_text, TITLE_MAX, one_line=True),
                _plain(summary, SUMMARY_MAX, one_line=True),
            )
        )
    return Sketch(
        title=_plain(title, TOPIC_MAX, one_line=True) if isinstance(title, str) else None,
        overview=_plain(overview, OVERVIEW_MAX) if isinstance(overview, str) else None,
        concepts=tuple(concepts),
    )


def _plain(text: str, limit: int, *, one_line: bool = False) -> str:
    """A model text cleaned, defused and cut to ``limit``."""
    text = clean_text(text)
    if one_line:
        text = " ".join(text.split("\n"))
    # After clean_text, which would drop the zero-width space as a format character.
    return shorten(defuse_mentions(text), limit)


# -- checking a whole answer ---------------------------------------------------


class _Checker:
    """Fits an answer's texts and collects what the schema could not check.

    ``soft`` problems (too long, wrong number of sentences, Markdown) send the
    first answer back for a repair; on the repaired one they are tolerated and
    over-long texts are cut. ``notes`` explain concepts left out as repeats.
    """

    def __init__(self) -> None:
        self.soft: list[str] = []
        self.notes: list[str] = []

    def fit(
        self,
        value: object,
        where: str,
        limit: int,
        *,
        one_line: bool = False,
        sentences: tuple[int, int] | None = None,
    ) -> object:
        if not isinstance(value, str):
            return value  # left to validation
        text = _plain(value, limit, one_line=one_line)
        cleaned = clean_text(value)
        if (length := width(cleaned)) > limit:
            self.soft.append(f"{where} is {length} characters long; the limit is {limit}")
        if _MARKDOWN.search(cleaned):
            self.soft.append(f"{where} uses Markdown; write plain prose")
        if sentences is not None:
            count = count_sentences(cleaned)
            low, high = sentences
            if not low <= count <= high:
                wanted = f"exactly {low}" if low == high else f"{low} to {high}"
                written = "1 sentence" if count == 1 else f"{count} sentences"
                self.soft.append(f"{where} has {written}; write {wanted}")
        return text

    def concepts(self, value: object, seen: dict[str, str], kind: str) -> object:
        """The answer's concepts, their texts fitted, minus those that repeat a title in ``seen``.

        ``seen`` maps a title key to how to name what it repeats ("the topic", ...).
        """
        if not isinstance(value, list):
            return value
        kept: list[object] = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                kept.append(item)
                continue
            concept = dict(item)
            where = f"concepts.{index}"
            if "title" in concept:
                concept["title"] = self.fit(
                    concept["title"], f"{where}.title", TITLE_MAX, one_line=True
                )
            if "summary" in concept:
                concept["summary"] = self.fit(
                    concept["summary"],
                    f"{where}.summary",
                    SUMMARY_MAX,
                    one_line=True,
                    sentences=SUMMARY_SENTENCES,
                )
            if "detail" in concept:
                concept["detail"] = self.fit(
                    concept["detail"], f"{where}.detail", DETAIL_MAX, sentences=DETAIL_SENTENCES
                )
            key = _title_key(concept.get("title"))
            if key is not None and key in seen:
                self.notes.append(
                    f"the {kind} {concept['title']!r} repeats {seen[key]}, so it was left out"
                )
                continue
            if key is not None:
                seen[key] = f"another {kind}"
            kept.append(concept)
        return kept

    def validate(self, model: type[M], data: dict[str, Any], *, lenient: bool) -> M:
        try:
            value = model.model_validate(data)
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(part) for part in error['loc']) or 'answer'}: {error['msg']}"
                for error in exc.errors(include_url=False)
            ]
            raise _Unusable((self.notes + problems + self.soft)[:PROBLEMS_SHOWN]) from None
        if self.soft and not lenient:
            raise _Unusable((self.notes + self.soft)[:PROBLEMS_SHOWN])
        if self.soft:
            log.info("Kept a repaired answer despite: %s", "; ".join(self.soft))
        return value


def _title_key(title: object) -> str | None:
    if not isinstance(title, str):
        return None
    return " ".join(title.casefold().split()).rstrip(".…")


def _load(answer: str, kinds: tuple[str, ...]) -> dict[str, Any]:
    try:
        data = json.loads(answer)
    except json.JSONDecodeError as exc:
        raise _Unusable(
            [f"the answer is not valid JSON ({exc.msg} at character {exc.pos})"]
        ) from None
    if not isinstance(data, dict):
        raise _Unusable(["the answer is not a JSON object"])
    if data.get("kind") not in kinds:
        wanted = ", ".join(f'"{kind}"' for kind in kinds)
        raise _Unusable([f"kind: this task is answered with a kind of {wanted}"])
    return data


def _map_answer(answer: str, topic: str, *, lenient: bool) -> MapDraft | list[Meaning]:
    """The map, or the meanings of an ambiguous topic."""
    data = _load(answer, MAP_KINDS)
    check = _Checker()
    if data.pop("kind") == "meanings":
        meanings = data.get("meanings")
        if isinstance(meanings, list):
            for index, item in enumerate(meanings):
                if isinstance(item, dict):
                    where = f"meanings.{index}"
                    item["title"] = check.fit(item.get("title"), f"{where}.title", TOPIC_MAX)
                    item["line"] = check.fit(item.get("line"), f"{where}.line", SUMMARY_MAX)
            if not MEANINGS_MIN <= len(meanings) <= MEANINGS_MAX:
                check.soft.append(f"meanings: give {MEANINGS_MIN} to {MEANINGS_MAX} meanings")
        return check.validate(_Meanings, data, lenient=lenient).meanings
    if "title" in data:
        data["title"] = check.fit(data["title"], "title", TOPIC_MAX, one_line=True)
    if "overview" in data:
        data["overview"] = check.fit(
            data["overview"], "overview", OVERVIEW_MAX, sentences=OVERVIEW_SENTENCES
        )
    seen = {key: "the topic" for key in {_title_key(topic), _title_key(data.get("title"))} if key}
    if "concepts" in data:
        data["concepts"] = check.concepts(data["concepts"], seen, "key concept")
    return check.validate(MapDraft, data, lenient=lenient)


class _Meanings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meanings: list[Meaning]


def _expansion(answer: str, request: ExpandRequest, *, lenient: bool) -> Expansion:
    data = _load(answer, EXPAND_KINDS)
    if data["kind"] == "leaf":
        # A leaf has no sub-concepts, whatever else came with it.
        return Expansion(leaf=True)
    check = _Checker()
    seen: dict[str, str] = {}
    names = [(request.topic, "the topic")]
    names += [(title, "a concept elsewhere in the map") for title in _titles(request.outline)]
    names += [(sibling, "a sibling") for sibling in request.siblings]
    names += [(ancestor.title, "an ancestor") for ancestor in request.path[:-1]]
    names.append((request.path[-1].title, "the concept being expanded"))
    for name, role in names:
        if key := _title_key(name):
            seen[key] = role
    concepts = check.concepts(data.get("concepts"), seen, "sub-concept")
    return check.validate(Expansion, {"leaf": False, "concepts": concepts}, lenient=lenient)


def _titles(nodes: Sequence[OutlineNode]) -> list[str]:
    return [title for node in nodes for title in (node.title, *_titles(node.children))]
