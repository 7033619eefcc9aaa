"""Where a statement comes from: a ``Citation`` (a curated map's source, or a web search
result the API returned), ISO dates as map files write them, and sources as a column
stores them. Part of the foundation, with ``bot.models`` (which re-exports these names).
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

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


class Citation(BaseModel):
    """Where a statement comes from: an entry of a curated map's ``sources``, or a web
    search result the API returned for a generated concept (never a URL a model wrote)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=CITATION_TITLE_MAX)
    ]
    url: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, max_length=CITATION_URL_MAX, pattern=r"^https?://[^\s/]+\S*$"
        ),
    ]
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
