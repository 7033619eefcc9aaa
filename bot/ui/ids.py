"""Every custom_id format, in one place: they outlive the process (buttons stay on
Discord for good), so each is written here once and every reader and writer uses it.

A button or menu's custom_id is ``kin:<action>:<id>`` (a quiz answer and a review's
rating carry a digit more: ``kin:<action>:<id>:<digit>``); the Ask form's is
``kin:askform:<c|m>:<id>``; a failed new topic's Retry from before retries were
stored carried the topic itself, ``kin:topic:<topic>``.
"""

from __future__ import annotations

import enum
import re

# A row id or page number: ids are all a custom_id carries. 18 digits keep any
# forged value inside SQLite's 64-bit integers.
ID_DIGITS = 18
ID = rf"[0-9]{{1,{ID_DIGITS}}}"
PREFIX = "kin"


class Action(enum.StrEnum):
    """What a control does; the custom_id is ``kin:<action>:<id>``."""

    OPEN = "open"  # id: the concept to open
    BACK = "back"  # id: the concept the card shows (0: the overview)
    UP = "up"  # id: the concept the card shows
    HOME = "home"  # id: the map
    RETRY = "retry"  # id: the concept whose expansion failed
    PICK = "pick"  # a select menu; id: the parent concept (0: the overview)
    PAGE = "maps"  # /maps pagination; id: the page to show
    MAP = "map"  # open a stored map privately; id: the map
    CURATED = "curated"  # open a bundled map privately; id: its bundled_number
    PICTURE = "picture"  # the map's picture; id: the concept to highlight
    ASK = "ask"  # the Ask form about a concept; id: the concept the card shows
    ASK_MAP = "askmap"  # the Ask form about the topic; id: the map
    SHARE = "shareask"  # post the presser's own answer in the channel; id: their asking
    # Share from before askers were recorded (id: the answer): it cannot tell who asked,
    # so it is refused, forged or not.
    SHARE_UNRECORDED = "share"
    MEANING = "meaning"  # map one meaning of an ambiguous topic; id: the stored meaning
    RETRY_TOPIC = "topicretry"  # map a new topic again after a failure; id: the stored retry
    SOURCES = "sources"  # a concept card's sources, privately; id: the concept
    MAP_SOURCES = "mapsources"  # a map card's sources, privately; id: the map
    EARLIER = "earlier"  # a refreshed concept's earlier texts, privately; id: the concept
    REFRESH = "refresh"  # write a concept again with today's facts; id: the concept
    # A private card posted in the channel as the presser's own, once per private message.
    POST = "post"  # id: the concept the card shows
    POST_MAP = "postmap"  # id: the map whose overview the card shows
    # Learning together.
    QUIZ = "quiz"  # start a quiz on a concept and what is under it; id: the concept
    QUIZ_MAP = "quizmap"  # start a quiz on a map; id: the map
    REVEAL = "reveal"  # its starter reveals a quiz question early; id: the question
    REMEMBER = "remember"  # add a concept to the member's review deck; id: the concept
    DISCUSS = "discuss"  # open (or reopen) the concept's thread; id: the concept
    SHOW_ANSWER = "showcard"  # turn a review card over; id: the card
    DECK = "deck"  # the member's deck, a page at a time; id: the page
    UNREMEMBER = "unremember"  # take a card out of the member's deck; id: the card
    EXPORT_DECK = "deckcsv"  # the deck as a CSV file for Anki; id: 0
    REVIEW = "review"  # the member's next card due; id: 0
    BOARD = "board"  # the server's leaderboard; id: 1 this week, 0 all time
    # Two ids: ``kin:<action>:<id>:<digit>``.
    ANSWER = "qa"  # a quiz answer; id: the question, digit: the option (0 to 4)
    GRADE = "grade"  # a review's rating; id: the card, digit: 1 Again, 2 Hard, 3 Good, 4 Easy


PAIR_ACTIONS = (Action.ANSWER, Action.GRADE)
BUTTON_ACTIONS = tuple(a for a in Action if a is not Action.PICK and a not in PAIR_ACTIONS)


def custom_id(action: Action, target: int, detail: int | None = None) -> str:
    if detail is not None:
        return f"{PREFIX}:{action.value}:{target}:{detail}"
    return f"{PREFIX}:{action.value}:{target}"


# The DynamicItem templates: discord.py matches a pressed component's custom_id against them.
BUTTON_TEMPLATE = (
    rf"{PREFIX}:(?P<action>{'|'.join(a.value for a in BUTTON_ACTIONS)}):(?P<target>{ID})"
)
MENU_TEMPLATE = rf"{PREFIX}:{Action.PICK.value}:(?P<parent>{ID})"
PAIR_TEMPLATE = (
    rf"{PREFIX}:(?P<action>{'|'.join(a.value for a in PAIR_ACTIONS)})"
    rf":(?P<target>{ID}):(?P<detail>[0-9])"
)

# Before retries were stored, a failed new topic's Retry carried the topic itself. Such
# buttons stay on Discord for good, so they keep working.
TOPIC_RETRY_PREFIX = f"{PREFIX}:topic:"
TOPIC_RETRY_TEMPLATE = rf"{TOPIC_RETRY_PREFIX}(?P<topic>.+)"


def topic_retry_id(topic: str) -> str:
    return f"{TOPIC_RETRY_PREFIX}{topic}"


# A form's custom_id carries the card it asks about, like a button's: its submission is
# answered from the id alone, even after a restart.
FORM_ID = re.compile(rf"{PREFIX}:askform:(?P<kind>[cm]):(?P<target>{ID})")
FORM_INPUT = "question"  # the custom_id of the form's text input


def form_id(*, concept_id: int | None, map_id: int | None) -> str:
    kind, target = ("c", concept_id) if concept_id is not None else ("m", map_id)
    return f"{PREFIX}:askform:{kind}:{target}"


def is_id(value: object) -> bool:
    """Whether ``value`` (a menu's chosen value, say) is a well-formed id."""
    return re.fullmatch(ID, str(value)) is not None
