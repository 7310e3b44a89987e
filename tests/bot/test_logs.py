"""The bot token never reaches a log: messages, arguments, tracebacks, and httpx's request URLs."""
from __future__ import annotations

import io
import logging

from bot.logs import REDACTED, RedactTokenFilter, install_redaction, redact
from tests.helpers.bot_catalog import make_board
from tests.helpers.bot_harness import Shopper
from tests.bot.fake_telegram import FakeTelegram

TOKEN = "123:SECRET-token"


def _capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactTokenFilter(TOKEN))
    logger = logging.getLogger("test-redaction")
    logger.handlers[:] = [handler]
    logger.propagate = False
    return logger, stream


def test_messages_arguments_and_tracebacks_are_redacted():
    logger, stream = _capture()
    logger.warning("GET https://api.telegram.org/bot%s/getMe", TOKEN)
    logger.warning(f"inline {TOKEN}")
    try:
        raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
    except RuntimeError:
        logger.exception("failed")
    text = stream.getvalue()
    assert TOKEN not in text
    assert text.count(REDACTED) == 3


def test_redact_leaves_other_text_alone():
    assert redact("nothing here", TOKEN) == "nothing here"
    assert redact("x", None) == "x"


def test_httpx_urls_from_a_real_run_are_redacted(run_bot, detector):
    board = detector.register(make_board([("Dresses", "red")], (900, 300)))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root, httpx_logger = logging.getLogger(), logging.getLogger("httpx")
    old_level = httpx_logger.level
    root.addHandler(handler)
    httpx_logger.setLevel(logging.INFO)  # httpx logs every request URL (with the token) at INFO
    install_redaction(FakeTelegram.token)  # as `stylist bot` does before anything connects

    async def scenario(fake, app):
        shopper = Shopper(fake, 901)
        shopper.photo(board.jpeg)
        await shopper.expect("sendMessage")

    try:
        run_bot(scenario)
    finally:
        root.removeHandler(handler)
        httpx_logger.setLevel(old_level)
        for h in root.handlers:
            for f in [f for f in h.filters if isinstance(f, RedactTokenFilter)]:
                h.removeFilter(f)
    text = stream.getvalue()
    assert "/bot" + REDACTED + "/sendMediaGroup" in text  # the URLs were logged …
    assert "123456789:AAFake" not in text  # … without the token
