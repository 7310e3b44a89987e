"""Wire the Telegram bot: ``build_application(config, stylist)`` (the dialogue table) and ``stylist bot``.

    stylist bot                                         # long polling (default)
    stylist bot --webhook-url https://host/stylist --port 8443   # webhook behind your HTTPS proxy

Needs TELEGRAM_BOT_TOKEN (from @BotFather). STYLIST_TELEGRAM_API_URL / STYLIST_TELEGRAM_FILE_URL point
the bot at another Bot API server (a local ``telegram-bot-api``, or the test fake).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import handlers, views
from bot.logs import setup_logging
from bot.ordering import PerChatUpdateProcessor
from bot.persistence import SqlitePersistence
from bot.photos import PhotoStore
from bot.retry import RetryingRateLimiter
from bot.state import BotData, SessionStore
from stylist.config import Config, load_config

if TYPE_CHECKING:
    from stylist.search import Stylist

log = logging.getLogger(__name__)

MISSING_TOKEN = (
    "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather (/newbot), then run\n"
    "  export TELEGRAM_BOT_TOKEN='<the token BotFather gave you>'\n"
    "  stylist bot\n"
    "(docs/telegram.md has the details)."
)
REJECTED_TOKEN = (
    "Telegram rejected TELEGRAM_BOT_TOKEN (unauthorized). Check that you copied the whole token from "
    "@BotFather, or revoke it there with /token and use the new one."
)
MAX_CONCURRENT_UPDATES = 256
UNSUPPORTED_MEDIA = (
    filters.ANIMATION | filters.Sticker.ALL | filters.VOICE | filters.AUDIO | filters.VIDEO | filters.VIDEO_NOTE
    | filters.LOCATION | filters.VENUE | filters.CONTACT | filters.POLL | filters.Dice.ALL
)


def file_url_for(api_url: str) -> str:
    """The file URL that goes with a Bot API URL: '.../bot' → '.../file/bot' (local telegram-bot-api layout)."""
    head, sep, tail = api_url.rstrip("/").rpartition("/")
    return f"{head}/file/{tail}" if sep else api_url


def build_application(config: Config, stylist: "Stylist", *, read_timeout_s: float = 20.0) -> Application:
    """The PTB Application with every handler registered; nothing is contacted until it starts.

    ``stylist`` is the loaded search engine (shared by all shoppers; its calls run in threads).
    ``read_timeout_s`` bounds each Bot API call; a send that times out is logged, not repeated.
    """
    if not config.telegram_token:
        raise ValueError(MISSING_TOKEN)
    builder = (
        ApplicationBuilder()
        .token(config.telegram_token)
        .concurrent_updates(PerChatUpdateProcessor(MAX_CONCURRENT_UPDATES))
        .rate_limiter(RetryingRateLimiter(max_retries=2))  # 429s and 5xx retried; timeouts never (bot.retry)
        .connect_timeout(10.0)
        .pool_timeout(10.0)
        .read_timeout(read_timeout_s)
        .write_timeout(read_timeout_s)
        .media_write_timeout(max(read_timeout_s, 60.0))
        .post_init(register_commands)
        .persistence(SqlitePersistence(config.bot_dir / "sessions.sqlite"))  # sessions survive restarts
        .post_shutdown(close_persistence)
    )
    if config.telegram_api_url:
        builder = builder.base_url(config.telegram_api_url)
        builder = builder.base_file_url(config.telegram_file_url or file_url_for(config.telegram_api_url))
    elif config.telegram_file_url:
        builder = builder.base_file_url(config.telegram_file_url)
    application = builder.context_types(handlers.CONTEXT_TYPES).build()
    data: BotData = application.bot_data
    data.config, data.stylist = config, stylist
    data.sessions = SessionStore(config.session_ttl_s, users=application.user_data, photos=photo_store(config))
    data.page_size = max(2, min(10, config.top_k))  # an album holds 2–10 photos
    add_handlers(application)
    return application


def photo_store(config: Config) -> PhotoStore:
    """Shoppers' photos under STYLIST_HOME, kept as long as their sessions and within STYLIST_PHOTOS_MAX_MB."""
    return PhotoStore(config.bot_dir / "photos", int(config.photos_max_mb * 1024 * 1024), config.session_ttl_s)


async def close_persistence(application: Application) -> None:
    """After PTB's final flush at shutdown: release the SQLite file."""
    if isinstance(application.persistence, SqlitePersistence):
        application.persistence.close()


def add_handlers(application: Application) -> None:
    """The dialogue table: which update goes to which handler (first match in a group wins)."""
    new = filters.UpdateType.MESSAGE  # not edits or channel posts
    application.add_handler(TypeHandler(Update, handlers.guard_allowed), group=-1)
    application.add_handlers([
        CommandHandler(["start", "help"], handlers.start),
        CommandHandler("reset", handlers.reset),
        MessageHandler(new & (filters.PHOTO | filters.Document.IMAGE), handlers.on_photo),
        MessageHandler(new & UNSUPPORTED_MEDIA, handlers.on_unsupported),
        MessageHandler(new & filters.Document.ALL, handlers.on_not_an_image),
        MessageHandler(new & filters.TEXT & ~filters.COMMAND, handlers.on_text_query),
        MessageHandler(new & filters.COMMAND, handlers.unknown_command),
        CallbackQueryHandler(handlers.on_item_chosen, pattern=rf"^[{views.ITEM}{views.WHOLE}]:"),
        CallbackQueryHandler(handlers.on_all_items, pattern=rf"^{views.ALL}:"),
        CallbackQueryHandler(handlers.on_more, pattern=rf"^{views.MORE}:"),
        CallbackQueryHandler(handlers.on_other_item, pattern=rf"^{views.OTHER}:"),
        CallbackQueryHandler(handlers.on_unknown_button),
        MessageHandler(new, handlers.on_unsupported),
    ])
    application.add_error_handler(handlers.on_error)


async def register_commands(application: Application) -> None:
    """post_init: the command menu Telegram shows next to the text field."""
    await application.bot.set_my_commands(views.COMMANDS)


async def check_token(config: Config) -> str:
    """Ask Telegram who we are (fails fast, before the models load); returns the bot's @username."""
    kwargs = {}
    if config.telegram_api_url:
        kwargs["base_url"] = config.telegram_api_url
        kwargs["base_file_url"] = config.telegram_file_url or file_url_for(config.telegram_api_url)
    async with Bot(config.telegram_token, **kwargs) as bot:
        return bot.username


def webhook_options(webhook_url: str, listen: str, port: int) -> dict:
    """Arguments for ``run_webhook``: serve the URL's path locally, with a fresh secret Telegram must echo."""
    return {
        "listen": listen, "port": port, "url_path": urlsplit(webhook_url).path.lstrip("/"),
        "webhook_url": webhook_url, "secret_token": secrets.token_urlsafe(32), "allowed_updates": Update.ALL_TYPES,
    }


def warm_up(stylist: "Stylist") -> None:
    """Run the detector once so the first shopper does not pay for its lazy set-up (~1 s on a CPU), and
    load the refinement vocabulary's CLIP text vectors so a tap with "in red" never waits for the encoder
    (and open that encoder, which the cached vocabulary alone leaves closed, for words not in it)."""
    from PIL import Image

    try:
        stylist.detect_items(Image.new("RGB", (256, 256), "white"))
        stylist.warm_vocabulary()
        stylist.clip.embed_texts(["a red dress"])  # opens the text encoder now, not at the first novel words
        stylist.warm_filters()
    except Exception as exc:  # noqa: BLE001 - a failed warm-up only costs the first shopper time
        log.warning("warm-up failed (%s); continuing", type(exc).__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stylist bot", description="Run the Smart Stylist Telegram bot.")
    parser.add_argument("--webhook-url", help="public HTTPS URL Telegram posts updates to (default: long polling)")
    parser.add_argument("--port", type=int, default=8443, help="local port of the webhook server (default 8443)")
    parser.add_argument("--listen", default="0.0.0.0", help="local address for the webhook server (default 0.0.0.0)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING … (the token is always redacted)")
    return parser


def main(argv: list[str]) -> int:
    """``stylist bot``: check the token, load the models and index once, then serve until Ctrl-C."""
    args = _parser().parse_args(argv)
    config = load_config()
    if not config.telegram_token:
        print(MISSING_TOKEN, file=sys.stderr)
        return 1
    setup_logging(config.telegram_token, args.log_level)
    try:
        username = asyncio.run(check_token(config))
    except InvalidToken:  # its message contains the token: never print it
        print(REJECTED_TOKEN, file=sys.stderr)
        return 1
    except NetworkError as exc:
        where = config.telegram_api_url or "https://api.telegram.org"
        print(f"Cannot reach the Telegram Bot API at {where} ({type(exc).__name__}). Check the network.",
              file=sys.stderr)
        return 1
    from stylist.search import Stylist  # heavy: models and index load here, once

    stylist = Stylist.from_config(config)
    warm_up(stylist)
    if stylist.store.count() == 0:
        log.warning("the index at %s is empty: shoppers will be told so; build it with `stylist index build`",
                    stylist.store.location)
    application = build_application(config, stylist)
    log.info("@%s is up (%s)", username, "webhook " + args.webhook_url if args.webhook_url else "long polling")
    if args.webhook_url:
        application.run_webhook(**webhook_options(args.webhook_url, args.listen, args.port))
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0
