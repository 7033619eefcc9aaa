"""``python -m bot maps lint``: curated maps held to a stricter standard than the loader's.

The loader only refuses what the bot cannot serve (``bot.models`` limits); a
curated map must also read well: 5 to 7 key concepts with 3 to 5
sub-concepts each, one-sentence summaries, 2-to-5-sentence details, no title
that echoes its parent, a sibling or the topic, and aliases that find exactly
one map. It also looks for repeats: sentences that nearly repeat another in the
map or anywhere in the library, and sub-concepts that restate their parent; and
for freshness and trust (``bot.authoring.sources``): a ``volatile`` map needs a
recent ``as_of``, summaries without figures that can change, and sources.
"""

from __future__ import annotations

import datetime
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regex
import yaml
from pydantic import ValidationError

from bot.authoring.sources import SourceChecks
from bot.authoring.words import (
    Sentence,
    figures,
    map_sentences,
    near_duplicates,
    sentence_count,
    wanted,
)
from bot.models import BundledConcept, BundledMap, TopicError, clean_topic, topic_key
from bot.text import clean_text, content_words, count_sentences

# What a curated map needs beyond what the model accepts (4-7 key concepts, 3-6 children).
BUNDLED_KEY_CONCEPTS = (5, 7)
BUNDLED_SUB_CONCEPTS = (3, 5)
BUNDLED_DEPTH = 2  # key concepts and their sub-concepts; deeper levels are generated
SUMMARY_SENTENCES = (1, 1)
DETAIL_SENTENCES = (2, 5)
OVERVIEW_SENTENCES = (2, 3)

# A sub-concept restates its parent when this share of the content words of its title and
# summary is already in the parent's title, summary and detail.
RESTATES_PARENT = 0.75
RESTATES_MIN_WORDS = 4
FAILED = 1  # exit status: a problem found


# -- problems -----------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing to fix: the file (as given), the titles down to the spot, and what is wrong.

    A ``warning`` is printed but does not fail the lint (a map whose date is getting old)."""

    file: str
    trail: tuple[str, ...]
    message: str
    warning: bool = False

    def __str__(self) -> str:
        where = f"{self.file}: {' > '.join(self.trail)}" if self.trail else self.file
        return f"{where}: {'warning: ' if self.warning else ''}{self.message}"


@dataclass
class _Linted:
    """One file's problems, and its map when it validated (for the checks across files)."""

    file: str
    problems: list[Problem]
    bundled: BundledMap | None = None


class _DuplicateKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe YAML loader that records keys given twice in one mapping.

    Plain YAML loading keeps the last value silently, so a second ``detail:``
    would quietly replace the first one's text.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                continue
            if key in seen:
                self.duplicates.append((key, key_node.start_mark.line + 1))
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _norm(title: str) -> str:
    """A title as compared with others: case and spacing do not make it different."""
    return " ".join(title.split()).casefold()


def _repeats(title: str, parent: str) -> bool:
    """Whether ``title`` is ``parent`` or contains it as whole words ("Oil Reserves Estimates").

    Whole words, so that a parent "AI" does not catch a child "Chain Rule".
    """
    return regex.search(rf"(?<!\w){regex.escape(parent)}(?!\w)", title) is not None


class _FileLinter:
    """The checks of one file; ``problems`` collects what they find."""

    def __init__(self, file: str, today: datetime.date) -> None:
        self.file = file
        self.today = today
        self.problems: list[Problem] = []

    def add(self, trail: Sequence[str], message: str) -> None:
        self.problems.append(Problem(self.file, tuple(trail), message))

    def warn(self, trail: Sequence[str], message: str) -> None:
        self.problems.append(Problem(self.file, tuple(trail), message, warning=True))

    def run(self, path: Path) -> BundledMap | None:
        try:
            text = path.read_text(encoding="utf-8")
            loader = _DuplicateKeyLoader(text)
            try:
                data = loader.get_single_data()
            finally:
                loader.dispose()
        except FileNotFoundError:
            self.add((), "no such file")
            return None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            self.add((), f"cannot be read as YAML: {' '.join(str(exc).split())}")
            return None
        if not isinstance(data, dict):
            self.add((), "is not a mapping of topic, overview and concepts")
            return None
        topic = data.get("topic")
        head = (topic.strip(),) if isinstance(topic, str) and topic.strip() else ()
        for key, line in loader.duplicates:
            self.add(head, f"key {key!r} is given twice in one mapping (line {line})")
        try:
            bundled = BundledMap.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                self._schema_problem(data, head, error)
            return None
        self._check_map(bundled)
        return bundled

    def _schema_problem(self, data: dict, head: tuple[str, ...], error: Any) -> None:
        """Report one validation error at the concept it is about, naming the failing field."""
        trail = list(head)
        node: Any = data
        loc = list(error["loc"])
        # Walk down concepts/children lists, naming each concept by its title.
        while (
            len(loc) > 2  # a concept's own field follows; else the list itself failed
            and loc[0] in ("concepts", "children")
            and isinstance(loc[1], int)
            and isinstance(node, dict)
            and isinstance(node.get(loc[0]), list)
        ):
            node = node[loc[0]][loc[1]]
            title = node.get("title") if isinstance(node, dict) else None
            named = isinstance(title, str) and title.strip()
            trail.append(title.strip() if named else f"concept {loc[1] + 1}")
            loc = loc[2:]
        field = ".".join(str(part) for part in loc) or "(top level)"
        kind, context, value = error["type"], error.get("ctx") or {}, error.get("input")
        if loc[:1] == ["aliases"] and len(loc) == 2 and value is None:
            self.add(trail, f"alias {loc[1] + 1} is empty")
        elif kind in ("too_short", "too_long") and field in ("concepts", "children"):
            count = context.get("actual_length", len(value) if isinstance(value, list) else 0)
            self._count_problem(trail, field, count)
        elif kind == "string_too_long" and isinstance(value, str):
            self.add(trail, f"{field}: {error['msg']} (it has {len(value.strip())})")
        else:
            self.add(trail, f"{field}: {error['msg']}")

    def _count_problem(self, trail: Sequence[str], field: str, count: int) -> None:
        if field == "concepts":
            self.add(trail, f"has {count} key concepts; write {wanted(BUNDLED_KEY_CONCEPTS)}")
        else:
            self.add(trail, f"has {count} sub-concepts; write {wanted(BUNDLED_SUB_CONCEPTS)}")

    def _check_sentences(
        self, trail: Sequence[str], field: str, text: str, limits: tuple[int, int]
    ) -> None:
        count = count_sentences(text)
        if not limits[0] <= count <= limits[1]:
            self.add(trail, f"{field} is {sentence_count(count)}; write {wanted(limits)}")

    def _check_map(self, bundled: BundledMap) -> None:
        head = (bundled.topic,)
        try:
            if clean_topic(bundled.topic) != bundled.topic:
                self.add(head, "topic has invisible or doubled characters")
        except TopicError as exc:
            self.add(head, f"topic: {exc}")
        self._check_aliases(bundled)
        self._check_sentences(head, "overview", bundled.overview, OVERVIEW_SENTENCES)
        low, high = BUNDLED_KEY_CONCEPTS
        if not low <= len(bundled.concepts) <= high:
            self._count_problem(head, "concepts", len(bundled.concepts))
        self._check_level(bundled.concepts, [bundled.topic], depth=1)
        if bundled.volatile:
            self._check_volatile(bundled)
        SourceChecks(self.add, self.warn, self.today).check(bundled)
        self._check_repeats(bundled)

    def _check_volatile(self, bundled: BundledMap) -> None:
        head = (bundled.topic,)
        if bundled.as_of is None:
            self.add(head, "is volatile: give as_of, the month its facts were checked (YYYY-MM)")

        def walk(concepts: Sequence[BundledConcept], path: tuple[str, ...]) -> None:
            for concept in concepts:
                trail = (*path, concept.title)
                if found := figures(concept.summary, bundled.as_of):
                    self.add(
                        trail,
                        f"summary of a volatile map has a figure that can change ({found[0]}); "
                        "give it with its date in the detail",
                    )
                walk(concept.children or [], trail)

        walk(bundled.concepts, head)

    def _check_repeats(self, bundled: BundledMap) -> None:
        """Sentences that nearly repeat another of the map; children that restate their parent."""
        sentences = map_sentences(bundled)
        for earlier, later in near_duplicates([sentence.words for sentence in sentences]):
            first, second = sentences[earlier], sentences[later]
            self.add(
                second.trail,
                f"{second.field} sentence {second.quote()} nearly repeats {first.place()}",
            )
        for concept in bundled.concepts:
            parent = content_words(f"{concept.title} {concept.summary} {concept.detail}")
            for child in concept.children or []:
                words = content_words(f"{child.title} {child.summary}")
                if len(words) >= RESTATES_MIN_WORDS and len(
                    words & parent
                ) >= RESTATES_PARENT * len(words):
                    self.add(
                        (bundled.topic, concept.title, child.title),
                        "restates its parent (its title and summary are mostly the parent's"
                        " words); say what this sub-concept adds",
                    )

    def _check_aliases(self, bundled: BundledMap) -> None:
        head = (bundled.topic,)
        try:
            topic = topic_key(bundled.topic)
        except TopicError:
            topic = None  # reported with the topic
        seen: dict[str, str] = {}
        for number, alias in enumerate(bundled.aliases, start=1):
            try:
                key = topic_key(alias)
            except TopicError as exc:
                if clean_text(alias):
                    self.add(head, f"alias {alias!r}: {exc}")
                else:
                    self.add(head, f"alias {number} is empty")
                continue
            if key == topic:
                self.add(head, f"alias {alias!r} is the topic itself")
            elif key in seen:
                self.add(head, f"alias {alias!r} repeats alias {seen[key]!r}")
            else:
                seen[key] = alias

    def _check_level(
        self, concepts: Sequence[BundledConcept], path: list[str], *, depth: int
    ) -> None:
        """Check the sibling ``concepts`` at ``depth`` (1: key concepts) below ``path``."""
        seen: set[str] = set()
        for concept in concepts:
            trail = [*path, concept.title]
            title = _norm(concept.title)
            if title in seen:
                self.add(trail, "duplicate title among siblings")
            seen.add(title)
            self._check_title(trail, path, depth)
            self._check_sentences(trail, "summary", concept.summary, SUMMARY_SENTENCES)
            self._check_sentences(trail, "detail", concept.detail, DETAIL_SENTENCES)
            self._check_children(concept, trail, depth)

    def _check_title(self, trail: list[str], path: list[str], depth: int) -> None:
        title, topic = _norm(trail[-1]), _norm(path[0])
        if depth > 1 and _repeats(title, _norm(path[-1])):
            self.add(trail, "title repeats its parent's title")
        elif title == topic:
            self.add(trail, "title repeats the topic")
        elif title in {_norm(ancestor) for ancestor in path[1:]}:
            self.add(trail, "title repeats an ancestor's title")

    def _check_children(self, concept: BundledConcept, trail: list[str], depth: int) -> None:
        children = concept.children
        if concept.leaf and children:
            self.add(trail, "is marked a leaf but has sub-concepts")
            return
        if depth >= BUNDLED_DEPTH:
            if children is not None:
                self.add(trail, "has sub-concepts; curated maps are two levels deep")
            return
        low, high = BUNDLED_SUB_CONCEPTS
        if concept.leaf:
            self.add(
                trail, f"is marked a leaf; key concepts need {wanted((low, high))} sub-concepts"
            )
        elif not children:
            self.add(trail, f"has no sub-concepts; write {wanted((low, high))}")
        else:
            if not low <= len(children) <= high:
                self._count_problem(trail, "children", len(children))
            self._check_level(children, trail, depth=depth + 1)


def _lint_one(path: Path, file: str, today: datetime.date) -> _Linted:
    linter = _FileLinter(file, today)
    bundled = linter.run(path)
    return _Linted(file, linter.problems, bundled)


def _check_across(linted: Sequence[_Linted]) -> list[Problem]:
    """Topics and aliases that two of the files claim: the bot would find only one map."""
    valid = [entry for entry in linted if entry.bundled is not None]
    topics: defaultdict[str, list[str]] = defaultdict(list)
    aliases: defaultdict[str, list[str]] = defaultdict(list)
    for entry in valid:
        assert entry.bundled is not None
        topics[_key_or_none(entry.bundled.topic) or ""].append(entry.file)
        for key in dict.fromkeys(filter(None, map(_key_or_none, entry.bundled.aliases))):
            aliases[key].append(entry.file)

    def others(owners: Iterable[str], file: str) -> str:
        return ", ".join(Path(owner).name for owner in owners if owner != file)

    problems: list[Problem] = []
    for entry in valid:
        assert entry.bundled is not None
        head, file = (entry.bundled.topic,), entry.file
        key = _key_or_none(entry.bundled.topic)
        if key and (names := others(topics[key], file)):
            problems.append(Problem(file, head, f"topic is also the topic of {names}"))
        reported: set[str] = set()
        for alias in entry.bundled.aliases:
            key = _key_or_none(alias)
            if not key or key in reported:
                continue
            reported.add(key)
            if names := others(topics[key], file):
                problems.append(Problem(file, head, f"alias {alias!r} is the topic of {names}"))
            elif names := others(aliases[key], file):
                problems.append(Problem(file, head, f"alias {alias!r} is also used by {names}"))
    return problems + _repeats_across(valid)


def _repeats_across(valid: Sequence[_Linted]) -> list[Problem]:
    """Sentences that nearly repeat a sentence of another map (reported in the later file)."""
    owners: list[str] = []
    sentences: list[Sentence] = []
    for entry in valid:
        assert entry.bundled is not None
        found = map_sentences(entry.bundled)
        owners += [entry.file] * len(found)
        sentences += found
    problems = []
    for earlier, later in near_duplicates([sentence.words for sentence in sentences]):
        if owners[earlier] == owners[later]:
            continue  # reported by the file's own checks
        first, second = sentences[earlier], sentences[later]
        problems.append(
            Problem(
                owners[later],
                second.trail,
                f"{second.field} sentence {second.quote()} nearly repeats "
                f"{first.place()} in {Path(owners[earlier]).name}",
            )
        )
    return problems


def _key_or_none(text: str) -> str | None:
    try:
        return topic_key(text)
    except TopicError:
        return None  # reported by the file's own checks


def _expand(paths: Iterable[Path | str]) -> tuple[list[tuple[Path, str]], list[Problem]]:
    """The files to lint, as (path, name to show), and problems with the paths themselves.

    A file named twice (say ``maps`` and ``maps/llm.yaml``) is linted once, or it
    would clash with itself in the checks across files.
    """
    files: dict[Path, str] = {}
    problems: list[Problem] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(path.glob("*.yaml"))
            if not found:
                problems.append(Problem(str(given), (), "folder has no .yaml files"))
            for file in found:
                files.setdefault(file.resolve(), str(file))
        elif path.exists():
            files.setdefault(path.resolve(), str(given))
        else:
            problems.append(Problem(str(given), (), "no such file or folder"))
    return [(Path(name), name) for name in files.values()], problems


def lint_file(path: Path | str, *, today: datetime.date | None = None) -> list[Problem]:
    """The problems of one map file on its own (aliases shared with other maps need lint_paths);
    dates are judged against ``today`` (the real today unless given)."""
    return _lint_one(Path(path), str(path), today or datetime.date.today()).problems


def lint_paths(paths: Iterable[Path | str], *, today: datetime.date | None = None) -> list[Problem]:
    """The problems of every file given (folders: their ``*.yaml``), checked across files too."""
    files, problems = _expand(paths)
    return problems + _lint_files(files, today or datetime.date.today())


def _lint_files(files: Sequence[tuple[Path, str]], today: datetime.date) -> list[Problem]:
    linted = [_lint_one(path, name, today) for path, name in files]
    across = _check_across(linted)
    # Keep each file's problems together, in the order the files were given.
    order = {entry.file: index for index, entry in enumerate(linted)}
    problems = [problem for entry in linted for problem in entry.problems] + across
    return sorted(problems, key=lambda problem: order[problem.file])


def lint_command(paths: Sequence[str], *, today: datetime.date | None = None) -> int:
    """``python -m bot maps lint``: one line per problem and warning; exit status 1 if there
    is a problem (warnings alone pass)."""
    files, problems = _expand(paths)
    problems += _lint_files(files, today or datetime.date.today())
    count = len(files)
    noun = "file" if count == 1 else "files"
    for problem in problems:
        print(problem)
    failures = [problem for problem in problems if not problem.warning]
    warnings = len(problems) - len(failures)
    warned = f", {_count(warnings, 'warning')}" if warnings else ""
    if not failures:
        print(f"{count} {noun}, no problems{warned}")
        return 0
    print(f"{_count(len(failures), 'problem')}{warned} in {count} {noun} checked", file=sys.stderr)
    return FAILED


def _count(number: int, noun: str) -> str:
    return f"1 {noun}" if number == 1 else f"{number} {noun}s"
