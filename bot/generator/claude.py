"""``AnthropicGenerator``: the ``Generator`` that asks Claude through the official SDK.

The client, the calls and their streaming. What an answer becomes is in
``answers``, the sketches shown while it streams in ``sketches``, the API's
errors, stop reasons and usage in ``api``, the prompts' placeholders in
``prompting``; none of them imports this module.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
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
    _refreshed,
    _Unusable,
    answer_text,
)
from bot.generator.api import (
    TOO_SLOW,
    UNUSABLE,
    SearchRejected,
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
    Material,
    OnSketch,
    Progress,
    QuizRequest,
    RefreshRequest,
    Search,
    TranslateRequest,
)
from bot.generator.documents import GROUNDED, DocumentCalls, MaterialCalls
from bot.generator.grounding import Grounding, as_params, search_tool, starts_search
from bot.generator.prompting import (
    ASK_WORDS_MAX,
    ASK_WORDS_MIN,
    PROMPT_FIELDS,
    _outline,
    _quote,
    answer_length,
    search_note,
    sources_list,
)
from bot.generator.quizzes import write_quiz
from bot.generator.sketches import _sketcher, search_sketcher
from bot.generator.translating import TRANSLATE_REFUSED, translate_fields, translation_of
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
    ConceptDraft,
    Expansion,
    Level,
    MapDraft,
    QuizDraft,
    Usage,
)
from bot.prompts import Prompts

log = logging.getLogger(__name__)

T = TypeVar("T")


MAX_TOKENS = 4096  # a 7-concept map with every text at its limit is about 2,500 tokens of JSON
MAX_RETRIES = 2  # the SDK's own retries of 408/409/429/5xx/529 and dropped connections
CONNECT_TIMEOUT = 5.0  # a black-holed connection is retried instead of eating the deadline
STARTUP_CHECK_TIMEOUT = 10.0  # seconds for the one call that checks the key and model
# An answer's length (prompting.answer_length) in Thai or Khmer is about 1,500 tokens.
ASK_MAX_TOKENS = 2048

# Searches one call may run (the tool's max_uses): each costs what SEARCH_TOKENS says, and
# its results are read as input tokens besides.
MAP_SEARCHES = 3
EXPAND_SEARCHES = 2
REFRESH_SEARCHES = 3
ASK_SEARCHES = 2
# A long turn the API pauses (stop reason pause_turn) is continued this many times at most.
PAUSES_CONTINUED = 2
# After the API refused the search tool (not enabled for the organisation), calls go
# without it for this long before trying it again.
SEARCH_REFUSED_PAUSE = 3600.0

MAP_REFUSED = N_("Claude declined to map this topic.")
EXPAND_REFUSED = N_("Claude declined to go deeper into this concept.")
REFRESH_REFUSED = N_("Claude declined to write this concept again.")
ASK_REFUSED = N_("Claude declined to answer this question.")
EMPTY_ANSWER = N_("Claude's answer was empty; please try again.")

OnText = Callable[[str], Awaitable[None] | None]
Render = Callable[[bool], str]  # the task's prompt, with search or without


class AnthropicGenerator(MaterialCalls):
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
        # Until when calls go without the search tool, after the API refused it.
        self._search_off_until = 0.0
        self.documents = DocumentCalls(self)  # calls grounded in a member's material

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
        return self._now().strftime("%-d %B %Y")

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _searching(self, search: Search | None) -> bool:
        """Whether this call carries the search tool: asked for, and not refused lately."""
        return search is not None and self._clock() >= self._search_off_until

    async def generate_map(
        self,
        topic: str,
        language: str,
        *,
        level: Level = Level.STANDARD,
        on_progress: OnSketch | None = None,
        search: Search | None = None,
        material: Material | None = None,
    ) -> Generated[MapDraft]:
        if material is not None:
            return await self.documents.generate_map(topic, language, level, on_progress, material)

        def render(searching: bool) -> str:
            return self._prompts.render(
                "map",
                today=self._today(),
                topic=_quote(topic),
                language=_quote(for_model(language)),
                level=level.value,
                search=_note(searching, MAP_SEARCHES, search),
            )

        return await self._generate(
            render,
            lambda answer, lenient, grounding: _map_answer(
                answer, topic, grounding, lenient=lenient
            ),
            refused=MAP_REFUSED,
            what=f"map of {topic!r}",
            on_progress=on_progress,
            search=search,
            searches=MAP_SEARCHES,
        )

    async def expand(
        self,
        request: ExpandRequest,
        *,
        on_progress: OnSketch | None = None,
        search: Search | None = None,
        material: Material | None = None,
    ) -> Generated[Expansion]:
        if not request.path:
            raise ValueError("ExpandRequest.path must end with the concept to expand")
        *ancestors, concept = request.path
        path = "\n".join(
            f"{depth}. {_quote(a.title)}: {_quote(a.summary)}"
            for depth, a in enumerate(ancestors, start=1)
        )
        siblings = "\n".join(f"- {_quote(title)}" for title in request.siblings)

        def render(searching: bool) -> str:
            return self._prompts.render(
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
                search=_note(searching, EXPAND_SEARCHES, search) if not material else GROUNDED,
            )

        if material is not None:
            return await self.documents.expand(request, render(False), material, on_progress)
        return await self._generate(
            render,
            lambda answer, lenient, grounding: _expansion(
                answer, request, grounding, lenient=lenient
            ),
            refused=EXPAND_REFUSED,
            what=f"expansion of {concept.title!r}",
            on_progress=on_progress,
            search=search,
            searches=EXPAND_SEARCHES,
        )

    async def refresh(
        self, request: RefreshRequest, *, search: Search | None = None
    ) -> Generated[ConceptDraft]:
        if not request.path:
            raise ValueError("RefreshRequest.path must end with the concept to refresh")
        *ancestors, concept = request.path

        def render(searching: bool) -> str:
            return self._prompts.render(
                "refresh",
                today=self._today(),
                topic=_quote(request.topic),
                language=_quote(for_model(request.language)),
                level=request.level.value,
                path="\n".join(
                    f"{depth}. {_quote(a.title)}" for depth, a in enumerate(ancestors, start=1)
                )
                or "(none: the concept is a key concept of the topic)",
                concept_title=_quote(concept.title),
                concept_summary=_quote(concept.summary),
                concept_detail=_quote(concept.detail),
                written=_quote(request.written),
                search=_note(searching, REFRESH_SEARCHES, search),
            )

        return await self._generate(
            render,
            lambda answer, lenient, grounding: _refreshed(
                answer, request, grounding, lenient=lenient
            ),
            refused=REFRESH_REFUSED,
            what=f"refresh of {concept.title!r}",
            on_progress=None,
            search=search,
            searches=REFRESH_SEARCHES,
        )

    async def ask(
        self,
        request: AskRequest,
        on_text: Progress | None = None,
        *,
        search: Search | None = None,
        material: Material | None = None,
    ) -> Generated[str]:
        def render(searching: bool) -> str:
            note = search_note(searching, ASK_SEARCHES, search.prefer if search else (), ask=True)
            return self._prompts.render(
                "ask",
                today=self._today(),
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
                provenance=_quote(request.provenance or "(not recorded)"),
                sources=sources_list(request.sources),
                question=_quote(request.question),
                length=answer_length(request.question),
                search=GROUNDED if material else note,
            )

        if material is not None:
            ask = (ASK_REFUSED, EMPTY_ANSWER, ASK_MAX_TOKENS)
            return await self.documents.ask(request, render(False), material, on_text, *ask)
        usage: list[Usage] = []
        grounding = Grounding(now=self._now())

        async def shown(written: str) -> None:
            if on_text is not None:
                await on_text(answer_text(written))

        try:
            async with asyncio.timeout(self._deadline) as deadline:
                message, _ = await self._call(
                    render,
                    usage,
                    deadline,
                    search=search,
                    searches=ASK_SEARCHES,
                    grounding=grounding,
                    system=self._ask_system,
                    max_tokens=ASK_MAX_TOKENS,
                    on_text=shown,
                )
        except TimeoutError:
            log.warning("An answer passed the %ss deadline", self._deadline)
            raise GenerationError(TOO_SLOW, usage=list(usage)) from None
        # An answer cut off by the token limit is still an answer: it is cut cleanly below.
        _check_stop(message, usage, refused=ASK_REFUSED, cut_off=True)
        text = answer_text(_text(message) or "")
        if not text:
            raise GenerationError(EMPTY_ANSWER, usage=list(usage))
        sources = grounding.cited(message)
        if grounding.results or grounding.failures:
            log.info("Answer grounded: %s; %d sources kept", grounding.summary(), len(sources))
        return Generated(text, list(usage), sources)

    async def write_quiz(self, request: QuizRequest) -> Generated[list[QuizDraft | None]]:
        return await write_quiz(self, request)

    async def translate(self, request: TranslateRequest) -> Generated[MapDraft]:
        return await self._generate(
            lambda searching: self._prompts.render("translate", **translate_fields(request)),
            translation_of(request),
            refused=TRANSLATE_REFUSED,
            what=f"translation of {request.topic!r} into {request.language!r}",
            on_progress=None,
        )

    async def _generate(
        self,
        render: Render,
        build: Callable[[str, bool, Grounding], T],
        *,
        refused: str,
        what: str,
        on_progress: OnSketch | None,
        search: Search | None = None,
        searches: int = 0,
    ) -> Generated[T]:
        """Ask, validate, and on an unusable answer ask once more quoting the problems.

        ``build(answer, lenient, grounding)`` turns the text into the value, its
        sources among what the search returned; on the repaired answer (``lenient``) it
        cuts what is too long instead of objecting. The repair goes without the search
        tool: the results of the first call are still the ones its sources may name.
        """
        usage: list[Usage] = []
        grounding = Grounding(now=self._now())
        on_text = _sketcher(on_progress) if on_progress is not None else None
        on_search = search_sketcher(on_progress) if on_progress is not None else None
        try:
            async with asyncio.timeout(self._deadline) as deadline:
                message, prompt = await self._call(
                    render,
                    usage,
                    deadline,
                    search=search,
                    searches=searches,
                    grounding=grounding,
                    output_config=_STRUCTURED,
                    on_text=on_text,
                    on_search=on_search,
                )
                answer = self._answer(message, usage, refused)
                try:
                    value = _decided(build, answer, False, refused, usage, grounding)
                    return self._grounded(value, usage, grounding, what)
                except _Unusable as exc:
                    log.warning("Unusable %s, asking for a repair: %s", what, exc)
                    problems = exc.problems
                messages: list[MessageParam] = [
                    {"role": "user", "content": prompt},
                    # The API refuses an empty assistant turn.
                    {"role": "assistant", "content": answer or "(no answer)"},
                    {
                        "role": "user",
                        "content": self._prompts.render(
                            "repair", problems="\n".join(f"- {_quote(p)}" for p in problems)
                        ),
                    },
                ]
                message = await self.stream(
                    messages, usage, deadline, output_config=_STRUCTURED, on_text=on_text
                )
                answer = self._answer(message, usage, refused)
                try:
                    value = _decided(build, answer, True, refused, usage, grounding)
                    return self._grounded(value, usage, grounding, what)
                except _Unusable as exc:
                    log.warning("Unusable %s after a repair: %s", what, exc)
                    raise GenerationError(UNUSABLE, usage=list(usage)) from None
        except TimeoutError:
            log.warning("Generation of the %s passed the %ss deadline", what, self._deadline)
            raise GenerationError(TOO_SLOW, usage=list(usage)) from None

    @staticmethod
    def _grounded(value: T, usage: list[Usage], grounding: Grounding, what: str) -> Generated[T]:
        if grounding.results or grounding.failures or grounding.dropped:
            log.info("The %s was grounded: %s", what, grounding.summary())
        return Generated(value, list(usage))

    @staticmethod
    def _answer(message: Message, usage: list[Usage], refused: str) -> str:
        """A structured call's text, or GenerationError for every stop but the end."""
        _check_stop(message, usage, refused=refused, cut_off=False)
        return _text(message) or ""

    async def _call(
        self,
        render: Render,
        usage: list[Usage],
        deadline: asyncio.Timeout,
        *,
        search: Search | None,
        searches: int,
        grounding: Grounding,
        **options: Any,
    ) -> tuple[Message, str]:
        """One answer to the task ``render`` writes, and the prompt it answered: with the
        search tool when asked for and allowed, made again without it if the API refuses
        the tool, and continued while the API pauses a long turn (``pause_turn``). What
        the searches returned is taken into ``grounding``."""
        searching = self._searching(search)
        messages: list[MessageParam] = [{"role": "user", "content": render(searching)}]
        tools = [search_tool(search, searches)] if searching and search is not None else None
        try:
            message = await self.stream(messages, usage, deadline, tools=tools, **options)
        except SearchRejected:
            # Not enabled for the organisation (or the model): on without it for a while.
            self._search_off_until = self._clock() + SEARCH_REFUSED_PAUSE
            tools = None
            messages = [{"role": "user", "content": render(False)}]
            message = await self.stream(messages, usage, deadline, **options)
        grounding.read(message)
        for _ in range(PAUSES_CONTINUED):
            if message.stop_reason != "pause_turn":
                break
            messages = [*messages, {"role": "assistant", "content": as_params(message.content)}]
            message = await self.stream(messages, usage, deadline, tools=tools, **options)
            grounding.read(message)
        return message, str(messages[0]["content"])

    async def stream(
        self,
        messages: list[MessageParam],
        usage: list[Usage],
        deadline: asyncio.Timeout,
        *,
        output_config: Any = anthropic.omit,
        on_text: OnText | None = None,
        on_search: Callable[[], None] | None = None,
        max_tokens: int = MAX_TOKENS,
        system: list[TextBlockParam] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> Message:
        """One streamed Messages API call (the SDK retries its start); the final message.

        ``on_text`` gets the answer's whole text so far (after any search) after each
        piece; ``on_search`` is called as each web search starts. Usage is appended to
        ``usage``, also for a stream that breaks off. Every SDK or transport failure
        becomes a ``GenerationError`` with a user-safe message here, the one place that
        maps them; a refused search tool is ``SearchRejected``.
        """
        when = deadline.when()
        assert when is not None
        # No attempt outlives the deadline; asyncio.timeout ends whatever the SDK's
        # retries would still add after a fast failure.
        left = max(when - asyncio.get_running_loop().time(), 0.001)
        manager = self._client.messages.stream(
            model=self.model,
            max_tokens=max_tokens,
            system=self.system if system is None else system,
            messages=messages,
            output_config=output_config,
            tools=tools if tools else anthropic.omit,  # type: ignore[arg-type]
            timeout=anthropic.Timeout(left, connect=min(CONNECT_TIMEOUT, left)),
        )
        started: anthropic.AsyncMessageStream | None = None
        try:
            with _api_errors(usage, searching=bool(tools)):
                async with manager as stream:
                    started = stream
                    async for event in stream:
                        if event.type == "text" and on_text is not None:
                            shown = on_text(_text(stream.current_message_snapshot) or "")
                            if inspect.isawaitable(shown):
                                await shown
                        elif on_search is not None and starts_search(event):
                            on_search()
                    message = await stream.get_final_message()
        except GenerationError as exc:
            # What a stream that broke off had already reported is billed all the same.
            exc.usage = _billed(started, usage)
            raise
        _checked(message, usage, self.model)
        return message


_STRUCTURED = {"format": {"type": "json_schema", "schema": ANSWER_SCHEMA}}


def _note(searching: bool, uses: int, search: Search | None) -> str:
    return search_note(searching, uses, search.prefer if search else ())
