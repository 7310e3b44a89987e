"""Logging for the bot with the token scrubbed from every record (httpx logs request URLs that contain it)."""
from __future__ import annotations

import logging

REDACTED = "<TOKEN>"


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` replaced."""
    return text.replace(secret, REDACTED) if secret and secret in text else text


class RedactTokenFilter(logging.Filter):
    """Rewrites a record's message and traceback so the bot token never reaches a log handler.

    Attach it to *handlers* (not loggers): a handler filter sees records propagated from every
    library logger (httpx, telegram, asyncio), a logger filter only its own.
    """

    def __init__(self, token: str) -> None:
        super().__init__("redact-token")
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = redact(message, self.token), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.token)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.token)
        return True


def install_redaction(token: str, logger: logging.Logger | None = None) -> RedactTokenFilter:
    """Add the filter to every handler of ``logger`` (root by default); returns it for removal."""
    logger = logger or logging.getLogger()
    token_filter = RedactTokenFilter(token)
    for handler in logger.handlers:
        handler.addFilter(token_filter)
    return token_filter


def setup_logging(token: str, level: str = "INFO") -> None:
    """Console logging for ``stylist bot``: token redacted, httpx's per-request lines quietened."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level.upper())
    if logging.getLogger().level > logging.DEBUG:  # httpx: one INFO line (URL with the token) per API call
        logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.INFO)  # byte-level chatter, even at DEBUG
    install_redaction(token)
