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
