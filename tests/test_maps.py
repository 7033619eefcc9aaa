"""Bundled maps: every shipped file is valid, broken files are reported by name and field."""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.maps import BundledMaps, load_map_file
from bot.models import BundledMap, clean_topic, topic_key
from tests.support.fakes import write_map_file

MAPS_DIR = PROJECT_ROOT / "maps"
FIXTURES = Path(__file__).parent / "fixtures" / "maps"
SHIPPED = sorted(MAPS_DIR.glob("*.yaml"))


@cache
def shipped(path: Path) -> BundledMap:
    """A shipped map, parsed once for all the tests below (YAML parsing is the slow part)."""
    return load_map_file(path)


def test_maps_folder_is_not_empty() -> None:
    assert SHIPPED, f"no bundled maps in {MAPS_DIR}"


def test_every_shipped_map_is_valid() -> None:
    failures = []
    for path in SHIPPED:
        try:
            shipped(path)
        except ValueError as exc:
            failures.append(f"{path.name}: {exc}")
    assert not failures, "invalid bundled maps:\n" + "\n".join(failures)


def test_only_yaml_files_in_maps_folder() -> None:
    # Anything else there is silently ignored by the loader: probably a misnamed map.
    others = [p.name for p in MAPS_DIR.iterdir() if p.suffix != ".yaml"]
    assert not others, f"not loaded (maps must end in .yaml): {others}"


def test_shipped_topics_and_aliases_are_unique() -> None:
    owners: dict[str, str] = {}
    clashes = []
    for path in SHIPPED:
        bundled = shipped(path)
        for key in dict.fromkeys([bundled.key, *bundled.alias_keys]):
            if key in owners:
                clashes.append(f"{path.name}: {key!r} is already used by {owners[key]}")
            owners[key] = path.name
    assert not clashes, "topic or alias found by two maps:\n" + "\n".join(clashes)


def test_shipped_topics_are_clean() -> None:
    topics = [shipped(path).topic for path in SHIPPED]
    unclean = [topic for topic in topics if clean_topic(topic) != topic]
    assert not unclean, f"topics with invisible or doubled characters: {unclean}"


def test_every_shipped_map_is_found_by_its_topic() -> None:
    bundled = BundledMaps()
    for path in SHIPPED:
        bundled.add(shipped(path))
    lost = [m.topic for m in bundled.maps if bundled.find(m.key) is not m]
    assert not lost, f"maps hidden by another map with the same topic: {lost}"


@pytest.mark.skipif(
    not (MAPS_DIR / "large-language-models.yaml").exists(), reason="LLM map not shipped"
)
def test_shipped_llm_map_is_found_by_alias() -> None:
    bundled = BundledMaps.load(MAPS_DIR)
    assert [str(e) for e in bundled.errors] == []
    found = bundled.find(topic_key("LLM"))
    assert found is not None
    assert found.topic == "Large Language Models"
    assert bundled.find(topic_key("large  LANGUAGE models")) is found


def test_renamed_superpowers_map_keeps_its_old_name_as_an_alias() -> None:
    # Renamed so that AI servers' "Superpowers" (a Claude Code plugin) is not taken for geopolitics;
    # servers that typed the old name must still reach it.
    bundled = BundledMaps.load(MAPS_DIR)
    found = bundled.find(topic_key("Superpowers"))
    assert found is not None
    assert found.topic == "Superpowers (Geopolitics)"


# -- the loader on broken files ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("title-too-long.yaml", "concepts.2.title: String should have at most 60 characters"),
        ("two-children.yaml", "concepts.0.children: List should have at least 3 items"),
        ("too-few-concepts.yaml", "concepts: List should have at least 4 items"),
        ("unknown-field.yaml", "concepts.1.summary: Field required"),
        ("blank-alias.yaml", "topic or alias: That topic is empty"),
        ("not-a-mapping.yaml", "is not a mapping of topic, overview and concepts"),
        ("not-yaml.yaml", "cannot be read as YAML"),
    ],
)
def test_broken_file_error_names_the_field(name: str, expected: str) -> None:
    with pytest.raises(ValueError) as raised:
        load_map_file(FIXTURES / name)
    assert str(raised.value).startswith(expected)


def test_load_keeps_good_maps_and_reports_broken_ones(tmp_path: Path) -> None:
    write_map_file(tmp_path, "Good Topic", aliases=["GT"])
    shutil.copy(FIXTURES / "title-too-long.yaml", tmp_path / "broken.yaml")
    shutil.copy(FIXTURES / "not-yaml.yaml", tmp_path / "garbled.yaml")

    bundled = BundledMaps.load(tmp_path)

    assert [m.topic for m in bundled.maps] == ["Good Topic"]
    errors = sorted(str(e) for e in bundled.errors)
    assert len(errors) == 2
    assert errors[0].startswith("broken.yaml: concepts.2.title:")
    assert errors[1].startswith("garbled.yaml: cannot be read as YAML")
    assert bundled.find(topic_key("Long Titles")) is None
    assert bundled.find(topic_key("gt")) is bundled.maps[0]


def test_every_fixture_is_refused(tmp_path: Path) -> None:
    # Guards the fixtures themselves: each one must stay broken.
    for path in FIXTURES.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    bundled = BundledMaps.load(tmp_path)
    assert bundled.maps == []
    assert sorted(e.path.name for e in bundled.errors) == sorted(
        p.name for p in FIXTURES.glob("*.yaml")
    )


def test_aliases_find_the_map_in_any_spelling(tmp_path: Path) -> None:
    write_map_file(tmp_path, "Large Language Models", aliases=["LLM", "LLMs"])
    write_map_file(tmp_path, "Macroeconomics", aliases=["Macro"])
    bundled = BundledMaps.load(tmp_path)

    llm = bundled.find(topic_key("Large Language Models"))
    assert llm is not None
    for spelling in (
        "LLM",
        "llm",
        "ＬＬＭ",
        " LLMs ",
        "L\u200dLM",
        "LLM\u200b",
        "large\u200blanguage models",
    ):
        assert bundled.find(topic_key(spelling)) is llm, spelling
    assert bundled.find(topic_key("macro")).topic == "Macroeconomics"
    assert bundled.find(topic_key("Microeconomics")) is None


def test_a_topic_wins_over_another_maps_alias(tmp_path: Path) -> None:
    write_map_file(tmp_path, "Agents", name="a.yaml")
    write_map_file(tmp_path, "AI Agents", aliases=["Agents"], name="b.yaml")
    write_map_file(tmp_path, "Software Agents", aliases=["Agents", "Bots"], name="c.yaml")
    bundled = BundledMaps.load(tmp_path)

    assert bundled.find(topic_key("agents")).topic == "Agents"
    assert bundled.find(topic_key("bots")).topic == "Software Agents"


def test_two_level_map_loads_children_and_leaves(tmp_path: Path) -> None:
    path = write_map_file(
        tmp_path, "Cells", children={0: ["Nucleus", "Ribosome", "Membrane"]}, leaves=[3]
    )
    cells = load_map_file(path)
    assert [c.title for c in cells.concepts[0].children or []] == [
        "Nucleus",
        "Ribosome",
        "Membrane",
    ]
    assert cells.concepts[1].children is None
    assert cells.concepts[3].leaf is True


def test_a_second_file_with_the_same_topic_is_reported_not_silently_used(tmp_path: Path) -> None:
    write_map_file(tmp_path, "Tea", name="a.yaml")
    write_map_file(tmp_path, "TEA", titles=("One", "Two", "Three", "Four"), name="b.yaml")
    loaded = BundledMaps.load(tmp_path)
    assert [m.concepts[0].title for m in loaded.maps] == ["Alpha"]
    assert [str(e) for e in loaded.errors] == [
        "b.yaml: topic: 'TEA' is already another file's topic"
    ]
