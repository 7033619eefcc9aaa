"""Generation grounded in a member's material, with the real SDK against the stand-in: the
tagged answer and its citations, the repair, the fetch tool's failures, counting tokens."""

from __future__ import annotations

from typing import Any

import pytest

from bot.errors import FetchFailed, GenerationError, Refused
from bot.generator import AnthropicGenerator, Material
from bot.models import MaterialKind
from tests.support.pdfs import make_pdf
from tests.support.standin_documents import MaterialWorld, estimate


def standin_estimate(body: dict[str, Any]) -> int:
    return estimate(body, MaterialWorld())


PAGES = [
    f"Page {n} explains idea number {n} of the lecture. It adds a detail." for n in range(1, 6)
]


def pdf() -> Material:
    return Material(MaterialKind.PDF, "lecture.pdf", "application/pdf", make_pdf(PAGES))


def text(value: str, page: int | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": value}
    if page is not None:
        block["citations"] = [
            {
                "type": "page_location",
                "cited_text": PAGES[page - 1],
                "document_index": 0,
                "document_title": "lecture.pdf",
                "start_page_number": page,
                "end_page_number": page + 1,
            }
        ]
    return block


def concept(title: str, page: int | None, summary: str | None = None) -> list[dict[str, Any]]:
    return [
        text(f"<concept>\n<title>{title}</title>\n<summary>"),
        text(summary or f"{title} is one idea of the lecture.", page),
        text(
            f"</summary>\n<detail>{title} matters to the lecture. It leads on.</detail>\n"
            "</concept>\n"
        ),
    ]


def tagged_map(*concepts: tuple[str, int | None]) -> list[dict[str, Any]]:
    blocks = [
        text("<map>\n<title>The Lecture</title>\n<overview>"),
        text("It is a lecture. It has ideas.", 1),
    ]
    blocks.append(text("</overview>\n"))
    for title, page in concepts:
        blocks += concept(title, page)
    return [*blocks, text("</map>")]


async def test_concepts_keep_exactly_the_pages_the_api_cited(
    generator: AnthropicGenerator, standin
):
    standin.materials.scripted.append(
        tagged_map(("Cells", 2), ("Tissues", None), ("Organs", 4), ("Systems", 4))
    )
    # A page number the model wrote in its text is not a source: only citations are.
    standin.materials.scripted[0][7]["text"] = "Tissues are on page 9 of the lecture (p. 9)."
    result = await generator.generate_map("", "en", material=pdf())
    draft = result.value
    assert draft.title == "The Lecture"
    assert [s.pages for s in draft.sources] == [(1, 1)]
    assert [[s.pages for s in c.sources] for c in draft.concepts] == [
        [(2, 2)],
        [],
        [(4, 4)],
        [(4, 4)],
    ]
    assert draft.concepts[0].sources[0].quote == PAGES[1]


async def test_an_unusable_answer_is_repaired_once_with_the_document(
    generator: AnthropicGenerator, standin
):
    standin.materials.scripted += [
        tagged_map(("Cells", 2), ("Tissues", 3)),  # two key concepts: too few
        tagged_map(("Cells", 2), ("Tissues", 3), ("Organs", 4), ("Systems", 5)),
    ]
    result = await generator.generate_map("", "en", material=pdf())
    assert [c.title for c in result.value.concepts] == ["Cells", "Tissues", "Organs", "Systems"]
    repair = standin.requests[1]
    assert repair.messages[0]["content"][0]["type"] == "document"
    assert "<concept>" in repair.messages[1]["content"]  # its first answer, as it wrote it
    assert "could not be used" in repair.last and "concepts" in repair.last
    assert len(result.usage) == 2


async def test_a_declined_material_is_refused(generator: AnthropicGenerator, standin):
    standin.materials.scripted.append([text("<declined/>")])
    with pytest.raises(Refused):
        await generator.generate_map("", "en", material=pdf())


async def test_a_material_with_nothing_to_map_says_so(generator: AnthropicGenerator, standin):
    standin.materials.scripted.append([text("<unusable/>")])
    with pytest.raises(GenerationError, match="found nothing in this material to map"):
        await generator.generate_map("", "en", material=pdf())


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("url_not_accessible", "the page answered with an error"),
        ("unsupported_content_type", "it is not a web page, text or a PDF"),
        ("url_not_allowed", "its site is blocked for fetching"),
        ("too_many_requests", "the fetch service is busy"),
    ],
)
async def test_a_page_that_cannot_be_fetched_says_why(
    generator: AnthropicGenerator, standin, code: str, said: str
):
    url = "https://example.org/article"
    standin.materials.fetch_errors[url] = code
    with pytest.raises(FetchFailed, match=said) as failed:
        await generator.generate_map("", "en", material=Material(MaterialKind.PAGE, url))
    assert failed.value.usage  # the call is billed all the same
    assert standin.requests[0].body["tools"][0]["max_uses"] == 1


async def test_counting_tokens_sends_the_document_and_the_task(
    generator: AnthropicGenerator, standin
):
    tokens = await generator.count_tokens("Cells", "en", pdf())
    [counted] = standin.materials.counted
    content = counted["messages"][0]["content"]
    assert content[0]["source"]["media_type"] == "application/pdf"
    assert "<topic>Cells</topic>" in content[1]["text"]
    assert tokens == standin_estimate(counted) and tokens > 5 * 1_500  # five pages and more


async def test_an_uploaded_file_is_sent_by_its_id_and_deleted(
    generator: AnthropicGenerator, standin
):
    material = pdf()
    file_id = await generator.upload(material)
    assert file_id in standin.materials.files
    stored = Material(MaterialKind.PDF, "lecture.pdf", "application/pdf", material.data, file_id)
    await generator.generate_map("", "en", material=stored)
    assert standin.requests[0].messages[0]["content"][0]["source"] == {
        "type": "file",
        "file_id": file_id,
    }
    await generator.delete_file(file_id)
    await generator.delete_file(file_id)  # already gone: no error
    assert standin.materials.deleted == [file_id]
