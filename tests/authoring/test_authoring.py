"""Map authoring tools: the linter (shipped maps, planted defects, the CLI) and the export."""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import authoring
from bot.authoring import count_sentences, export_command
from bot.config import Settings
from bot.explore import Explorer
from bot.maps import BundledMaps, load_map_file
from bot.models import BundledMap
from bot.storage import open_storage
from tests.support.fakes import draft

ROOT = Path(__file__).resolve().parents[2]
MAPS_DIR = ROOT / "maps"
SHIPPED = sorted(MAPS_DIR.glob("*.yaml"))
LINT = ROOT / "tests" / "fixtures" / "lint"
BROKEN_MAPS = ROOT / "tests" / "fixtures" / "maps"
SCOPE = 4242

# Each fixture is clean.yaml with one planted defect, and this is all the linter may say.
PLANTED = {
    "too-few-sub-concepts.yaml": "Tide Pools > Crabs: has 2 sub-concepts; write 3 to 5",
    "four-key-concepts.yaml": "Tide Pools: has 4 key concepts; write 5 to 7",
    "duplicate-sibling-titles.yaml": "Tide Pools > Algae > kelp: duplicate title among siblings",
    "title-repeats-topic.yaml": "Tide Pools > Rock Shapes > Tide pools: title repeats the topic",
    "sub-concept-repeats-parent.yaml": (
        "Tide Pools > Rock Shapes > Rock Shapes Over Time: title repeats its parent's title"
    ),
    "two-sentence-summary.yaml": "Tide Pools > Algae: summary is 2 sentences; write one",
    "one-sentence-detail.yaml": (
        "Tide Pools > Shorebirds > Gulls: detail is 1 sentence; write 2 to 5"
    ),
    "six-sentence-detail.yaml": "Tide Pools > Tides: detail is 6 sentences; write 2 to 5",
    "long-overview.yaml": "Tide Pools: overview is 4 sentences; write 2 to 3",
    "title-too-long.yaml": (
        "Tide Pools > Crabs > How Crabs Wave and Drum Their Claws to Warn Rivals and Attract "
        "Mates: title: String should have at most 60 characters (it has 68)"
    ),
    "empty-alias.yaml": "Tide Pools: alias 2 is empty",
    "alias-repeated.yaml": "Tide Pools: alias 'TIDEPOOLS' repeats alias 'Tidepools'",
    "volatile-without-as-of.yaml": (
        "Tide Pools: is volatile: give as_of, the month its facts were checked (YYYY-MM)"
    ),
    "figure-in-volatile-summary.yaml": (
        "Tide Pools > Crabs: summary of a volatile map has a figure that can change (12); "
        "give it with its date in the detail"
    ),
    "near-duplicate-sentence.yaml": (
        "Tide Pools > Shorebirds > Gulls: detail sentence "
        '"Gulls drop hard-shelled prey onto rocks to crack it." nearly repeats the detail of '
        "Tide Pools > Shorebirds > Oystercatchers"
    ),
    "child-restates-parent.yaml": (
        "Tide Pools > Crabs > Hunting and Scavenging: restates its parent (its title and summary "
        "are mostly the parent's words); say what this sub-concept adds"
    ),
}


# Dates are judged against a fixed day, so that no test changes its verdict as time passes.
TODAY = datetime.date(2026, 12, 7)


def lint_file(path: Path | str) -> list[authoring.Problem]:
    return authoring.lint_file(path, today=TODAY)


def lint_paths(paths: list[Path]) -> list[authoring.Problem]:
    return authoring.lint_paths(paths, today=TODAY)


def lines(problems: list[Any]) -> list[str]:
    return [str(problem) for problem in problems]


# -- the CLI, run once per module -------------------------------------------------

CLI_RUNS = {
    "lint fixture": ["maps", "lint", "tests/fixtures/lint/two-sentence-summary.yaml"],
    "lint maps": ["maps", "lint", "maps"],
}


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess]:
    """``python -m bot ...`` for each of CLI_RUNS, run side by side.

    Each run pays for importing the whole bot (the Anthropic SDK alone takes
    seconds), so they start together rather than one after another, and only
    what needs the real command line runs here; the rest calls the functions.
    """
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "KINAPSE_MAPS_DIR": str(MAPS_DIR),
        "KINAPSE_DATABASE": str(tmp_path_factory.mktemp("cli") / "kinapse.db"),
    }
    running = {
        name: subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in CLI_RUNS.items()
    }
    done = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=120)
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    return done


# -- the shipped maps ---------------------------------------------------------------


def test_shipped_maps_have_no_lint_problems() -> None:
    # Against the real today: a map whose as_of has grown old only warns, so time passing
    # never fails the suite; a date in the future or a source missing does.
    assert SHIPPED, f"no bundled maps in {MAPS_DIR}"
    problems = [p for p in authoring.lint_paths([MAPS_DIR]) if not p.warning]
    assert not problems, "lint problems in maps/:\n" + "\n".join(lines(problems))


def test_cli_lint_passes_the_maps_folder(cli: dict[str, subprocess.CompletedProcess]) -> None:
    run = cli["lint maps"]
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1].startswith(f"{len(SHIPPED)} files, no problems")


# -- planted defects ----------------------------------------------------------------


def test_clean_fixture_has_no_problems() -> None:
    # Every planted fixture is this map with one defect: if it were not clean, "alone" below
    # would not mean anything.
    assert lines(lint_file(LINT / "clean.yaml")) == []


def test_every_fixture_has_a_test() -> None:
    fixtures = {path.name for path in LINT.glob("*.yaml")}
    assert fixtures == {"clean.yaml", *PLANTED}


@pytest.mark.parametrize(("name", "expected"), PLANTED.items(), ids=list(PLANTED))
def test_planted_defect_is_reported_alone(name: str, expected: str) -> None:
    path = LINT / name
    assert lines(lint_file(path)) == [f"{path}: {expected}"]
    assert lines(lint_paths([path])) == [f"{path}: {expected}"]


def test_aliases_claimed_by_two_maps_are_reported_in_both() -> None:
    folder = LINT / "alias-collision"
    assert lines(lint_paths([folder])) == [
        f"{folder / 'intertidal-zone.yaml'}: Intertidal Zone: "
        "alias 'TidePools' is also used by tide-pools.yaml",
        f"{folder / 'tide-pools.yaml'}: Tide Pools: "
        "alias 'Tidepools' is also used by intertidal-zone.yaml",
    ]
    # Only a lint across both files can see it.
    assert [lines(lint_file(path)) for path in sorted(folder.glob("*.yaml"))] == [[], []]


def test_alias_that_is_another_maps_topic_is_reported() -> None:
    folder = LINT / "alias-is-topic"
    tide_pools, rock_pools = folder / "tide-pools.yaml", folder / "rock-pools.yaml"
    expected = [f"{tide_pools}: Tide Pools: alias 'Rock Pools' is the topic of rock-pools.yaml"]
    assert lines(lint_paths([tide_pools, rock_pools])) == expected
    assert lines(lint_paths([folder])) == expected
    assert lines(lint_file(tide_pools)) == []


def other_map(sentence: str) -> dict[str, Any]:
    """A map on another topic whose only full sentence (five content words or more) is given."""
    data = clean_map()
    data.update(topic="Rocky Shores", aliases=[])
    concepts = [*data["concepts"], *(c for k in data["concepts"] for c in k["children"])]
    for number, concept in enumerate(concepts, start=1):
        concept["title"] = f"Part {number}"
        concept["summary"] = f"Shore part {number}."
        concept["detail"] = f"Part {number} one. Part {number} two."
    data["overview"] = f"Rocky shores. {sentence}"
    return data


def test_a_sentence_repeated_in_another_map_is_reported_in_the_later_file(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_bytes((LINT / "clean.yaml").read_bytes())
    # Reworded, but the same idea: "A crab grows by shedding its shell ..." (Crabs > Molting).
    repeat = other_map("A crab grows larger by shedding its shell and hardening a new one.")
    second.write_text(yaml.safe_dump(repeat, sort_keys=False), encoding="utf-8")
    assert lines(lint_paths([first, second])) == [
        f"{second}: Rocky Shores: overview sentence "
        '"A crab grows larger by shedding its shell and hardening a…" nearly repeats '
        "the summary of Tide Pools > Crabs > Molting in a.yaml"
    ]
    assert lines(lint_file(second)) == []  # only a lint across both files can see it
    # A sentence on the same subject that says something else is not a repeat.
    other = other_map("A crab sheds its shell in spring, when the water warms.")
    second.write_text(yaml.safe_dump(other, sort_keys=False), encoding="utf-8")
    assert lines(lint_paths([first, second])) == []


def test_a_file_given_twice_does_not_clash_with_itself() -> None:
    path = LINT / "clean.yaml"
    assert lines(lint_paths([path, LINT / ".." / "lint" / "clean.yaml", path])) == []


def test_linter_refuses_every_file_the_loader_refuses() -> None:
    broken = sorted(BROKEN_MAPS.glob("*.yaml"))
    assert broken
    for path in broken:
        with pytest.raises(ValueError):
            load_map_file(path)
        assert lint_file(path), f"{path.name} is refused by the loader but passes lint"


def test_schema_problems_name_the_concept_and_field() -> None:
    path = BROKEN_MAPS / "unknown-field.yaml"
    assert lines(lint_file(path)) == [
        f"{path}: Typo > Two: summary: Field required",
        f"{path}: Typo > Two: sumary: Extra inputs are not permitted",
    ]


def test_cli_lint_prints_the_problem_and_fails(cli: dict[str, subprocess.CompletedProcess]) -> None:
    run = cli["lint fixture"]
    assert run.returncode == 1
    assert run.stdout == (
        "tests/fixtures/lint/two-sentence-summary.yaml: "
        "Tide Pools > Algae: summary is 2 sentences; write one\n"
    )


# -- more defects, made from the clean fixture ------------------------------------------


def clean_map() -> dict[str, Any]:
    return yaml.safe_load((LINT / "clean.yaml").read_text(encoding="utf-8"))


def key_concept(data: dict[str, Any], title: str) -> dict[str, Any]:
    return next(c for c in data["concepts"] if c["title"] == title)


def no_children(data: dict[str, Any]) -> None:
    del key_concept(data, "Crabs")["children"]


def six_children(data: dict[str, Any]) -> None:
    crabs = key_concept(data, "Crabs")["children"]
    crabs += [
        {"title": f"Crab Fact {n}", "summary": "A fact.", "detail": "One. Two."} for n in (4, 5, 6)
    ]


def third_level(data: dict[str, Any]) -> None:
    molting = key_concept(data, "Crabs")["children"][0]
    molting["children"] = [
        {"title": f"Stage {n}", "summary": "A stage.", "detail": "One. Two."} for n in (1, 2, 3)
    ]


def leaf_key_concept(data: dict[str, Any]) -> None:
    key_concept(data, "Crabs")["leaf"] = True


def leaf_key_concept_without_children(data: dict[str, Any]) -> None:
    crabs = key_concept(data, "Crabs")
    del crabs["children"]
    crabs["leaf"] = True


def doubled_space_in_topic(data: dict[str, Any]) -> None:
    data["topic"] = "Tide\u00a0 Pools"


def alias_too_long(data: dict[str, Any]) -> None:
    data["aliases"].append("Pools " * 20)


def alias_is_own_topic(data: dict[str, Any]) -> None:
    data["aliases"].append("tide  POOLS")


def invisible_alias(data: dict[str, Any]) -> None:
    data["aliases"].append("\u200b")


def null_alias(data: dict[str, Any]) -> None:
    data["aliases"].append(None)


def as_of_not_a_date(data: dict[str, Any]) -> None:
    data["as_of"] = "December 2026"


def as_of_no_such_month(data: dict[str, Any]) -> None:
    data["as_of"] = "2026-13"


def sourced(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with one source on every concept, as a volatile map needs."""

    def walk(concepts: list[dict[str, Any]]) -> None:
        for concept in concepts:
            slug = concept["title"].lower().replace(" ", "-").replace("'", "")
            concept["sources"] = [
                {
                    "title": f"Field notes: {concept['title']}",
                    "publisher": "Shore Survey",
                    "url": f"https://shore.example.org/notes/{slug}",
                    "date": "2026-11-02",
                }
            ]
            walk(concept.get("children") or [])

    walk(data["concepts"])
    return data


def volatile(data: dict[str, Any], as_of: str = "2026-12") -> None:
    sourced(data).update(as_of=as_of, volatile=True)


def tides_source(data: dict[str, Any], **change: Any) -> None:
    sourced(data)
    key_concept(data, "Tides")["sources"][0].update(change)


def plain_http_source(data: dict[str, Any]) -> None:
    tides_source(data, url="http://shore.example.org/notes/tides")


def source_without_publisher(data: dict[str, Any]) -> None:
    tides_source(data, publisher=None)


def source_without_date(data: dict[str, Any]) -> None:
    tides_source(data, date=None)


def source_from_the_future(data: dict[str, Any]) -> None:
    tides_source(data, date="2027-01-15")


def source_not_a_date(data: dict[str, Any]) -> None:
    tides_source(data, date="2026-02-30")


def source_after_as_of(data: dict[str, Any]) -> None:
    volatile(data, as_of="2026-10")
    for concept in data["concepts"]:  # every other source predates as_of
        concept["sources"][0]["date"] = "2026-09-30"
        for child in concept.get("children") or []:
            child["sources"][0]["date"] = "2026-09-30"
    key_concept(data, "Tides")["sources"][0]["date"] = "2026-11-02"


def source_given_twice(data: dict[str, Any]) -> None:
    sourced(data)
    tides = key_concept(data, "Tides")["sources"]
    tides.append({**tides[0], "url": "https://SHORE.example.org/notes/tides/", "title": "Again"})


def map_source_with_an_unknown_field(data: dict[str, Any]) -> None:
    data["sources"] = [
        {
            "title": "Atlas",
            "publisher": "Survey",
            "url": "https://a.example",
            "date": "2026",
            "by": 1,
        }
    ]


def as_of_in_the_future(data: dict[str, Any]) -> None:
    data["as_of"] = "2027-01"


def volatile_concept_without_sources(data: dict[str, Any]) -> None:
    volatile(data)
    del key_concept(data, "Crabs")["children"][0]["sources"]


def range_in_volatile_summary(data: dict[str, Any]) -> None:
    volatile(data)
    key_concept(data, "Tides")["summary"] = "The tidal range was 3.50-3.75 metres in December."


def recent_year_in_volatile_summary(data: dict[str, Any]) -> None:
    volatile(data)
    key_concept(data, "Tides")["summary"] = "Tides were first charted here in 2019."


MADE = [
    (no_children, "Tide Pools > Crabs: has no sub-concepts; write 3 to 5"),
    (six_children, "Tide Pools > Crabs: has 6 sub-concepts; write 3 to 5"),
    (
        third_level,
        "Tide Pools > Crabs > Molting: has sub-concepts; curated maps are two levels deep",
    ),
    (
        leaf_key_concept,
        "Tide Pools > Crabs: is marked a leaf but has sub-concepts",
    ),
    (
        leaf_key_concept_without_children,
        "Tide Pools > Crabs: is marked a leaf; key concepts need 3 to 5 sub-concepts",
    ),
    (doubled_space_in_topic, "Tide\u00a0 Pools: topic has invisible or doubled characters"),
    (
        alias_too_long,
        f"Tide Pools: alias {'Pools ' * 20!r}: Topics can be at most 100 characters long.",
    ),
    (alias_is_own_topic, "Tide Pools: alias 'tide  POOLS' is the topic itself"),
    (invisible_alias, "Tide Pools: alias 3 is empty"),
    (null_alias, "Tide Pools: alias 3 is empty"),
    (as_of_not_a_date, "Tide Pools: as_of: Value error, write a date as YYYY-MM or YYYY-MM-DD"),
    (as_of_no_such_month, "Tide Pools: as_of: Value error, 2026-13 is not a date"),
    (
        range_in_volatile_summary,
        "Tide Pools > Tides: summary of a volatile map has a figure that can change (3.50); "
        "give it with its date in the detail",
    ),
    (
        recent_year_in_volatile_summary,
        "Tide Pools > Tides: summary of a volatile map has a figure that can change (2019); "
        "give it with its date in the detail",
    ),
    (plain_http_source, "Tide Pools > Tides: sources 1: url must start with https://"),
    (source_without_publisher, "Tide Pools > Tides: sources 1: give its publisher"),
    (
        source_without_date,
        "Tide Pools > Tides: sources 1: give the date it was published (YYYY-MM-DD)",
    ),
    (source_from_the_future, "Tide Pools > Tides: sources 1: date 2027-01-15 is in the future"),
    (
        source_not_a_date,
        "Tide Pools > Tides: sources.0.date: Value error, 2026-02-30 is not a date",
    ),
    (
        source_after_as_of,
        "Tide Pools > Tides: sources 1: dated 2026-11-02, after the map's as_of 2026-10; "
        "move as_of to when the map was checked",
    ),
    (
        source_given_twice,
        "Tide Pools > Tides: sources 2: repeats sources 1 (https://SHORE.example.org/notes/tides/)",
    ),
    (
        map_source_with_an_unknown_field,
        "Tide Pools: sources.0.by: Extra inputs are not permitted",
    ),
    (
        as_of_in_the_future,
        "Tide Pools: as_of 2027-01 is in the future; give the month you checked",
    ),
    (
        volatile_concept_without_sources,
        "Tide Pools > Crabs > Molting: has no sources; a volatile map gives each concept at "
        "least one",
    ),
]


def test_volatile_map_with_its_date_and_history_in_summaries_is_clean(tmp_path: Path) -> None:
    data = sourced(clean_map())
    # Unquoted, YAML reads a full date as a date, not text: both spellings are accepted.
    data.update(as_of=datetime.date(2026, 12, 1), volatile=True)
    # A year long past, a decade and the day of a date are not figures that can change.
    key_concept(data, "Tides")["summary"] = "Tides were first charted here on 7 October 1911."
    key_concept(data, "Crabs")["summary"] = "Crabs were counted here in the 1920s."
    key_concept(data, "Tides")["detail"] += " In 2025 the range was 4.2 metres."
    path = tmp_path / "map.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    assert lines(lint_file(path)) == []
    assert load_map_file(path).as_of == "2026-12-01"


@pytest.mark.parametrize(("change", "expected"), MADE, ids=[c.__name__ for c, _ in MADE])
def test_made_defect_is_reported_alone(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    data = clean_map()
    change(data)
    path = tmp_path / "map.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    assert lines(lint_file(path)) == [f"{path}: {expected}"]


def test_a_volatile_map_checked_long_ago_warns_and_still_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = clean_map()
    volatile(data, as_of="2026-05")
    for concept in data["concepts"]:
        for source in [concept, *(concept.get("children") or [])]:
            source["sources"][0]["date"] = "2026-04-30"
    path = tmp_path / "map.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    warning = (
        f"{path}: Tide Pools: warning: as_of 2026-05 is more than six months old; "
        "check the facts again"
    )
    assert lines(lint_file(path)) == [warning]
    # Six months to the day is not yet stale.
    assert authoring.lint_file(path, today=datetime.date(2026, 11, 1)) == []
    assert authoring.lint_command([str(path)], today=TODAY) == 0
    assert capsys.readouterr().out == f"{warning}\n1 file, no problems, 1 warning\n"


def test_key_given_twice_is_reported(tmp_path: Path) -> None:
    # YAML keeps the last value silently; the author meant one of them.
    text = (LINT / "clean.yaml").read_text(encoding="utf-8")
    path = tmp_path / "map.yaml"
    path.write_text(text.replace("language: en\n", "language: en\nlanguage: fr\n"), "utf-8")
    line = text.splitlines().index("language: en") + 2
    assert lines(lint_file(path)) == [
        f"{path}: Tide Pools: key 'language' is given twice in one mapping (line {line})"
    ]


def test_paths_that_are_not_maps_are_reported(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.yaml").write_text("topic: [unclosed\n", encoding="utf-8")
    problems = lines(lint_paths([tmp_path / "missing.yaml", tmp_path / "empty"]))
    assert problems == [
        f"{tmp_path / 'missing.yaml'}: no such file or folder",
        f"{tmp_path / 'empty'}: folder has no .yaml files",
    ]
    [unreadable] = lines(lint_file(tmp_path / "bad.yaml"))
    assert unreadable.startswith(f"{tmp_path / 'bad.yaml'}: cannot be read as YAML: ")
    assert "\n" not in unreadable


# -- sentences ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 0),
        ("   ", 0),
        ("One sentence.", 1),
        ("No full stop at the end", 1),
        ("Rates rose 2.5 percent. Then they fell.", 2),
        ("See e.g. the paper by Vaswani and colleagues.", 1),
        ("Was it 2017? 2018 is likelier.", 2),
        ('He said "Stop." Then he left!', 2),
        ("It fell (sharply.) Then it rose.", 2),
        ('It ended. "What now?" she asked.', 2),
        ("It ended. “What now?” she asked.", 2),
        ("Ça va. École ouverte.", 2),
        ("Wait!Now", 1),
        ("First.\nSecond.\n\nThird.", 3),
        # Initials and abbreviations do not end a sentence; names keep their diacritics.
        ("The U.S. Navy patrols the Gulf. It has done so since 1949.", 2),
        ("William T. R. Fox coined the word in 1944. He meant three states.", 2),
        ("A* finds the shortest path. Dijkstra's algorithm is its special case.", 2),
        ("It searches with A*. Then it stops.", 2),
        ("Some readers, e.g. Dr. Øystein Tunsjø, disagree. Others agree.", 2),
        ("Øystein Tunsjø wrote it. Éric Zemmour did not.", 2),
        ("Prices fell in Jan. 2016 and rose again. They fell later.", 2),
        ("He left the U.S.", 1),
    ],
)
def test_count_sentences(text: str, count: int) -> None:
    assert count_sentences(text) == count


# -- export -------------------------------------------------------------------------


@pytest.fixture
def one_map(tmp_path: Path) -> tuple[Settings, BundledMap]:
    """Settings whose maps folder holds one shipped map (loading all of them is slow)."""
    folder = tmp_path / "maps"
    folder.mkdir()
    source = SHIPPED[0]
    (folder / source.name).write_bytes(source.read_bytes())
    settings = Settings(maps_dir=folder, database=tmp_path / "kinapse.db")
    return settings, load_map_file(source)


async def test_export_markdown_of_a_bundled_map(
    one_map: tuple[Settings, BundledMap], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, bundled = one_map
    assert await export_command(settings, bundled.topic.upper(), "markdown", None) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"# {bundled.topic}\n\n*Curated · as of {bundled.as_of}*\n\n")
    assert f"\n\n{bundled.overview}" in out
    for concept in bundled.concepts:
        assert f"\n## {concept.title}\n\n**{concept.summary}**\n\n{concept.detail}" in out
        for child in concept.children or []:
            assert f"\n### {child.title}\n\n**{child.summary}**\n" in out
    assert out.count("\n## ") == len(bundled.concepts)
    # Every source is a footnote, once, after the text it supports.
    urls = {s.url for s in bundled.sources}
    urls |= {s.url for c in bundled.concepts for s in c.sources}
    urls |= {s.url for c in bundled.concepts for k in c.children or [] for s in k.sources}
    assert urls
    for url in urls:
        assert out.count(f"](<{url}>)") == 1, url
    assert re.search(rf"{re.escape(bundled.concepts[0].detail)}\[\^\d+\]", out)


async def test_export_json_of_a_bundled_map_round_trips(
    one_map: tuple[Settings, BundledMap], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, bundled = one_map
    topic = bundled.aliases[0] if bundled.aliases else bundled.topic
    assert await export_command(settings, topic, "json", None) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["topic"], data["source"], data["language"]) == (
        bundled.topic,
        "bundled",
        bundled.language,
    )
    assert data["overview"] == bundled.overview
    assert len(data["concepts"]) == len(bundled.concepts)
    first, expected = data["concepts"][0], bundled.concepts[0]
    assert set(first) == {
        "title",
        "summary",
        "detail",
        "children",
        "leaf",
        "sources",
        "model",
        "written",
    }
    assert first["sources"] == [s.model_dump() for s in expected.sources]
    assert (first["model"], first["written"]) == (None, None)  # curated
    assert [c["title"] for c in first["children"]] == [c.title for c in expected.children or []]
    assert first["children"][0]["children"] is None


async def test_export_of_an_unknown_topic_fails_clearly(
    one_map: tuple[Settings, BundledMap], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, bundled = one_map
    assert await export_command(settings, "No Such Topic", "markdown", None) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "No bundled map for 'No Such Topic'" in err
    assert bundled.topic in err  # what is available instead


async def test_export_stored_map_with_its_expansions(
    one_map: tuple[Settings, BundledMap], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, bundled = one_map
    async with open_storage(settings.database) as storage:
        explorer = Explorer(storage, BundledMaps.load(settings.maps_dir), settings)
        stored = await explorer.topics.lookup(SCOPE, bundled.topic)
        assert stored is not None
        [first, *_] = await storage.key_concepts(stored.id)
        grown, leaf, *_ = await storage.children(first.id)
        deeper = [draft("Deeper One"), draft("Deeper Two"), draft("Deeper Three")]
        await storage.store_expansion(grown.id, deeper, leaf=False)
        await storage.store_expansion(leaf.id, [], leaf=True)

    assert await export_command(settings, bundled.topic, "json", SCOPE) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["topic"], data["source"]) == (bundled.topic, "bundled")
    assert len(data["concepts"]) == len(bundled.concepts)
    grown_json, leaf_json = data["concepts"][0]["children"][:2]
    assert [c["title"] for c in grown_json["children"]] == [d.title for d in deeper]
    assert grown_json["children"][0]["children"] is None
    assert (leaf_json["leaf"], leaf_json["children"]) == (True, None)

    assert await export_command(settings, bundled.topic, "markdown", SCOPE) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"# {bundled.topic}\n")
    assert f"\n### {grown.title}\n" in out
    assert "\n#### Deeper One\n\n**Deeper One in one sentence.**\n" in out


async def test_export_with_a_scope_that_has_no_such_map_fails(
    one_map: tuple[Settings, BundledMap], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, bundled = one_map
    assert await export_command(settings, bundled.topic, "json", SCOPE) == 1
    assert "No database at" in capsys.readouterr().err
    assert not settings.database.exists()  # an export never creates a database

    async with open_storage(settings.database):
        pass
    assert await export_command(settings, bundled.topic, "json", SCOPE) == 1
    assert f"No stored map for {bundled.topic!r} in scope {SCOPE}" in capsys.readouterr().err
