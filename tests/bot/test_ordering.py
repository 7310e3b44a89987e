"""Concurrency: different shoppers run in parallel, one shopper's updates run in arrival order."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from telegram import Chat, Message, Update, User

from bot.ordering import PerChatUpdateProcessor, update_key


def _update(uid: int, user_id: int) -> Update:
    msg = Message(uid, datetime.now(timezone.utc), Chat(user_id, "private"), from_user=User(user_id, "u", False), text="x")
    return Update(uid, message=msg)


def test_same_shopper_in_order_different_shoppers_in_parallel():
    async def main() -> tuple[list[str], float]:
        processor = PerChatUpdateProcessor(64)
        log: list[str] = []

        async def work(name: str, seconds: float) -> None:
            log.append(f"start {name}")
            await asyncio.sleep(seconds)
            log.append(f"end {name}")

        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await asyncio.gather(
            processor.process_update(_update(1, 10), work("a1", 0.2)),
            processor.process_update(_update(2, 10), work("a2", 0.01)),
            processor.process_update(_update(3, 20), work("b1", 0.2)),
        )
        assert processor._locks == {} and processor._users == {}  # nothing left behind
        return log, loop.time() - t0

    log, elapsed = asyncio.run(main())
    assert log.index("end a1") < log.index("start a2"), log  # a2 waited for a1 (same shopper)
    assert log.index("start b1") < log.index("end a1"), log  # b1 did not wait for a1
    assert elapsed < 0.35  # 0.2 + 0.01 in series for shopper 10, b1 alongside


def test_update_key():
    assert update_key(_update(1, 10)) == (10, 10)
    assert update_key("not an update") is None


def test_waiting_updates_per_shopper_are_capped_and_a_new_photo_supersedes_older_ones():
    from telegram import PhotoSize

    def photo(uid: int, user_id: int) -> Update:
        msg = Message(uid, datetime.now(timezone.utc), Chat(user_id, "private"), from_user=User(user_id, "u", False),
                      photo=(PhotoSize(f"f{uid}", f"u{uid}", 64, 64),))
        return Update(uid, message=msg)

    async def main() -> tuple[list[str], int]:
        processor = PerChatUpdateProcessor(64, max_waiting=3)
        ran: list[str] = []
        gate = asyncio.Event()

        async def work(name: str) -> None:
            if name == "first":
                await gate.wait()
            ran.append(name)

        first = asyncio.create_task(processor.process_update(_update(1, 10), work("first")))
        await asyncio.sleep(0.01)
        tasks = [asyncio.create_task(processor.process_update(_update(2 + i, 10), work(f"text{i}"))) for i in range(5)]
        tasks += [asyncio.create_task(processor.process_update(photo(10 + i, 10), work(f"photo{i}"))) for i in range(4)]
        await asyncio.sleep(0.05)
        waiting = len(processor._waiting[(10, 10)])
        gate.set()
        await asyncio.gather(first, *tasks)
        assert processor._locks == {} and processor._waiting == {}
        return ran, waiting

    ran, waiting = asyncio.run(main())
    assert waiting == 3  # never more than max_waiting queued for one shopper
    assert ran[0] == "first" and ran[-1] == "photo3"  # the newest photo wins
    assert not {"photo0", "photo1", "photo2"} & set(ran)  # superseded photos never ran
    assert ran == ["first", "text3", "text4", "photo3"]  # the oldest waiting texts were skipped for the cap
