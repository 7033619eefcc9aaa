"""The streaming throttle on the real asyncio clock (no SimCord: its clock jumps).

A stand-in message records each edit when it lands, after a latency, the way a
member sees it; intervals are short so the tests stay quick, and the bounds on
time leave room for a busy machine (a late edit is late by a scheduler's hiccup,
never by a whole interval).
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.ui.live import LiveEdits

INTERVAL = 0.3
SLACK = 0.15  # how late a timer may fire on a loaded machine


class Message:
    """What the member sees: the state of the last edit that landed, and when each did."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.shown: object = None
        self.started: list[float] = []
        self.landed: list[tuple[float, object]] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def edit(self, *, state: object) -> None:
        loop = asyncio.get_running_loop()
        self.started.append(loop.time())
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.latency)
            self.shown = state
            self.landed.append((loop.time(), state))
        finally:
            self.in_flight -= 1

    @property
    def states(self) -> list[object]:
        return [state for _, state in self.landed]


def now() -> float:
    return asyncio.get_running_loop().time()


async def test_an_update_inside_the_interval_is_sent_when_the_interval_ends():
    message = Message()
    live = LiveEdits(message.edit, interval=INTERVAL)

    live.offer(state="overview")
    await asyncio.sleep(0.05)
    live.offer(state="overview and concept 1")  # inside the interval of the first edit
    await asyncio.sleep(INTERVAL + SLACK)  # nothing else is offered

    assert message.states == ["overview", "overview and concept 1"]
    first, second = message.started
    assert INTERVAL - 0.01 <= second - first < INTERVAL + SLACK  # at the interval's end


async def test_the_first_update_is_sent_at_once():
    message = Message()
    live = LiveEdits(message.edit, interval=INTERVAL)
    offered = now()

    live.offer(state="overview")
    await asyncio.sleep(0.05)

    assert message.states == ["overview"]
    assert message.started[0] - offered < 0.05


async def test_at_most_one_edit_per_interval_and_the_newest_state_wins():
    message = Message(latency=0.02)
    live = LiveEdits(message.edit, interval=0.1)
    began = now()

    for n in range(100):  # a stream writing every 10 ms for a second
        live.offer(state=n)
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1 + SLACK)

    gaps = [b - a for a, b in zip(message.started, message.started[1:], strict=False)]
    assert min(gaps) >= 0.1 - 0.01
    elapsed = message.started[-1] - began
    assert len(message.started) <= elapsed / 0.1 + 1
    assert len(message.started) >= 5  # throttled, not starved
    assert message.states == sorted(message.states)
    assert message.shown == 99  # the last state written reached the card


async def test_never_two_edits_in_flight_even_when_an_edit_is_slower_than_the_interval():
    message = Message(latency=0.25)
    live = LiveEdits(message.edit, interval=0.1)

    for n in range(60):
        live.offer(state=n)
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.25 + SLACK)

    assert message.most_in_flight == 1
    # Each edit goes as soon as the one before it landed, with the newest state then.
    assert 2 <= len(message.landed) <= 4
    assert message.shown == 59


async def test_only_the_newest_of_several_updates_inside_the_interval_is_sent():
    message = Message()
    live = LiveEdits(message.edit, interval=INTERVAL)

    live.offer(state=1)
    for n in (2, 3, 4):
        await asyncio.sleep(0.02)
        live.offer(state=n)
    await asyncio.sleep(INTERVAL + SLACK)

    assert message.states == [1, 4]


async def test_settle_then_the_final_edit_leaves_the_final_state_on_the_message():
    message = Message(latency=0.1)
    live = LiveEdits(message.edit, interval=INTERVAL)

    live.offer(state="sketch 1")
    await asyncio.sleep(0.02)  # its edit is in flight
    live.offer(state="sketch 2")  # waits for the interval
    await live.settle()
    await message.edit(state="final")
    live.offer(state="a late sketch")  # a straggler of the stream
    await asyncio.sleep(INTERVAL + 0.1 + SLACK)

    # The edit in flight landed before the final one; the waiting one never went.
    assert message.states == ["sketch 1", "final"]
    assert message.shown == "final"


async def test_settle_does_not_wait_for_the_interval_of_a_waiting_update():
    message = Message()
    live = LiveEdits(message.edit, interval=5.0)
    live.offer(state=1)
    await asyncio.sleep(0.02)
    live.offer(state=2)

    began = now()
    await live.settle()

    assert now() - began < 0.1
    assert message.states == [1]


async def test_an_edit_that_raises_is_logged_and_the_stream_goes_on(
    caplog: pytest.LogCaptureFixture,
):
    message = Message()
    failed = asyncio.Event()

    async def edit(*, state: object) -> None:
        if state == 1:
            failed.set()
            await asyncio.sleep(0.02)
            raise RuntimeError("Discord said no")
        await message.edit(state=state)

    live = LiveEdits(edit, interval=0.1)
    live.offer(state=1)
    await failed.wait()
    live.offer(state=2)  # arrives while the failing edit is in flight
    await asyncio.sleep(0.1 + SLACK)

    assert message.states == [2]
    record = next(r for r in caplog.records if r.name == "bot.ui.live")
    assert record.levelno == logging.ERROR and record.exc_info is not None


async def test_a_card_that_moved_on_is_not_edited_and_a_failed_check_skips_one_edit(
    caplog: pytest.LogCaptureFixture,
):
    message = Message()
    answers = iter([False, RuntimeError("storage is down"), True])

    async def still() -> bool:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    live = LiveEdits(message.edit, still, interval=0.1)
    for n in (1, 2, 3):
        live.offer(state=n)
        await asyncio.sleep(0.1 + SLACK)

    assert message.states == [3]
    assert live.edits == 1
    assert any(r.name == "bot.ui.live" and r.exc_info for r in caplog.records)


async def test_a_cancelled_stream_leaves_no_edit_behind():
    """The flow is cancelled (the bot is closing) and settles on its way out."""
    message = Message()
    live = LiveEdits(message.edit, interval=INTERVAL)

    async def flow() -> None:
        try:
            live.offer(state=1)
            await asyncio.sleep(0.02)
            live.offer(state=2)
            await asyncio.sleep(10)
        finally:
            await live.settle()

    task = asyncio.create_task(flow())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(INTERVAL + SLACK)

    assert message.states == [1]


async def test_no_edit_before_the_acknowledgement_and_settle_waits_for_it():
    """States offered while Discord acknowledges: the newest goes once it is done, and the
    final edit, after settle, never comes before it."""
    message = Message()
    acknowledged = asyncio.get_running_loop().create_future()
    live = LiveEdits(message.edit, after=acknowledged, interval=INTERVAL)

    live.offer(state="Mapping…")
    live.offer(state="overview")
    await asyncio.sleep(0.05)
    assert message.states == []  # the message does not exist yet

    acknowledged.set_result(None)
    await asyncio.sleep(0.05)
    assert message.states == ["overview"]

    late = asyncio.get_running_loop().create_future()
    other = LiveEdits(message.edit, after=late, interval=INTERVAL)
    other.offer(state="sketch")
    settling = asyncio.create_task(other.settle())
    await asyncio.sleep(0.05)
    assert not settling.done()  # the final edit would have no message yet
    late.set_result(None)
    await asyncio.wait_for(settling, 1)
    assert message.states == ["overview"]  # the waiting sketch was dropped
