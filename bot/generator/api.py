"""The Anthropic API's side of a call: its failures, its stop reasons, its usage.

Every SDK or transport failure, every stop reason that must not be used and every
malformed 200 becomes a ``GenerationError`` with a message safe to show a user;
each call's token usage is read here, also from a stream that broke off.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import anthropic
import httpx2
from anthropic.types import Message

from bot.errors import GenerationError, Refused
from bot.generator.grounding import answer_blocks
from bot.i18n import N_
from bot.models import Usage

log = logging.getLogger(__name__)

UNUSABLE = N_("Claude's answer could not be used; please try again.")
MALFORMED = N_("Claude's answer arrived garbled, perhaps through a proxy; please try again.")
TOO_LONG = N_("Claude's answer was cut off before it was complete; please try again.")
TOO_SLOW = N_("Claude took too long to answer; please try again in a few minutes.")
UNREACHABLE = N_("Claude could not be reached; please try again in a few minutes.")
INTERRUPTED = N_("Claude's answer was interrupted; please try again.")
OVERLOADED = N_("Claude is overloaded right now; please try again in a few minutes.")
RATE_LIMITED = N_("Claude's rate limit was reached; please try again in a minute.")
KEY_REJECTED = N_("The bot's Anthropic API key was rejected; a bot admin needs to check it.")
REJECTED = N_("Claude rejected the request; please try again later.")


class SearchRejected(Exception):
    """The API refused a request because of its web search tool (not enabled for the
    organisation, or not for this model): the same call goes again without it."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


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


# What the API answers a request whose tool it will not run: 400 (invalid request) or
# 403 (a feature the organisation has not enabled).
SEARCH_REFUSED_STATUS = (400, 403)


@contextmanager
def _api_errors(usage: list[Usage], *, searching: bool = False) -> Iterator[None]:
    """The SDK's errors as ``GenerationError`` with a message safe to show a user; with
    ``searching`` (the request carries the web search tool), a 400 or 403 is
    ``SearchRejected``, so the call can go again without the tool."""
    try:
        yield
    except anthropic.APITimeoutError:
        log.warning("Anthropic request timed out")
        raise GenerationError(TOO_SLOW, usage=list(usage)) from None
    except anthropic.APIConnectionError as exc:
        log.warning("Anthropic unreachable: %s", type(exc.__cause__ or exc).__name__)
        raise GenerationError(UNREACHABLE, usage=list(usage)) from None
    except anthropic.APIStatusError as exc:
        if searching and exc.status_code in SEARCH_REFUSED_STATUS:
            log.warning(
                "Anthropic refused a request with the web search tool: HTTP %s (request id %s)",
                exc.status_code,
                exc.request_id,
            )
            raise SearchRejected(exc.status_code) from None
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
    searches = getattr(getattr(usage, "server_tool_use", None), "web_search_requests", None)
    return Usage(
        model=answered if isinstance(answered, str) and answered else model,
        input_tokens=counts[0],
        output_tokens=counts[1],
        cache_read_tokens=counts[2] or 0,
        cache_write_tokens=counts[3] or 0,
        web_searches=searches if isinstance(searches, int) else 0,
    )


def _text(message: object) -> str | None:
    """The answer's text: its text blocks after its last search (a turn that searched may
    say what it is about to do first), joined; None when its content is not a list."""
    if not isinstance(getattr(message, "content", None), list):
        return None
    return "".join(
        text
        for block in answer_blocks(message)
        if isinstance(text := getattr(block, "text", None), str)
    )
