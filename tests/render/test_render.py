"""The map picture: DOT from map data, graphviz-pure in a subprocess, the cache."""

from __future__ import annotations

import asyncio
import io
import os
import stat
from pathlib import Path

import pytest
from PIL import Image

from bot.render import MapPicture, Node, PictureCache, Renderer, RenderError, drawable, outline
from bot.render.picture import CURRENT_FILL, PNG_MAX_BYTES, UNOPENED_LINE, to_dot

NODES = [
    Node(1, None, "Key one", opened=True),
    Node(2, None, 'Key "two"', opened=False),
    Node(3, 1, "A sub-concept with a rather long title to wrap", opened=True),
    Node(4, 3, "Deeper", opened=False),
    Node(5, 2, "Beside", opened=False),
]


def big_map(concepts: int) -> list[Node]:
    """Seven key concepts, then six children under each concept in turn."""
    nodes = [Node(n, None, f"Key concept number {n}", opened=n % 2 == 0) for n in range(1, 8)]
    parent = 1
    while len(nodes) < concepts:
        for _ in range(6):
            if len(nodes) < concepts:
                nid = len(nodes) + 1
                nodes.append(Node(nid, parent, f"Sub-concept {nid} of {parent}", nid % 3 == 0))
        parent += 1
    return nodes


def test_dot_highlights_the_concept_and_its_path_only():
    dot = to_dot("Topic", NODES, 4, long_side=1200)
    lines = dot.splitlines()
    on_path = [line for line in lines if "penwidth=3.5" in line]
    assert sorted(on_path) == sorted(["  topic -- c1 [color=\"#E8590C\" penwidth=3.5]",
                                      "  c1 -- c3 [color=\"#E8590C\" penwidth=3.5]",
                                      "  c3 -- c4 [color=\"#E8590C\" penwidth=3.5]"])  # fmt: skip
    current = next(line for line in lines if line.startswith("  c4 ["))
    assert CURRENT_FILL in current
    assert UNOPENED_LINE in next(line for line in lines if line.startswith("  c5 ["))
    assert 'label=<<B>Key "two"</B>>' in dot  # an HTML-like label: key concepts in bold
    assert "label=<A sub-concept<BR/>with a rather<BR/>long title to<BR/>wrap>" in dot
    overview = to_dot("Topic", NODES, None, long_side=1200)
    assert "penwidth=3.5" not in overview and CURRENT_FILL in overview.splitlines()[4]


def test_labels_the_fonts_cannot_draw_are_detected():
    assert drawable("Héllo Wörld — Привет, Ωμέγα, שלום, Tiếng Việt, 5 €") == ""
    assert drawable("量子力学") == "量子力学" and drawable("学学学") == "学"
    assert drawable("Rockets 🚀") == "🚀"
    assert drawable("العربية") != "" and drawable("हिन्दी") != ""


def test_outline_is_depth_first_in_stored_order():
    assert outline(NODES) == (
        (1, "Key one", True),
        (2, "A sub-concept with a rather long title to wrap", True),
        (3, "Deeper", False),
        (1, 'Key "two"', False),
        (2, "Beside", False),
    )


@pytest.mark.parametrize("concepts", [5, 150])
async def test_renders_a_png_within_the_size_limits(concepts: int):
    nodes = NODES if concepts == 5 else big_map(concepts)
    picture = await Renderer().draw("Topic", nodes, nodes[-1].id)
    assert picture.png is not None and len(picture.png) <= PNG_MAX_BYTES
    image = Image.open(io.BytesIO(picture.png))
    image.load()
    assert image.format == "PNG" and 1000 <= max(image.size) <= 1600
    assert picture.size == image.size


async def test_a_map_with_undrawable_labels_gets_no_png_but_an_outline():
    nodes = [*NODES, Node(9, None, "東京", opened=False)]
    picture = await Renderer(program="/nonexistent").draw("Topic", nodes, None)
    assert picture.png is None and picture.undrawable == "東京"
    assert (1, "東京", False) in picture.outline


def fake_program(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-graphviz"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


async def test_a_render_over_its_time_limit_is_killed(tmp_path: Path):
    pid_file = tmp_path / "pid"
    program = fake_program(tmp_path, f"echo $$ > {pid_file}; exec sleep 30")
    with pytest.raises(RenderError, match=r"took over 0\.3 s"):
        await Renderer(timeout=0.3, program=program).draw("Topic", NODES, None)
    with pytest.raises(ProcessLookupError):  # killed and reaped, not left running
        os.kill(int(pid_file.read_text()), 0)


async def test_a_failing_or_missing_program_is_a_render_error(tmp_path: Path):
    with pytest.raises(RenderError, match="failed"):
        await Renderer(program=fake_program(tmp_path, "echo bad >&2; exit 3")).png("graph {}")
    with pytest.raises((RenderError, FileNotFoundError)):
        await Renderer(program=str(tmp_path / "absent")).png("graph {}")


async def test_cache_renders_once_per_key_and_stays_bounded():
    made: list[str] = []
    gate = asyncio.Event()

    def maker(key: str):
        async def make() -> MapPicture:
            made.append(key)
            await gate.wait()
            return MapPicture(key.encode())

        return make

    cache = PictureCache(size=2)
    waiting = [cache.get("a", maker("a")) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    assert {p.png for p in await asyncio.gather(*waiting)} == {b"a"}
    assert made == ["a"]
    for key in ("b", "c"):
        await cache.get(key, maker(key))
    assert len(cache) == 2
    await cache.get("a", maker("a"))  # evicted, so drawn again
    assert made == ["a", "b", "c", "a"]


async def test_a_caller_giving_up_does_not_cancel_the_render_and_failures_are_not_kept():
    gate = asyncio.Event()
    calls = 0

    async def slow() -> MapPicture:
        nonlocal calls
        calls += 1
        await gate.wait()
        if calls == 1:
            raise RenderError("boom")
        return MapPicture(b"png")

    cache = PictureCache()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(cache.get("k", slow), 0.01)
    second = cache.get("k", slow)  # joins the render still running
    gate.set()
    with pytest.raises(RenderError):
        await second
    assert (await cache.get("k", slow)).png == b"png" and calls == 2
