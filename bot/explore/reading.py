"""Reading a member's file or link before anything is spent on it: what kind it is, and
whether it can be mapped (its size, its pages, its text), with a message that says why
not. Nothing here touches the network: the edge hands in a file's bytes as Discord's CDN
gave them, and a link is only checked, never opened (the API's fetch tool opens it).
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from bot.errors import BadMaterial
from bot.generator import Material
from bot.i18n import N_
from bot.models import MaterialKind
from bot.text import shorten

log = logging.getLogger(__name__)

PDF = "application/pdf"
TEXT = "text/plain"
TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/x-markdown"})
TEXT_MIN = 40  # characters of text, below which a file has nothing to map
URL_MAX = 250  # the web fetch tool refuses longer addresses (url_too_long)
NAME_SHOWN = 80
MB = 1024 * 1024

# What a member is told (``bot.i18n``: the English is the catalog's message id).
UNSUPPORTED = N_(
    "*{name}* can't be mapped: attach a PDF, a plain text file (.txt) or a Markdown file (.md)."
)
TOO_LARGE = N_("*{name}* is {size} MB; files of up to {limit} MB can be mapped.")
TOO_MANY_PAGES = N_("*{name}* has {pages} pages; PDFs of up to {limit} pages can be mapped.")
ENCRYPTED = N_(
    "*{name}* is encrypted or protected by a password, so Claude can't read it; "
    "attach an unprotected copy."
)
NOT_A_PDF = N_("*{name}* can't be read as a PDF (it may be damaged).")
NO_TEXT = N_(
    "*{name}* has no text to read: it is empty, or only scanned images of pages. "
    "Attach a PDF with its text (one you can select and copy), or a text file."
)
EMPTY_TEXT = N_("*{name}* is empty: there is no text in it to map.")
NOT_UTF8 = N_("*{name}* isn't UTF-8 text; save it as UTF-8 and attach it again.")
BAD_URL = N_(
    "That link can't be mapped: give a web page's address, starting with https:// or http://."
)
LONG_URL = N_("That link is too long: the fetch tool takes addresses of up to {limit} characters.")
WITH_PASSWORD = N_("That link carries a user name or password; give the page's public address.")


@dataclass(frozen=True)
class Checked:
    """A file that can be mapped: as the generator takes it, its pages, and its digest."""

    material: Material
    digest: str
    pages: int | None = None


def shown_name(name: str) -> str:
    """A file's name as a message shows it: its last part, cut, no Markdown or mentions."""
    base = PurePosixPath(name.replace("\\", "/")).name or "file"
    for mark in "*_`~|<>@#[]":
        base = base.replace(mark, " " if mark in "<>@#" else "")
    return shorten(" ".join(base.split()) or "file", NAME_SHOWN)


def kind_of(name: str, content_type: str | None) -> MaterialKind | None:
    """PDF, text, or None for a type Kinapse cannot map; by its name, else its type."""
    suffix = PurePosixPath(name).suffix.casefold()
    media = (content_type or "").split(";")[0].strip().casefold()
    if suffix == ".pdf" or media == PDF:
        return MaterialKind.PDF
    if suffix in TEXT_SUFFIXES or media in TEXT_TYPES:
        return MaterialKind.TEXT
    return None


def check_size(name: str, size: int, limit_mb: int) -> None:
    if size > limit_mb * MB:
        # Rounded up, so a file just over the limit never reads as within it.
        size_mb = math.ceil(size * 10 / MB) / 10
        raise BadMaterial(N_(TOO_LARGE, name=shown_name(name), size=size_mb, limit=limit_mb))


def check_file(
    name: str, content_type: str | None, data: bytes, *, limit_mb: int, max_pages: int
) -> Checked:
    """The file as the generator takes it, or ``BadMaterial`` saying why it can't be
    mapped. Reading a PDF takes a while for a large one: call it in a thread."""
    shown = shown_name(name)
    kind = kind_of(name, content_type)
    if kind is None:
        raise BadMaterial(N_(UNSUPPORTED, name=shown))
    check_size(name, len(data), limit_mb)
    digest = hashlib.sha256(data).hexdigest()
    if kind is MaterialKind.PDF:
        pages = _check_pdf(shown, data, max_pages)
        return Checked(Material(kind, shown, PDF, data), digest, pages)
    text = _decoded(shown, data)
    if len("".join(text.split())) < TEXT_MIN:
        raise BadMaterial(N_(EMPTY_TEXT, name=shown))
    return Checked(Material(kind, shown, TEXT, text.encode()), digest)


def _check_pdf(shown: str, data: bytes, max_pages: int) -> int:
    if not data.lstrip()[:5] == b"%PDF-":
        raise BadMaterial(N_(NOT_A_PDF, name=shown))
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise BadMaterial(N_(ENCRYPTED, name=shown))
        pages = len(reader.pages)
        if pages > max_pages:
            raise BadMaterial(N_(TOO_MANY_PAGES, name=shown, pages=pages, limit=max_pages))
        text = 0
        for page in reader.pages:
            text += len("".join((page.extract_text() or "").split()))
            if text >= TEXT_MIN:
                break
    except BadMaterial:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        # A damaged file can trip pypdf in many ways; none of them is ours to fix.
        log.info("A member's PDF could not be read: %s", type(exc).__name__)
        raise BadMaterial(N_(NOT_A_PDF, name=shown)) from None
    if pages == 0 or text < TEXT_MIN:
        raise BadMaterial(N_(NO_TEXT, name=shown))
    return pages


def _decoded(shown: str, data: bytes) -> str:
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadMaterial(N_(NOT_UTF8, name=shown)) from None
    if "\x00" in text:
        raise BadMaterial(N_(NOT_UTF8, name=shown))
    return text.replace("\r\n", "\n")


def check_url(url: str) -> Checked:
    """A web page's address as the fetch tool takes it, or ``BadMaterial``. Only checked:
    the bot never opens it."""
    url = url.strip().strip("<>")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise BadMaterial(BAD_URL) from None
    if parts.scheme.casefold() not in ("http", "https") or not parts.hostname or " " in url:
        raise BadMaterial(BAD_URL)
    if parts.username or parts.password:
        raise BadMaterial(WITH_PASSWORD)
    if len(url) > URL_MAX:
        raise BadMaterial(N_(LONG_URL, limit=URL_MAX))
    digest = hashlib.sha256(url.encode()).hexdigest()
    return Checked(Material(MaterialKind.PAGE, url), digest)


def page_label(url: str) -> str:
    """How a card names a page: its host and path, "example.org/article"."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    return shorten(f"{host}{parts.path.rstrip('/')}", NAME_SHOWN)
