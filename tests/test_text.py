"""Cutting text to Discord's limits without breaking what a reader sees; cleaning stored text."""

from __future__ import annotations

import pytest
import regex

from bot.text import ELLIPSIS, clean_text, shorten, split_sentences, width

FAMILY = "👨\u200d👩\u200d👧\u200d👦"  # one grapheme, 11 UTF-16 units
FLAGS = "🇫🇷🇩🇪🇯🇵"  # three graphemes of 4 units each
ACCENTED = "e\u0301a\u0300o\u0302"  # three graphemes with combining accents
SAMPLES = [
    "Plain ASCII text about concept maps and the way they branch out.",
    "Rocket 🚀 science 🧪 with astral emoji 😀😀😀 between words",
    f"Family {FAMILY} {FAMILY} photos",
    f"Flags {FLAGS} of the G7",
    f"Accents {ACCENTED * 4} everywhere",
    "Ｆｕｌｌ ｗｉｄｔｈ and 漢字かな交じり文 text",
    "😀" * 40,
    FAMILY * 5,
]


def graphemes(text: str) -> list[str]:
    return regex.findall(r"\X", text)


def test_width_counts_utf16_units() -> None:
    assert width("abc") == 3
    assert width("é") == 1
    assert width("😀") == 2
    assert width(FAMILY) == 11
    assert width(FLAGS) == 12
    assert width("") == 0


@pytest.mark.parametrize("text", SAMPLES)
@pytest.mark.parametrize("at_word", [True, False])
def test_shorten_at_every_limit(text: str, at_word: bool) -> None:
    whole = graphemes(text)
    for limit in range(1, width(text) + 3):
        result = shorten(text, limit, at_word=at_word)
        assert width(result) <= limit, (limit, result)
        if width(text) <= limit:
            assert result == text
            continue
        assert result.endswith(ELLIPSIS), (limit, result)
        kept = result.removesuffix(ELLIPSIS)
        # A prefix made of whole graphemes: no half emoji, flag, family or accent.
        assert text.startswith(kept), (limit, result)
        assert graphemes(kept) == whole[: len(graphemes(kept))], (limit, result)
        result.encode("utf-8")  # a lone surrogate would raise here


def test_shorten_leaves_short_text_alone() -> None:
    assert shorten("Short text", 100) == "Short text"
    assert shorten("Exactly ten", 11) == "Exactly ten"
    assert shorten("", 5) == ""
    assert shorten("  spaced  ", 10) == "  spaced  "


def test_shorten_never_splits_an_astral_emoji() -> None:
    # A cut by UTF-16 units would keep half of the rocket.
    assert shorten("ab🚀cdef", 4) == "ab…"
    assert shorten("ab🚀cdef", 5) == "ab🚀…"


def test_shorten_keeps_whole_graphemes() -> None:
    assert shorten(FAMILY + " and more", 11) == ELLIPSIS  # the family does not fit beside "…"
    assert shorten(FAMILY + " and more", 12) == FAMILY + ELLIPSIS
    assert shorten(FLAGS, 11) == "🇫🇷🇩🇪…"
    assert shorten(FLAGS, 8) == "🇫🇷…"
    assert shorten(ACCENTED + "u", 3) == "e\u0301…"  # the accent stays with its letter


def test_shorten_prefers_a_word_boundary() -> None:
    text = "The quick brown foxes jump over the lazy dog"
    assert shorten(text, 20) == "The quick brown…"
    assert shorten(text, 20, at_word=False) == "The quick brown fox…"
    # No space in the final fifth: cut inside the word rather than lose most of the text.
    assert shorten("Supercalifragilisticexpialidocious", 10) == "Supercali…"


def test_shorten_drops_dangling_punctuation() -> None:
    assert shorten("Hello, world", 7) == "Hello…"
    assert shorten("Cause - effect", 9, at_word=False) == "Cause…"


def test_shorten_with_no_room() -> None:
    assert shorten("Anything", 0) == ""
    assert shorten("Anything", 1) == ELLIPSIS


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("evil\u202etxt.exe", "eviltxt.exe"),  # right-to-left override
        ("a\u202db\u2066c\u2069d\u200fe", "abcde"),  # other bidi controls
        ("bell\x07 escape\x1b[31m red\x00", "bell escape[31m red"),
        ("del\x7f", "del"),
        ("zero\u200bwidth", "zerowidth"),
        ("tabs\tand   spaces", "tabs and spaces"),
        ("  trimmed  ", "trimmed"),
        ("line one\n\n  line two  \r\nline three", "line one\nline two\nline three"),
        ("Cafe\u0301", "Café"),
        ("rocket 🚀 stays", "rocket 🚀 stays"),
        ("\u202e\x00 \t", ""),
    ],
)
def test_clean_text(raw: str, cleaned: str) -> None:
    assert clean_text(raw) == cleaned


def test_a_cut_just_before_a_space_keeps_the_whole_last_word() -> None:
    assert shorten("The quick brown fox jumps", 20) == "The quick brown fox…"


def test_clean_text_keeps_the_joiners_emoji_and_persian_need() -> None:
    family = "👨\u200d👩\u200d👧"
    persian = "می\u200cخواهم"
    assert clean_text(f"{family} {persian}") == f"{family} {persian}"


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("金利は価格です。中央銀行が決めます。", ["金利は価格です。", "中央銀行が決めます。"]),
        ("你知道吗？利率很重要！", ["你知道吗？", "利率很重要！"]),
        ("「はい。」と言った。", ["「はい。」", "と言った。"]),
        ("금리는 가격입니다. 은행이 정합니다.", ["금리는 가격입니다.", "은행이 정합니다."]),
        ("لماذا؟ لأن التضخم مهم.", ["لماذا؟", "لأن التضخم مهم."]),
        ("यह दर है। बैंक इसे तय करता है।", ["यह दर है।", "बैंक इसे तय करता है।"]),
        ("¿Qué es? ¡Es la tasa!", ["¿Qué es?", "¡Es la tasa!"]),
        ("Ставка — цена денег. Банк её задаёт.", ["Ставка — цена денег.", "Банк её задаёт."]),
        # Latin script keeps its rules: no split after an initial, an abbreviation or before
        # a lowercase word.
        ("The U.S. Navy sailed. It stayed.", ["The U.S. Navy sailed.", "It stayed."]),
        ("See e.g. this one. Then that.", ["See e.g. this one.", "Then that."]),
    ],
)
def test_sentences_end_at_the_full_stops_of_every_script(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences
