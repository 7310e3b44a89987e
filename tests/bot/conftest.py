"""Fixtures for the bot tests: one real Stylist over a tiny generated catalog, shared by the session."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Awaitable, Callable

import pytest


from tests.bot.fake_telegram import FakeTelegram
from tests.helpers.bot_harness import bot_config, build_tiny_stylist, running_bot


@pytest.fixture(scope="session")
def tiny_stylist(tmp_path_factory):
    """The real search engine (models + embedded Chroma) over ~72 generated products."""
    return build_tiny_stylist(tmp_path_factory.mktemp("tiny-stylist"))


@pytest.fixture()
def detector(tiny_stylist):
    """The board-truth wrapper around the real detector, reset for each test."""
    det = tiny_stylist.detector
    det.boards.clear(), det.gates.clear(), det.errors.clear()
    yield det
    for gate in det.gates.values():
        gate.set()


@pytest.fixture()
def run_bot(tiny_stylist, tmp_path) -> Callable[..., None]:
    """``run_bot(scenario, env={...}, **build_kwargs)``: fake server + real bot around ``await scenario(fake, app)``."""

    def run(scenario: Callable[..., Awaitable[None]], env: dict[str, str] | None = None, stylist=None, **kwargs) -> None:
        async def main() -> None:
            fake = await FakeTelegram().start()
            try:
                config = bot_config(fake, Path(tmp_path), **(env or {}))
                async with running_bot(config, stylist or tiny_stylist, **kwargs) as app:
                    await asyncio.wait_for(scenario(fake, app), 120)
            finally:
                await fake.stop()

        asyncio.run(main())

    return run
