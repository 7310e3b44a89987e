"""``stylist playground [--port P] [--catalog CSV]``: the real bot, in a browser, with nothing to register.

One local server on 127.0.0.1 serves three things on one port:
  * the Bot API (web.botapi) — the real ``bot/`` Application (``build_application``) polls it, pointed
    there by ``base_url`` / ``base_file_url`` exactly as it would be at a self-hosted telegram-bot-api;
  * the chat page (web/static, plain HTML + JS) and its relay (web.chat), which plays the Telegram app;
  * the search HTTP API (web.api): ``POST /api/search`` and friends.
So the playground *is* the bot: every answer the page shows was decided by ``bot/`` and sent through
Bot API calls. Without ``--catalog`` it serves the demo catalog (indexed once, like ``stylist demo``).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator, Callable

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.app import build_application, warm_up
from bot.logs import setup_logging
from stylist.catalog import CatalogItem, read_catalog
from stylist.config import Config, load_config
from web.api import add_api_routes
from web.botapi import BotApiServer
from web.chat import add_chat_routes

if TYPE_CHECKING:
    from stylist.search import Stylist

log = logging.getLogger(__name__)

HOST = "127.0.0.1"  # a playground, not a public service: never listen beyond this machine
DEFAULT_PORT = 8765
STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_CALLS, MAX_FILES = 20_000, 2_000  # bound the recorded history of a long-running playground
SINGLE_ITEM_PHOTOS = 3


@dataclass
class Playground:
    """A running playground: its URL, its Bot API server (the record of every call) and the bot."""

    url: str
    server: BotApiServer
    application: Application


def local_only(port_of: Callable[[], int]) -> Callable:
    """Middleware: answer only requests addressed to this machine by name (``Host`` 127.0.0.1 or localhost
    on our port) and, for browser requests, sent by our own page (``Origin``). Other web pages open in
    the same browser cannot drive the chat, and DNS-rebinding names cannot reach the server."""

    @web.middleware
    async def check(request: web.Request, handler):
        allowed = {f"{name}:{port_of()}" for name in (HOST, "localhost")}
        origin = request.headers.get("Origin")
        if request.host not in allowed or (origin is not None and origin.split("://", 1)[-1] not in allowed):
            return web.json_response({"error": {"code": "forbidden", "message": "local requests only"}}, status=403)
        return await handler(request)

    return check


def _token() -> str:
    """A fresh Bot API token per run, shaped like Telegram's (digits:secret)."""
    return f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(26)}"


@contextlib.asynccontextmanager
async def running_playground(config: Config, stylist: "Stylist", demo_photos: list[Path], port: int = 0,
                             token: str | None = None) -> AsyncIterator[Playground]:
    """Serve the page, the Bot API and the search API on ``HOST``:``port`` and run the real bot against it."""
    server = BotApiServer(token=token or _token(), max_calls=MAX_CALLS, max_files=MAX_FILES, host=HOST)
    app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=[local_only(lambda: server.port)])
    server.add_routes(app)
    add_chat_routes(app, server, STATIC_DIR, demo_photos)
    add_api_routes(app, stylist)
    # Long polls (the page's events, the bot's getUpdates) end with their client: on shutdown, waiting
    # for them would only add their poll time.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True)
    await runner.setup()
    try:
        site = web.TCPSite(runner, HOST, port)
        await site.start()
        server.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        # The bot's own state (sessions, shoppers' photos) lives under <home>/playground, apart from a real
        # `stylist bot`'s; the index stays where the config says.
        bot_config = config.replace(telegram_token=server.token, telegram_api_url=server.api_url,
                                    telegram_file_url=server.file_url, allowed_users=frozenset(),
                                    home=config.home / "playground", db_path=config.db_dir)
        application = build_application(bot_config, stylist)
        async with application:  # what run_polling does, inside our own loop
            await application.post_init(application)  # type: ignore[misc]
            await application.start()
            await application.updater.start_polling(poll_interval=0.0, timeout=10,  # type: ignore[union-attr]
                                                    allowed_updates=Update.ALL_TYPES)
            try:
                yield Playground(f"http://{HOST}:{server.port}/", server, application)
            finally:
                await application.updater.stop()  # type: ignore[union-attr]
                await application.stop()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
    finally:
        await runner.cleanup()


class PlaygroundThread:
    """``running_playground`` in its own event loop and thread, for synchronous callers (browser tests,
    benchmarks): ``start()`` returns the running Playground, ``stop()`` shuts it down cleanly."""

    def __init__(self, config: Config, stylist: "Stylist", demo_photos: list[Path], port: int = 0) -> None:
        self._args = (config, stylist, list(demo_photos), port)
        self.playground: Playground | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="playground", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            async with running_playground(*self._args) as playground:
                self.playground = playground
                self._ready.set()
                await self._stop.wait()

        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by start()
            self._error = exc
            self._ready.set()

    def start(self, timeout_s: float = 120.0) -> Playground:
        self._thread.start()
        if not self._ready.wait(timeout_s) or self.playground is None:
            raise RuntimeError(f"the playground did not start: {self._error!r}")
        return self.playground

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


def demo_photos(items: list[CatalogItem], work: Path) -> list[Path]:
    """Photos the page offers to try: boards composed of several catalog products, then a few
    single-product photos of different kinds (which go straight to results)."""
    from demo.boards import compose_boards
    from stylist.query import category_of

    boards = [path for path, _ in compose_boards(items, work / "boards").values()]
    singles, kinds = [], set()
    for item in items:
        kind = category_of(item.category) or item.category
        if kind not in kinds and Path(item.image).is_file():
            kinds.add(kind)
            singles.append(Path(item.image))
        if len(singles) == SINGLE_ITEM_PHOTOS:
            break
    return boards + singles


def _demo_clothing(work: Path) -> tuple[Path, list[Path]]:
    """The committed CC0 demo catalog (what ``stylist demo`` serves) and the photos to offer: its boards,
    then held-out query photos of different kinds (not in the catalog; one garment each)."""
    from demo.clothing import clothing_catalog, query_photos

    csv_path = clothing_catalog(work, None)
    boards = sorted((csv_path.parent / "boards").glob("*.jpg"))
    singles, kinds = [], set()
    for query in query_photos(csv_path.parent):
        if query.category not in kinds and Path(query.image).is_file():
            kinds.add(query.category)
            singles.append(Path(query.image))
        if len(singles) == 2 * SINGLE_ITEM_PHOTOS:
            break
    return csv_path, boards + singles


def prepare(config: Config, catalog: str | None) -> tuple[Config, "Stylist", list[Path]]:
    """Pick the catalog (``--catalog`` or the demo's), index it (unchanged products are skipped), load."""
    from index.build import build_index
    from stylist.search import Stylist

    if catalog:
        csv_path = Path(catalog)
        work = config.home / "playground" / csv_path.stem
        collection = f"playground-{csv_path.stem}"
        photos = None
    else:
        work = config.home / "demo" / "clothing"
        csv_path, photos = _demo_clothing(work)
        collection = "demo-clothing"  # the index `stylist demo` builds: shared, not rebuilt
    if config.collection == "catalog":  # keep the playground out of the user's own index
        config = config.replace(collection=collection)
    items = read_catalog(csv_path)
    print(f"[playground] loading models and the index ({len(items)} products in {csv_path})", flush=True)
    stylist = Stylist.from_config(config)
    report = build_index(config, csv_path, stylist.embedder, stylist.clip, store=stylist.store)
    print(f"[playground] {report.summary()}", flush=True)
    warm_up(stylist)
    return config, stylist, photos if photos is not None else demo_photos(items, work)


async def _serve(config: Config, stylist: "Stylist", photos: list[Path], port: int, token: str) -> None:
    async with running_playground(config, stylist, photos, port, token) as playground:
        print(f"\nSmart Stylist playground: {playground.url}   (Ctrl-C stops)", flush=True)
        print(f"search API:               {playground.url}api/search   "
              f"(OpenAPI: {playground.url}api/openapi.json)", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str]) -> int:
    """``stylist playground``: index the catalog, start everything on 127.0.0.1, print the URL, serve."""
    p = argparse.ArgumentParser(prog="stylist playground",
                                description="The real bot in a local browser chat page (and the search API), on 127.0.0.1.")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"local port (default {DEFAULT_PORT}; 0 = any free)")
    p.add_argument("--catalog", help="catalog CSV to serve (default: the demo catalog)")
    p.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING … (default WARNING)")
    args = p.parse_args(argv)
    config, stylist, photos = prepare(load_config(), args.catalog)
    token = _token()
    setup_logging(token, args.log_level)  # redacted from every log line, like the real bot's
    try:
        asyncio.run(_serve(config, stylist, photos, args.port, token))
    except OSError as exc:
        print(f"stylist playground: cannot listen on {HOST}:{args.port} ({exc.strerror or exc}); "
              "pick another --port", flush=True)
        return 1
    return 0
