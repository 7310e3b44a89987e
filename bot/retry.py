"""Bot API calls that survive Telegram's bad moments without sending anything twice.

- 429 Too Many Requests: wait ``retry_after`` and retry (Telegram did not deliver it).
- 5xx, refused or reset connections (``NetworkError`` that is not a timeout): Telegram did not take the
  request, so it is retried a few times with a growing pause.
- ``TimedOut``: the request may already have been delivered (a send that succeeded but whose answer
  was late), so it is never repeated: the caller logs it and moves on. Duplicate albums are worse than
  a late one.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

SERVER_ERROR_RETRIES = 3
SERVER_ERROR_PAUSE_S = 0.5  # doubled after each failed try


class RetryingRateLimiter(AIORateLimiter):
    """PTB's rate limiter (which retries 429s) plus retries of server errors; timeouts are never retried."""

    def __init__(self, *args: Any, server_error_retries: int = SERVER_ERROR_RETRIES,
                 pause_s: float = SERVER_ERROR_PAUSE_S, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.server_error_retries = server_error_retries
        self.pause_s = pause_s

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):  # type: ignore[override]
        pause = self.pause_s
        for attempt in range(self.server_error_retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except (TimedOut, BadRequest):  # maybe delivered / will never succeed
                raise
            except NetworkError as exc:
                if endpoint == "getUpdates" or attempt == self.server_error_retries:
                    raise  # the updater has its own retry loop; or we are out of tries
                log.warning("Bot API %s failed (%s); retrying in %.1f s", endpoint, exc, pause)
                await asyncio.sleep(pause)
                pause *= 2
        raise AssertionError("unreachable")
