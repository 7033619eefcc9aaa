"""Cutting text to a length without breaking what a reader sees.

Lengths are counted in UTF-16 code units, as Discord's JavaScript counts
them; that is never less than Python's code-point count, so a text within a
limit here is within it on both sides.
"""

from __future__ import annotations

import unicodedata

import regex

ELLIPSIS = "…"
_GRAPHEME = regex.compile(r"\X")
_SPACES = regex.compile(r"[ \t\r\f\v]+")
_KEPT_CONTROLS = "\n\t\r\f\v"


def width(text: str) -> int:
    """Length as Discord counts it (UTF-16 code units)."""
    if text.isascii():  # most text, and a card measures its pieces many times
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int, *, at_word: bool = True) -> str:
    """``text`` if it fits in ``limit``, else cut on a grapheme boundary and end with "…".

    With ``at_word`` the cut prefers the last space in the final fifth of the
    kept text, so words are not chopped in half.
    """
    if width(text) <= limit:
        return text
    if limit <= 0:
        return ""
    budget = limit - width(ELLIPSIS)
    kept: list[str] = []
    used = 0
    for cluster in _GRAPHEME.findall(text):
        size = width(cluster)
        if used + size > budget:
            break
        kept.append(cluster)
        used += size
    cut = "".join(kept)
    rest = text[len(cut) :]
    if at_word and not rest[:1].isspace():
        space = cut.rfind(" ")
        if space >= len(cut) * 4 // 5:
            cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + ELLIPSIS


_JOINERS = frozenset("\u200c\u200d")  # zero-width non-joiner and joiner


def clean_text(text: str) -> str:
    """Model or file text made safe to store: no control or format characters, tidy spaces.

    Newlines survive (a detail may have paragraphs). Of the format characters
    only the zero-width joiner and non-joiner are kept: emoji sequences and
    scripts such as Persian need them, while bidi overrides and the like could
    reorder what other members read.
    """
    text = unicodedata.normalize("NFC", text)
    # Tabs and the like are control characters, but _SPACES turns them into spaces below.
    text = "".join(
        ch
        for ch in text
        if ch in _KEPT_CONTROLS
        or ch in _JOINERS
        or unicodedata.category(ch) not in {"Cc", "Cf", "Co", "Cs"}
    )
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


# A sentence ends at a full stop, an exclamation or a question mark, perhaps followed by
# closing quotes or brackets, then whitespace, then what can start a sentence: an
# uppercase letter (any script, so "Øystein" too), a letter of a script without capitals
# (Arabic, Hebrew, Devanagari, Hangul, ...), a digit or an opening quote. "2.5 percent"
# and "e.g. this" do not split; neither does a full stop after an initial or an
# abbreviation (``_ends_sentence``). The marks: . ! ? and those of other scripts, the
# Arabic and Urdu question mark and full stop, the Devanagari danda, the Ethiopic, Burmese,
# Armenian and Khmer full stops.
SPACED_STOPS = ".!?؟۔।॥።፧။։។"
CLOSERS = "\"'”’»)]」』】）〉》"
OPENERS = "\"'“‘«([¿¡「『【（〈《"
SENTENCE_BREAK = regex.compile(
    rf"[{regex.escape(SPACED_STOPS)}][{regex.escape(CLOSERS)}]*\s+"
    rf"(?=[\p{{Lu}}\p{{Lt}}\p{{Lo}}\d{regex.escape(OPENERS)}])"
    # Chinese and Japanese end a sentence with a full-width mark and no space after it.
    r"|[。！？｡][" + regex.escape(CLOSERS) + r"]*\s*(?=\S)"
)
# Words written with a full stop that do not end a sentence ("Dr. Tunsjø", "Jan. 2025").
_ABBREVIATIONS = (
    "dr mr mrs ms prof st jr sr mt ft gen lt col capt gov sen rep rev vs cf al approx ca no "
    "nos vol fig inc ltd co corp jan feb mar apr jun jul aug sep sept oct nov dec"
)
ABBREVIATIONS = frozenset(_ABBREVIATIONS.split())
# "T" in "William T. R. Fox", "U.S" in "U.S. Navy", "e.g" and "i.e": initials and dotted
# abbreviations. The price: "Plan B." or "the U.S." cannot end a sentence that another follows.
INITIALS = regex.compile(r"(?:\p{L}\.)*\p{L}")
OPENING = OPENERS


def _ends_sentence(text: str, stop: int) -> bool:
    """Whether the mark at ``stop`` ends a sentence, judged by the word it closes."""
    if text[stop] != ".":
        return True
    word = text[:stop].rsplit(maxsplit=1)[-1].lstrip(OPENING) if text[:stop].strip() else ""
    return not (INITIALS.fullmatch(word) or word.casefold() in ABBREVIATIONS)


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` by the ``SENTENCE_BREAK`` rule (none for a blank text).

    A text that does not end with a full stop still ends a sentence: the linter
    asks how many sentences an author wrote, not whether they punctuated the
    last one.
    """
    text = text.strip()
    sentences, start = [], 0
    for match in SENTENCE_BREAK.finditer(text):
        if _ends_sentence(text, match.start()):
            sentences.append(text[start : match.end()].strip())
            start = match.end()
    if text[start:].strip():
        sentences.append(text[start:].strip())
    return sentences


def count_sentences(text: str) -> int:
    """How many sentences ``text`` has (0 for a blank text); see ``split_sentences``."""
    return len(split_sentences(text))


# Writings without spaces between words, by the scripts they use: a length in words means
# nothing there. Japanese is told from Chinese by its kana.
_UNSPACED = {
    "japanese": regex.compile(r"[\p{Hiragana}\p{Katakana}]"),
    "chinese": regex.compile(r"\p{Han}"),
    "thai": regex.compile(r"\p{Thai}"),
    "lao": regex.compile(r"\p{Lao}"),
    "khmer": regex.compile(r"\p{Khmer}"),
    "burmese": regex.compile(r"\p{Myanmar}"),
}
_LETTER = regex.compile(r"\p{L}")


def unspaced_writing(text: str) -> str | None:
    """``japanese``, ``chinese``, ``thai``, ``lao``, ``khmer`` or ``burmese`` when most of
    ``text``'s letters are of that writing (one without spaces between words), else None."""
    letters = len(_LETTER.findall(text))
    if not letters:
        return None
    counts = {name: len(script.findall(text)) for name, script in _UNSPACED.items()}
    if counts["japanese"]:
        counts["japanese"] += counts.pop("chinese")  # kanji with kana: Japanese
    writing, count = max(counts.items(), key=lambda item: item[1])
    return writing if count * 2 > letters else None


# Model text may end up in a message's content, where these ping unless allowed mentions
# forbid it; a zero-width space after the "@" keeps them readable and inert anywhere.
_MENTION = regex.compile(r"@(?=everyone|here)|<@", regex.IGNORECASE)
ZERO_WIDTH_SPACE = "\u200b"


def defuse_mentions(text: str) -> str:
    """``@everyone``, ``@here`` and ``<@id>`` with a zero-width space after the "@"."""
    return _MENTION.sub(lambda m: m.group() + ZERO_WIDTH_SPACE, text)


# Words that say little about what a sentence means, left out when sentences are compared.
_STOPWORDS = (
    "a an the and or but nor of to in on at by for from with as into onto over under about "
    "between through after before during since until than then so such not no is are was were "
    "be been being it its this that these those which who whom whose what when where why how "
    "their they them there he she his her we our you your i can could may might will would "
    "shall should do does did has have had also more most many much other each any all some "
    "one only very while both either neither own same up down out off again further once here "
    "just too"
)
STOPWORDS = frozenset(_STOPWORDS.split())
WORD = regex.compile(r"\w+")


def content_words(text: str) -> frozenset[str]:
    """The words that carry a sentence's meaning, folded so that "rates" matches "rate"."""
    words = set()
    for word in WORD.findall(text.casefold()):
        if word in STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.add(word)
    return frozenset(words)
