"""What a member reads about their own material, in their language: the card's line (what
it was made from, the material's and the map's languages named in the reader's language)
and the messages of a file or page that can't be mapped, from the shipped catalogs.

SimCord 3.2.1 does not simulate a member's client locale, and the harness on main has no
way to set one yet, so these read the catalogs the way the bot does for an interaction
(``bot.i18n.speaking``, ``translate``), without Discord.
"""

from __future__ import annotations

import pytest

from bot.errors import BadMaterial
from bot.explore.reading import check_file, check_url
from bot.generator.documents import FETCH_ERRORS, FETCH_FAILED
from bot.i18n import N_, speaking, translate
from bot.models import MaterialKind
from bot.storage import MaterialInfo
from bot.ui.cards.material import material_line


def info(**changes: object) -> MaterialInfo:
    values: dict[str, object] = {
        "map_id": 1,
        "kind": MaterialKind.PDF,
        "name": "lecture-3.pdf",
        "title": None,
        "media_type": "application/pdf",
        "digest": "d" * 64,
        "request": "",
        "pages": 3,
        "file_id": None,
        "shared_by": 42,
        "language": None,
        "created_at": 0.0,
    }
    values.update(changes)
    return MaterialInfo(**values)  # type: ignore[arg-type]


def test_the_cards_line_is_said_in_the_readers_language():
    german = info(language="French")
    assert material_line(german, "en") == (
        "-# From *lecture-3.pdf*, shared by <@42> · written in French, mapped in English"
    )
    with speaking("de"):
        assert material_line(german, "en") == (
            "-# Aus *lecture-3.pdf*, geteilt von <@42> · verfasst auf Französisch, "
            "kartiert auf Englisch"
        )
    with speaking("fr"):
        page = info(kind=MaterialKind.PAGE, name="https://www.example.org/article/", shared_by=None)
        assert material_line(page, "en") == "-# D’après example.org/article"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("de", "*slides.pptx* kann nicht kartiert werden: Hänge ein PDF"),
        ("es-ES", "*slides.pptx* no se puede mapear: adjunta un PDF"),
        ("fr", "*slides.pptx* ne peut pas être cartographié\u00a0: joins un PDF"),
        ("ja", "*slides.pptx* はマップにできません。"),
        ("pt-BR", "*slides.pptx* não pode ser mapeado: anexe um PDF"),
        ("en-US", "*slides.pptx* can't be mapped: attach a PDF"),
    ],
)
def test_a_file_that_cannot_be_mapped_is_refused_in_the_members_language(
    locale: str, expected: str
):
    with pytest.raises(BadMaterial) as refused:
        check_file("slides.pptx", None, b"PK\x03\x04", limit_mb=10, max_pages=100)
    assert translate(locale, refused.value.message).startswith(expected)
    # Logs and storage read it in English.
    assert str(refused.value).startswith("*slides.pptx* can't be mapped")


def test_numbers_and_reasons_inside_a_message_are_said_the_languages_way():
    with pytest.raises(BadMaterial) as refused:
        check_file("big.txt", None, b"x" * (11 * 1024 * 1024), limit_mb=10, max_pages=100)
    assert translate("de", refused.value.message) == (
        "*big.txt* ist 11 MB groß; Dateien bis 10 MB können kartiert werden."
    )
    with pytest.raises(BadMaterial) as refused:
        check_file("big.txt", None, b"x" * (10 * 1024 * 1024 + 1), limit_mb=10, max_pages=100)
    assert "10,1 MB" in translate("de", refused.value.message)
    fetch = N_(FETCH_FAILED, why=FETCH_ERRORS["url_not_accessible"])
    assert translate("de", fetch) == (
        "Die Seite konnte nicht abgerufen werden: die Seite hat mit einem Fehler geantwortet "
        "(ist sie öffentlich?)."
    )
    with pytest.raises(BadMaterial) as refused:
        check_url("ftp://example.org/notes.txt")
    assert translate("ja", refused.value.message).startswith("このリンクはマップにできません。")
