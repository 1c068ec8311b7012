from __future__ import annotations

import asyncio

import pytest
from werkzeug.exceptions import RequestEntityTooLarge

from quart_app.backpressure import BoundedBody, BufferBudget, request_batches


def body(high_water: int = 10, max_content_length: int | None = None) -> BoundedBody:
    bounded = BoundedBody(None, max_content_length)
    bounded.high_water = high_water
    return bounded


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_sender_waits_until_the_reader_has_used_what_it_took() -> None:
    bounded = body()
    sender = asyncio.ensure_future(bounded.put(b"x" * 10))
    await settle()
    assert not sender.done()
    assert await bounded.next_batch() == [b"x" * 10]
    await settle()
    assert not sender.done(), "the batch taken is still being written"
    reading = asyncio.ensure_future(bounded.next_batch())
    await settle()
    assert sender.done(), "asking for the next batch says the last one is done with"
    bounded.set_complete()
    with pytest.raises(StopAsyncIteration):
        await reading


async def test_what_is_buffered_and_what_was_taken_share_one_bound() -> None:
    bounded = body(high_water=10)
    assert bounded.feed(b"123456") is False
    assert await bounded.next_batch() == [b"123456"]
    assert bounded.feed(b"7890") is True, "4 buffered and 6 taken reach the mark"
    waiting = asyncio.ensure_future(bounded.room())
    await settle()
    assert not waiting.done()
    assert await bounded.next_batch() == [b"7890"]
    await settle()
    assert waiting.done(), "the 6 are written, and the 4 taken are below the mark"
    assert bounded.feed(b"abcdef") is True, "6 buffered and 4 taken"


async def test_a_body_awaited_whole_never_makes_the_sender_wait() -> None:
    bounded = body(high_water=4)
    awaiting = asyncio.ensure_future(_await_whole(bounded))
    await settle()
    assert [bounded.feed(b"12345") for _ in range(3)] == [False] * 3
    bounded.set_complete()
    assert await awaiting == b"12345" * 3


async def _await_whole(bounded: BoundedBody) -> bytes:
    whole: bytes = await bounded
    return whole


async def test_chunks_below_the_mark_are_joined_for_the_reader() -> None:
    bounded = body(high_water=100)
    for piece in (b"ab", b"cd", b"ef"):
        await bounded.put(piece)
    bounded.set_complete()
    assert [chunk async for chunk in bounded] == [b"abcdef"]


async def test_awaiting_the_whole_body_lifts_the_bound() -> None:
    bounded = body(high_water=4)

    async def send() -> None:
        for _ in range(10):
            await bounded.put(b"12345")
        bounded.set_complete()

    sender = asyncio.ensure_future(send())
    assert await bounded == b"12345" * 10
    await sender


async def test_abandoned_body_drops_data_and_releases_the_sender() -> None:
    bounded = body()
    sender = asyncio.ensure_future(bounded.put(b"x" * 20))
    await settle()
    bounded.abandon()
    await settle()
    assert sender.done()
    await bounded.put(b"more")
    bounded.set_complete()
    assert [chunk async for chunk in bounded] == []


async def test_quart_size_limit_applies_unless_streamed() -> None:
    limited = BoundedBody(100, 10)
    with pytest.raises(RequestEntityTooLarge):
        await limited.__anext__()
    streamed = BoundedBody(100, 10)
    iterator = streamed.batches()
    streamed.append(b"y" * 100)
    streamed.set_complete()
    assert [batch async for batch in iterator] == [[b"y" * 100]]


async def test_request_batches_needs_backpressure_installed() -> None:
    class PlainRequest:
        body = object()

    with pytest.raises(TypeError):
        request_batches(PlainRequest())  # type: ignore[arg-type]


async def test_data_sent_before_streaming_starts_is_kept_past_quarts_limit() -> None:
    bounded = BoundedBody(100, 10)
    bounded.append(b"early bytes beyond the limit")
    iterator = bounded.batches()
    bounded.append(b"!")
    bounded.set_complete()
    assert [batch async for batch in iterator] == [[b"early bytes beyond the limit", b"!"]]


@pytest.mark.parametrize(
    ("streams", "share"),
    [(0, 256 * 1024), (1, 256 * 1024), (4, 256 * 1024), (16, 128 * 1024), (64, 64 * 1024)],
)
def test_the_buffer_budget_is_shared_by_the_uploads_streaming(streams: int, share: int) -> None:
    budget = BufferBudget(2 * 1024 * 1024, most=256 * 1024)
    budget.streams = streams
    assert budget.share() == share


async def test_a_body_takes_a_share_from_its_first_byte_and_gives_it_back() -> None:
    budget = BufferBudget(1024 * 1024, most=512 * 1024)
    bodies = [BoundedBody(None, None) for _ in range(5)]
    for body in bodies:
        body.budget = budget
    for body in bodies[:4]:
        body.append(b"x")
    assert budget.streams == 4 and budget.share() == 256 * 1024, "no share without a body"
    for body in bodies:
        body.leave_budget()
        body.leave_budget()
    assert budget.streams == 0


async def test_the_share_bounds_a_body_once_it_takes_one() -> None:
    budget = BufferBudget(256 * 1024, most=1024 * 1024)
    others = [BoundedBody(None, None) for _ in range(3)]
    for other in others:
        other.budget = budget
        other.append(b"x")
    bounded = body(high_water=1024 * 1024)
    bounded.budget = budget
    assert bounded.feed(b"y" * 64 * 1024) is True, "a quarter of 256 KiB, with four bodies"
