"""The labels of a map picture: wrapped at spaces and hyphens (a word is never split),
measured as Graphviz measures them, and written as Graphviz HTML-like labels.

graphviz-pure measures text with the standard Helvetica metrics, which its bundled
Arimo font matches glyph for glyph, and draws bold text from ``<B>`` (a font name
such as "Helvetica-Bold" has no metrics there, so it would be measured in Times and
overflow its box). Characters beyond ASCII it measures as spaces, so every labelled
node is given a minimum width from our own measure: the metrics below for ASCII, the
base letter for accented Latin, and a generous average for other scripts.
"""

from __future__ import annotations

import textwrap
import unicodedata
from dataclasses import dataclass
from html import escape

# Advance widths (thousandths of an em) of printable ASCII, space to tilde, as
# graphviz-pure measures them: Helvetica's, regular then bold.
_REGULAR = (
    "278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556 556 "
    "556 556 556 556 278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 500 667 "
    "556 833 722 778 667 778 722 667 611 722 667 944 667 667 611 278 278 278 469 556 333 556 "
    "556 500 556 556 278 556 556 222 222 500 222 833 556 556 556 556 333 500 278 556 500 722 "
    "500 500 500 334 260 334 584"
)
_BOLD = (
    "278 333 474 556 556 889 722 238 333 333 389 584 278 333 278 278 556 556 556 556 556 556 "
    "556 556 556 556 333 333 584 584 584 611 975 722 722 722 722 667 611 778 722 278 556 722 "
    "611 833 722 778 667 778 722 667 611 722 667 944 667 667 611 333 278 333 584 556 333 556 "
    "611 556 611 556 333 611 611 278 278 556 278 889 611 611 611 611 389 556 333 611 556 778 "
    "556 556 500 389 280 389 584"
)
ASCII_WIDTHS = {
    bold: {chr(32 + i): int(w) / 1000 for i, w in enumerate(table.split())}
    for bold, table in ((False, _REGULAR), (True, _BOLD))
}
# Punctuation beyond ASCII that titles use, in em (Helvetica's widths).
OTHER_WIDTHS = {"–": 0.556, "—": 1.0, "‘": 0.222, "’": 0.222, "“": 0.333, "”": 0.333, "…": 1.0}
WIDE_LATIN = {"Æ": 1.0, "æ": 0.889, "Œ": 1.0, "œ": 0.944, "ß": 0.611, "Ø": 0.778, "ø": 0.611}
# Greek, Cyrillic and Hebrew letters: a generous average, so the box is never too small.
UPPER_EM, LOWER_EM = 0.78, 0.62
BOLD_EXTRA_EM = 0.04
POINTS_PER_INCH = 72
LINES_MAX = 4  # a longer label is wrapped wider rather than cut
WRAP_STEP = 2


def char_width(ch: str, bold: bool) -> float:
    """The advance of ``ch`` in em."""
    table = ASCII_WIDTHS[bold]
    if ch in table:
        return table[ch]
    if ch in OTHER_WIDTHS:
        return OTHER_WIDTHS[ch]
    if ch in WIDE_LATIN:
        return WIDE_LATIN[ch] + (BOLD_EXTRA_EM if bold else 0.0)
    base = unicodedata.normalize("NFKD", ch)[:1]
    if base in table:  # an accented Latin letter is as wide as its base letter
        return table[base]
    em = UPPER_EM if ch.isupper() else LOWER_EM
    return em + (BOLD_EXTRA_EM if bold else 0.0)


def text_width(text: str, size: float, *, bold: bool) -> float:
    """The width of one line of ``text`` at ``size`` points, in inches."""
    return sum(char_width(ch, bold) for ch in text) * size / POINTS_PER_INCH


def wrapped(text: str, wrap: int) -> list[str]:
    """``text`` in lines of about ``wrap`` characters, broken at spaces and after hyphens
    only: a word longer than a line keeps its own line whole. A text that would need
    more than ``LINES_MAX`` lines is wrapped wider instead of cut."""
    while True:
        lines = textwrap.wrap(text, wrap, break_long_words=False, break_on_hyphens=True)
        if len(lines) <= LINES_MAX:
            return lines or [""]
        wrap += WRAP_STEP


@dataclass(frozen=True)
class Label:
    """A node's label: its lines, and how they are set."""

    lines: tuple[str, ...]
    size: float  # points
    bold: bool

    @classmethod
    def of(cls, text: str, wrap: int, size: float, *, bold: bool) -> Label:
        return cls(tuple(wrapped(text, wrap)), size, bold)

    def html(self) -> str:
        """The label as Graphviz's HTML-like label text (without the outer ``<>``)."""
        body = "<BR/>".join(escape(line, quote=False) for line in self.lines)
        return f"<B>{body}</B>" if self.bold else body

    def width(self) -> float:
        """The widest line, in inches."""
        return max(text_width(line, self.size, bold=self.bold) for line in self.lines)
