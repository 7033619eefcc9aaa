"""Quick author check for a map file (temporary; the real linter is `python -m bot maps lint`)."""

import re
import sys

import yaml

from bot.models import BundledMap

SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def sentences(text: str) -> int:
    return len(SENTENCE_END.split(text.strip()))


def walk(path, kids, trail, problems):
    kids = kids or []
    titles = [c.title.casefold() for c in kids]
    for c in kids:
        where = " > ".join([*trail, c.title])
        if sentences(c.summary) != 1:
            problems.append(f"{where}: summary is not one sentence")
        n = sentences(c.detail)
        if not 2 <= n <= 5:
            problems.append(f"{where}: detail has {n} sentences")
        if titles.count(c.title.casefold()) > 1:
            problems.append(f"{where}: duplicate sibling title")
        if c.title.casefold() in [t.casefold() for t in trail]:
            problems.append(f"{where}: repeats an ancestor title")
        walk(path, c.children, [*trail, c.title], problems)


for path in sys.argv[1:]:
    data = yaml.safe_load(open(path, encoding="utf-8"))
    m = BundledMap.model_validate(data)
    problems = []
    if not 5 <= len(m.concepts) <= 7:
        problems.append("need 5 to 7 key concepts")
    for c in m.concepts:
        if not c.children or not 3 <= len(c.children) <= 5:
            problems.append(f"{c.title}: need 3 to 5 sub-concepts")
    walk(path, m.concepts, [m.topic], problems)
    for p in problems:
        print(f"{path}: {p}")
    print(f"{path}: checked, {len(problems)} problems")
