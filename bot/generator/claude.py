"""``AnthropicGenerator``: the ``Generator`` that asks Claude through the official SDK.

The client, the calls and their streaming. What an answer becomes is in
``answers``, the sketches shown while it streams in ``sketches``, the API's
errors, stop reasons and usage in ``api``, the prompts' placeholders in
``prompting``; none of them imports this module.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import anthropic
from anthropic import AsyncAnthropic
from anthropic.types import Message, MessageParam, TextBlockParam

from bot.config import Settings
from bot.errors import ConfigError, GenerationError
from bot.generator.answers import (
    ANSWER_SCHEMA,
    _decided,
    _expansion,
    _map_answer,
    _Unusable,
    answer_text,
)
from bot.generator.api import (
    TOO_SLOW,
    UNUSABLE,
    _api_errors,
    _billed,
    _check_stop,
    _checked,
    _text,
)
from bot.generator.base import (
    AskRequest,
    Clock,
    ExpandRequest,
    Generated,
    OnSketch,
    Progress,
    QuizRequest,
    TranslateRequest,
)
from bot.generator.prompting import PROMPT_FIELDS, _outline, _quote
from bot.generator.quizzes import write_quiz
from bot.generator.sketches import _sketcher
from bot.generator.translating import _translation, translate_fields
from bot.i18n import N_
from bot.languages import for_model
from bot.models import (
    CHILDREN_MAX,
    CHILDREN_MIN,
    DETAIL_MAX,
    KEY_CONCEPTS_MAX,
    KEY_CONCEPTS_MIN,
    MEANINGS_MAX,
    MEANINGS_MIN,
    SUMMARY_MAX,
    TITLE_MAX,
    Expansion,
    Level,
    MapDraft,
    QuizDraft,
    Usage,
)
from bot.prompts import Prompts
from bot.text import unspaced_writing

log = logging.getLogger(__name__)

T = TypeVar("T")


MAX_TOKENS = 4096  # a 7-concept map with every text at its limit is about 2,500 tokens of JSON
MAX_RETRIES = 2  # the SDK's own retries of 408/409/429/5xx/529 and dropped connections
CONNECT_TIMEOUT = 5.0  # a black-holed connection is retried instead of eating the deadline
STARTUP_CHECK_TIMEOUT = 10.0  # seconds for the one call that checks the key and model
# An answer is 80 to 250 words (prompts/ask.md), or for a question in a writing without spaces
# between words as many characters as say about that much; in the scripts that cost the most
# tokens a character (Thai, Khmer...) that is about 1,500 tokens.
ASK_MAX_TOKENS = 2048
ASK_WORDS_MIN = 80
ASK_WORDS_MAX = 250
ASK_CHARACTERS = {
    "chinese": (150, 450),  # about 1.7 characters an English word says
    "japanese": (200, 600),  # kana make Japanese about 2.5 characters a word
    "thai": (400, 1200),  # Thai, Lao, Khmer and Burmese spell words out in letters
    "lao": (400, 1200),
    "khmer": (400, 1200),
    "burmese": (400, 1200),
}

MAP_REFUSED = N_("Claude declined to map this topic.")
EXPAND_REFUSED = N_("Claude declined to go deeper into this concept.")
ASK_REFUSED = N_("Claude declined to answer this question.")
EMPTY_ANSWER = N_("Claude's answer was empty; please try again.")
TRANSLATE_REFUSED = N_("Claude declined to translate this map.")


def answer_length(question: str) -> str:
    """How long an answer to ``question`` is, in the units of the writing it is asked in."""
    writing = unspaced_writing(question)
    if writing is None:
        return f"{ASK_WORDS_MIN} to {ASK_WORDS_MAX} words"
    low, high = ASK_CHARACTERS[writing]
    return f"{low} to {high} characters"


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
            return N_("the bot's Anthropic API key was rejected")
        except anthropic.NotFoundError:
            return N_(
                "the model {model} (KINAPSE_MODEL) is unknown to the Anthropic API",
                model=self.model,
            )
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
            language=_quote(for_model(language)),
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
            language=_quote(for_model(request.language)),
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

    async def translate(self, request: TranslateRequest) -> Generated[MapDraft]:
        prompt = self._prompts.render("translate", **translate_fields(request))
        return await self._generate(
            prompt,
            lambda answer, lenient: _translation(answer, request, lenient=lenient),
            refused=TRANSLATE_REFUSED,
            what=f"translation of {request.topic!r} into {request.language!r}",
            on_progress=None,
        )

    async def ask(self, request: AskRequest, on_text: Progress | None = None) -> Generated[str]:
        prompt = self._prompts.render(
            "ask",
            topic=_quote(request.topic),
            language=_quote(for_model(request.language)),
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
            length=answer_length(request.question),
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

    async def write_quiz(self, request: QuizRequest) -> Generated[list[QuizDraft | None]]:
        return await write_quiz(self, request)

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
        system: list[TextBlockParam] | None = None,
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
            system=system if system is not None else self.system,
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
