"""Grounding by the Anthropic API's web search tool: the tool a call carries, what the
search returned, and which of it a map's concepts or an answer may keep as sources.

The API runs the searches itself (``server_tool_use`` blocks) and returns what they found
(``web_search_tool_result`` blocks: results, or an error code such as ``unavailable`` or
``max_uses_exceeded``). A source is only ever one of those results, with the URL and
title as the API returned them: a structured answer names the results that support each
concept (its ``sources``), and any URL it names that is not among them is dropped; a
plain-text answer's citations (``web_search_result_location``) are kept when they point
at a returned result. Nothing the model wrote itself becomes a link.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError

from bot.generator.base import Search
from bot.models import CITATION_QUOTE_MAX, CITATION_TITLE_MAX, Citation
from bot.text import shorten

log = logging.getLogger(__name__)

# The basic tool: Claude searches, the API returns encrypted results Claude reads. (The
# 2026 version filters results with code execution, a second tool we do not need.)
WEB_SEARCH_TOOL = "web_search_20250305"
WEB_SEARCH_NAME = "web_search"
SOURCES_PER_CONCEPT = 3  # results a concept keeps; the schema asks for at most as many
SOURCES_PER_ANSWER = 5
# Blocks after which a turn's own text begins: the answer is the text after the last one.
TOOL_BLOCKS = frozenset({"server_tool_use", "web_search_tool_result"})
# How the API dates a result ("page_age"): a few forms, else no date.
_PAGE_AGE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%Y-%m-%d")
_ISO_START = re.compile(r"\d{4}-\d{2}-\d{2}")
# "3 days ago", "an hour ago": as some results give their age.
_AGO = re.compile(r"(an?|\d{1,4})\s+(minute|hour|day|week|month|year)s?\s+ago", re.IGNORECASE)


def search_tool(search: Search, max_uses: int) -> dict[str, Any]:
    """The tool definition a request carries; ``block`` domains never appear in results."""
    tool: dict[str, Any] = {"type": WEB_SEARCH_TOOL, "name": WEB_SEARCH_NAME, "max_uses": max_uses}
    if search.block:
        tool["blocked_domains"] = list(search.block)
    return tool


def url_key(url: str) -> str:
    """A URL as two spellings of one page share it: the host case-folded, no fragment,
    no trailing slash."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def publisher_of(url: str) -> str | None:
    """Who published a result, as its URL says: the host without ``www.``."""
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or None


def starts_search(event: Any) -> bool:
    """A streamed event that starts a web search (a ``server_tool_use`` block)."""
    if getattr(event, "type", None) != "content_block_start":
        return False
    return getattr(event.content_block, "type", None) == "server_tool_use"


def page_date(page_age: object, now: datetime | None = None) -> str | None:
    """A result's ``page_age`` ("April 30, 2025", "2025-04-30") as an ISO date, or None.

    An age ("3 days ago") is dated back from ``now`` (the search's time), only as precisely
    as it was given: the day for minutes, hours, days and weeks, the month for months,
    the year for years.
    """
    if not isinstance(page_age, str) or not page_age.strip():
        return None
    text = page_age.strip()
    if now is not None and (ago := _AGO.fullmatch(text)) is not None:
        return _dated_back(now, 1 if ago[1].isalpha() else int(ago[1]), ago[2].casefold())
    if (match := _ISO_START.match(text)) is not None:
        text = match[0]
    for form in _PAGE_AGE_FORMATS:
        try:
            return datetime.strptime(text, form).date().isoformat()
        except ValueError:
            continue
    return None


def _dated_back(now: datetime, count: int, unit: str) -> str | None:
    if unit == "year":
        year = now.year - count
        return f"{year:04d}" if year >= 1 else None
    if unit == "month":
        months = now.year * 12 + now.month - 1 - count
        return f"{months // 12:04d}-{months % 12 + 1:02d}" if months >= 12 else None
    step = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
    try:
        return (now - count * step.get(unit, timedelta(weeks=1))).date().isoformat()
    except OverflowError:
        return None


@dataclass
class Grounding:
    """What the web search returned in one generation (its calls and its repair), by URL."""

    results: dict[str, Citation] = field(default_factory=dict)  # url_key -> the result
    failures: list[str] = field(default_factory=list)  # the error codes of failed searches
    dropped: int = 0  # URLs the model named that no search returned
    now: datetime | None = None  # when it searched: results dated by their age need it

    def read(self, message: object) -> None:
        """Take in the results (and failures) of every search in ``message``."""
        for block in getattr(message, "content", None) or []:
            if getattr(block, "type", None) != "web_search_tool_result":
                continue
            content = getattr(block, "content", None)
            if isinstance(content, list):
                for result in content:
                    self._add(result)
            else:
                self.failures.append(str(getattr(content, "error_code", "unknown")))

    def _add(self, result: object) -> None:
        url = getattr(result, "url", None)
        if not isinstance(url, str) or url_key(url) in self.results:
            return
        title = getattr(result, "title", None)
        try:
            found = Citation(
                title=shorten(title.strip(), CITATION_TITLE_MAX)
                if isinstance(title, str) and title.strip()
                else publisher_of(url) or url,
                url=url,
                publisher=publisher_of(url),
                date=page_date(getattr(result, "page_age", None), self.now),
            )
        except ValidationError:
            log.info("A web search result could not be kept as a source (its URL or title)")
            return
        self.results[url_key(url)] = found

    def supporting(self, named: object, limit: int = SOURCES_PER_CONCEPT) -> list[Citation]:
        """The returned results among the URLs a structured answer ``named`` for one text,
        in its order, each once; any other URL is dropped (and counted)."""
        if not isinstance(named, list):
            return []
        kept: list[Citation] = []
        for url in named:
            found = self.results.get(url_key(url)) if isinstance(url, str) else None
            if found is None:
                self.dropped += 1
            elif found not in kept and len(kept) < limit:
                kept.append(found)
        return kept

    def cited(self, message: object) -> list[Citation]:
        """The returned results a plain-text answer cites, each once, with the text it cites."""
        kept: dict[str, Citation] = {}
        for block in answer_blocks(message):
            for citation in getattr(block, "citations", None) or []:
                if getattr(citation, "type", None) != "web_search_result_location":
                    continue
                key = url_key(str(getattr(citation, "url", "")))
                found = self.results.get(key)
                if found is None:
                    self.dropped += 1
                    continue
                if key in kept or len(kept) >= SOURCES_PER_ANSWER:
                    continue
                quote = getattr(citation, "cited_text", None)
                if isinstance(quote, str) and quote.strip():
                    found = found.model_copy(
                        update={"quote": shorten(" ".join(quote.split()), CITATION_QUOTE_MAX)}
                    )
                kept[key] = found
        return list(kept.values())

    def summary(self) -> str:
        """For a log line: what the search gave."""
        parts = [f"{len(self.results)} results"]
        if self.failures:
            parts.append(f"failed searches: {', '.join(self.failures)}")
        if self.dropped:
            parts.append(f"{self.dropped} URLs dropped as not returned by the search")
        return "; ".join(parts)


def answer_blocks(message: object) -> list[Any]:
    """The text blocks of the turn's answer: those after its last search, if it searched."""
    content = getattr(message, "content", None)
    if not isinstance(content, list):
        return []
    last_tool = max(
        (i for i, block in enumerate(content) if getattr(block, "type", None) in TOOL_BLOCKS),
        default=-1,
    )
    return [b for b in content[last_tool + 1 :] if getattr(b, "type", None) == "text"]


def as_params(content: list[Any]) -> list[dict[str, Any]]:
    """A paused turn's blocks as the next request carries them back (``pause_turn``)."""
    blocks = []
    for block in content:
        data = block.to_dict(exclude_none=True)
        data.pop("parsed_output", None)
        blocks.append(data)
    return blocks
