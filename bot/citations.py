"""Where a statement comes from: a ``Citation`` (a curated map's source, a web search
result the API returned, or a place the API cited in a member's own material), ISO dates as
map files write them, and sources as a column stores them. Part of the foundation, with
``bot.models`` (which re-exports these names).
"""

from __future__ import annotations

import datetime
import enum
import json
import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

_ISO_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
CITATION_TITLE_MAX = 300
CITATION_PUBLISHER_MAX = 120
CITATION_QUOTE_MAX = 500
CITATION_URL_MAX = 2000


def iso_date(value: Any) -> Any:
    """A date as ISO text ("2026", "2026-12" or "2026-12-01"), checked to be a real one.

    YAML reads an unquoted 2026-12-01 as a date (but 2026-12 as text): both stay text.
    """
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        value = value.strip()
        match = _ISO_DATE.fullmatch(value)
        if match is None:
            raise ValueError("write a date as YYYY-MM-DD, YYYY-MM or YYYY")
        year, month, day = (int(part) if part else 1 for part in match.groups())
        try:
            datetime.date(year, month, day)
        except ValueError:
            raise ValueError(f"{value} is not a date") from None
    return value


def date_floor(value: str) -> datetime.date:
    """The first day an ISO date (``iso_date``) may mean: 2026-12 is 1 December 2026."""
    year, month, day = (int(part) if part else 1 for part in _ISO_DATE.fullmatch(value).groups())  # type: ignore[union-attr]
    return datetime.date(year, month, day)


class MaterialKind(enum.StrEnum):
    """What a map of a member's own material was made from (stored in ``maps.material``)."""

    PDF = "pdf"
    TEXT = "text"  # plain text or Markdown
    PAGE = "page"  # a web page, fetched by the API's web fetch tool


class Citation(BaseModel):
    """Where a statement comes from: an entry of a curated map's ``sources`` (always with
    its URL: ``bot.maps`` checks), a web search result the API returned for a generated
    concept (never a URL a model wrote), or a place the API cited in a member's own
    material: pages of a PDF, a passage of a text file (neither has a ``url``), or a
    passage of a fetched page (its URL, with a text fragment pointing at the passage)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=CITATION_TITLE_MAX)
    ]
    # None only for a place in an attached file, which has no address to link to.
    url: (
        Annotated[
            str,
            StringConstraints(
                strip_whitespace=True,
                max_length=CITATION_URL_MAX,
                pattern=r"^https?://[^\s/]+\S*$",
            ),
        ]
        | None
    ) = None
    # A PDF's cited pages, first and last, counted from 1 (the API's page_location).
    pages: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]] | None = None
    publisher: (
        Annotated[
            str,
            StringConstraints(
                strip_whitespace=True, min_length=1, max_length=CITATION_PUBLISHER_MAX
            ),
        ]
        | None
    ) = None
    date: str | None = None  # ISO: YYYY-MM-DD, YYYY-MM or YYYY
    # The claim as the source words it (a curated map's choice, or the text the API cited).
    quote: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=CITATION_QUOTE_MAX),
        ]
        | None
    ) = None

    @field_validator("date", mode="before")
    @classmethod
    def _iso(cls, value: Any) -> Any:
        return iso_date(value)

    @model_validator(mode="after")
    def _located(self) -> Citation:
        if self.url is None and self.pages is None and self.quote is None:
            raise ValueError("a source needs a url, or the pages or passage it cites")
        if self.pages is not None and self.pages[1] < self.pages[0]:
            raise ValueError("pages: the last page comes before the first")
        return self

    @property
    def key(self) -> tuple[str | None, tuple[int, int] | None, str | None]:
        """What makes two sources one: the same address (a page's passages each have
        their own), or the same place in a member's file."""
        if self.url is not None and self.pages is None:
            return (self.url, None, None)
        return (self.url, self.pages, self.quote)

    @property
    def pages_label(self) -> str | None:
        """ "p. 4" or "p. 4-5", for a place in a PDF."""
        if self.pages is None:
            return None
        first, last = self.pages
        return f"p. {first}" if first == last else f"p. {first}-{last}"


def stored_citations(value: Any) -> Any:
    """Sources as a column stores them (JSON text, NULL for none) read back as a list."""
    if value is None or value == "":
        return []
    if isinstance(value, str | bytes):
        return json.loads(value)
    return value


def citations_json(sources: list[Citation]) -> str | None:
    """Sources as a column stores them: JSON text, or NULL for none."""
    if not sources:
        return None
    return json.dumps([s.model_dump(exclude_none=True) for s in sources], ensure_ascii=False)
