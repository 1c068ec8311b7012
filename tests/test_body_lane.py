from __future__ import annotations

import asyncio

from quart_app.backpressure import BoundedBody
from quart_app.body_lane import BodyLane


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def sink(high_water: int) -> BoundedBody:
    body = BoundedBody(None, None)
    body.high_water = high_water
    return body


async def test_bytes_wait_for_the_apps_choice_then_go_to_its_sink() -> None:
    lane = BodyLane()
    messages: list[bytes] = []

    async def as_message(data: bytes) -> None:
        messages.append(data)

    delivering = asyncio.ensure_future(lane.deliver(b"first", as_message))
    await settle()
    assert not delivering.done(), "no byte goes anywhere before the app has chosen"
    body = sink(100)
    lane.attach(body)
    await delivering
    await lane.deliver(b"second", as_message)
    assert (messages, await body.next_batch()) == ([], [b"first", b"second"])


async def test_a_full_sink_holds_the_sender_until_it_has_room() -> None:
    lane = BodyLane()
    body = sink(8)
    lane.attach(body)

    async def unused(data: bytes) -> None:
        raise AssertionError("an attached lane sends no message")

    delivering = asyncio.ensure_future(lane.deliver(b"12345678", unused))
    await settle()
    assert not delivering.done()
    assert await body.next_batch() == [b"12345678"]
    reading = asyncio.ensure_future(body.next_batch())
    await settle()
    assert delivering.done(), "the batch was used: the sender goes on"
    reading.cancel()


async def test_a_declined_lane_sends_messages_and_the_choice_is_final() -> None:
    lane = BodyLane()
    messages: list[bytes] = []

    async def as_message(data: bytes) -> None:
        messages.append(data)

    lane.decline()
    body = sink(100)
    lane.attach(body)
    await lane.deliver(b"as a message", as_message)
    assert messages == [b"as a message"]
    assert body._buffered == 0

    attached = BodyLane()
    attached.attach(body)
    attached.decline()
    await attached.deliver(b"to the sink", as_message)
    assert messages == [b"as a message"]
    assert await body.next_batch() == [b"to the sink"]


async def test_a_closed_lane_holds_no_sender_back() -> None:
    async def as_message(data: bytes) -> None:
        pass

    undecided = BodyLane()
    waiting_for_a_choice = asyncio.ensure_future(undecided.deliver(b"x", as_message))
    body = sink(4)
    attached = BodyLane()
    attached.attach(body)
    waiting_for_room = asyncio.ensure_future(attached.deliver(b"12345", as_message))
    await settle()
    assert not waiting_for_a_choice.done() and not waiting_for_room.done()
    undecided.close()
    attached.close()
    await settle()
    assert waiting_for_a_choice.done() and waiting_for_room.done()
    await attached.deliver(b"dropped", as_message)
    assert body._buffered == 0
