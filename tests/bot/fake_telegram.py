"""A local fake of the Telegram Bot API (aiohttp, 127.0.0.1, free port) for driving the real PTB client.

It implements the methods the bot uses with Telegram's shapes and limits (2–10 photos per album,
64-byte callback data, 1024-char captions, 4096-char texts, 401 for a wrong token, 20 MB getFile
limit), serves uploaded and user files, long-polls ``getUpdates`` from a queue the test feeds, and
records every call (method, decoded parameters, uploaded files, time) so tests can assert on them.
"""
from __future__ import annotations

import asyncio
import io
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web

JSON_PARAMS = {
    "reply_markup", "media", "commands", "allowed_updates", "entities", "caption_entities",
    "reply_parameters", "link_preview_options", "scope",
}
NUMBER_PARAMS = {"chat_id", "offset", "limit", "timeout", "message_id", "cache_time", "reply_to_message_id"}
DOWNLOAD_LIMIT = 20 * 1024 * 1024


@dataclass
class Call:
    """One Bot API request the bot made."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    t: float
    result: Any = None
    status: int = 200

    @property
    def chat_id(self) -> int | None:
        return self.params.get("chat_id")

    def buttons(self) -> list[list[tuple[str, str]]]:
        """(text, callback_data) rows of the inline keyboard this call sent."""
        markup = self.params.get("reply_markup") or {}
        return [[(b["text"], b.get("callback_data", "")) for b in row] for row in markup.get("inline_keyboard", [])]

    def button_texts(self) -> list[str]:
        return [text for row in self.buttons() for text, _ in row]

    def photos(self) -> list[bytes]:
        """The image bytes this call uploaded (sendPhoto: one; sendMediaGroup: each, in order)."""
        if self.method == "sendPhoto":
            return [self.files[_attach_name(self.params.get("photo"), "photo")]]
        if self.method == "sendMediaGroup":
            return [self.files[_attach_name(m["media"], None)] for m in self.params["media"]]
        return []

    def captions(self) -> list[str]:
        if self.method == "sendMediaGroup":
            return [m.get("caption", "") for m in self.params["media"]]
        return [self.params.get("caption", "")] if self.method == "sendPhoto" else []


def _attach_name(value: Any, default: str | None) -> str:
    if isinstance(value, str) and value.startswith("attach://"):
        return value[len("attach://"):]
    if default is None:
        raise KeyError(f"not an uploaded file: {value!r}")
    return default


class ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


@dataclass
class _File:
    data: bytes
    path: str
    size: int


@dataclass
class FakeTelegram:
    """The server. ``await start()`` in the test's loop (or ``start_in_thread()``), then point PTB at
    ``api_url`` / ``file_url``."""

    token: str = "123456789:AAFakeTokenForTests_0123456789abcdef"
    bot_id: int = 123456789
    calls: list[Call] = field(default_factory=list)
    delays: dict[str, float] = field(default_factory=dict)  # method → seconds to stall the *next* response
    # method → errors for its next calls, answered *without* processing: (status, description, retry_after)
    failures: dict[str, list[tuple[int, str, int | None]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._file_ids = itertools.count(1)
        self._files: dict[str, _File] = {}
        self._messages: dict[tuple[int, int], dict] = {}
        self._lock = threading.Lock()
        self._new_update: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> "FakeTelegram":
        self._loop = asyncio.get_running_loop()
        self._new_update = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_in_thread(self) -> "FakeTelegram":
        """Serve from a background thread (for tests that run the bot's own blocking ``main``)."""
        ready = threading.Event()
        loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop_thread(self) -> None:
        if self._thread and self._loop:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # --- the shopper's side ----------------------------------------------------------------------
    def add_file(self, data: bytes, suffix: str = "jpg", size: int | None = None) -> dict:
        """Store a file as if a user uploaded it; returns the file fields Telegram would put in a message."""
        n = next(self._file_ids)
        file_id = f"FILE{n:06d}"
        with self._lock:
            self._files[file_id] = _File(data, f"uploads/file_{n}.{suffix}", len(data) if size is None else size)
        return {"file_id": file_id, "file_unique_id": f"U{n:06d}", "file_size": len(data) if size is None else size}

    def push_update(self, **payload: Any) -> int:
        """Queue an update (e.g. ``message={...}`` or ``callback_query={...}``) for getUpdates; thread-safe."""
        update_id = next(self._update_ids)
        update = {"update_id": update_id, **payload}
        with self._lock:
            self._updates.append(update)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._new_update.set)  # type: ignore[union-attr]
        return update_id

    def message(self, user_id: int, chat_id: int | None = None, **content: Any) -> dict:
        """A message from ``user_id`` in a private chat (or ``chat_id``), with ``content`` fields."""
        chat_id = user_id if chat_id is None else chat_id
        return {
            "message_id": next(self._message_ids), "date": int(time.time()),
            "chat": _chat(chat_id), "from": _user(user_id), **content,
        }

    def callback(self, user_id: int, message: dict, data: str) -> str:
        """A tap on an inline button of a message the bot sent; returns the callback query id."""
        query_id = f"Q{next(self._file_ids)}"
        self.push_update(callback_query={"id": query_id, "from": _user(user_id), "chat_instance": "ci",
                                         "message": message, "data": data})
        return query_id

    # --- recording --------------------------------------------------------------------------------
    def calls_to(self, chat_id: int, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.chat_id == chat_id and (method is None or c.method == method)]

    def methods(self, name: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == name]

    async def wait_for(self, predicate: Callable[[Call], bool], start: int = 0, timeout: float = 30.0) -> tuple[int, Call]:
        """The first recorded call at position ≥ ``start`` matching ``predicate``: (its position, it)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for i in range(start, len(self.calls)):
                    if predicate(self.calls[i]):
                        return i, self.calls[i]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no matching Bot API call within {timeout}s; calls: {[c.method for c in self.calls[start:]]}")
            await asyncio.sleep(0.005)

    # --- HTTP ---------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        try:
            params, files = await _read_params(request)
        except ConnectionResetError:  # the client gave up (e.g. a long poll cut short at shutdown)
            return web.Response(status=499)
        call = Call(method, params, files, time.monotonic())
        if method != "getUpdates":
            with self._lock:
                self.calls.append(call)
        delay = self.delays.pop(method, 0.0)
        with self._lock:
            failure = self.failures.get(method, []).pop(0) if self.failures.get(method) else None
        if failure is not None:
            call.status = failure[0]
            return _error(*failure)
        try:
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            call.result = await handler(params, files)
        except ApiError as exc:
            call.status = exc.status
            return _error(exc.status, exc.description)
        if delay:
            await asyncio.sleep(delay)
        return web.json_response({"ok": True, "result": call.result})

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        with self._lock:
            found = next((f for f in self._files.values() if f.path == path), None)
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found.data)

    # --- Bot API methods ------------------------------------------------------------------------------
    async def _api_getMe(self, params: dict, files: dict) -> dict:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Smart Stylist", "username": "smart_stylist_test_bot",
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def _api_deleteWebhook(self, params: dict, files: dict) -> bool:
        return True

    async def _api_setWebhook(self, params: dict, files: dict) -> bool:
        return True

    async def _api_setMyCommands(self, params: dict, files: dict) -> bool:
        for command in params.get("commands", []):
            if not (1 <= len(command["command"]) <= 32) or not (1 <= len(command["description"]) <= 256):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        return True

    async def _api_getUpdates(self, params: dict, files: dict) -> list[dict]:
        offset, limit = int(params.get("offset") or 0), int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            with self._lock:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                batch = self._updates[:limit]
                self._new_update.clear()  # type: ignore[union-attr]
            if batch or time.monotonic() >= deadline:
                return batch
            try:
                await asyncio.wait_for(self._new_update.wait(), max(0.0, deadline - time.monotonic()))  # type: ignore[union-attr]
            except asyncio.TimeoutError:
                pass

    async def _api_sendChatAction(self, params: dict, files: dict) -> bool:
        _require(params, "chat_id", "action")
        return True

    async def _api_sendMessage(self, params: dict, files: dict) -> dict:
        text = params.get("text") or ""
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return self._store(params, text=text, **_markup(params))

    async def _api_sendPhoto(self, params: dict, files: dict) -> dict:
        data = self._photo_bytes(params.get("photo"), files, "photo")
        caption = _caption(params.get("caption"))
        return self._store(params, photo=self._photo_sizes(data), **caption, **_markup(params))

    async def _api_sendMediaGroup(self, params: dict, files: dict) -> list[dict]:
        media = params.get("media") or []
        if not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media in the album (must be 2-10)")
        group = f"G{next(self._file_ids)}"
        out = []
        for item in media:
            if item.get("type") != "photo":
                raise ApiError(400, "Bad Request: only photos are supported by this fake")
            data = self._photo_bytes(item.get("media"), files, None)
            out.append(self._store(params, photo=self._photo_sizes(data), media_group_id=group,
                                   **_caption(item.get("caption"))))
        return out

    async def _api_answerCallbackQuery(self, params: dict, files: dict) -> bool:
        _require(params, "callback_query_id")
        if len(params.get("text") or "") > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    async def _api_editMessageReplyMarkup(self, params: dict, files: dict) -> dict:
        message = self._find(params)
        message.pop("reply_markup", None)
        message.update(_markup(params))
        return message

    async def _api_editMessageText(self, params: dict, files: dict) -> dict:
        message = self._find(params)
        message["text"] = params.get("text") or ""
        message.pop("reply_markup", None)
        message.update(_markup(params))
        return message

    async def _api_getFile(self, params: dict, files: dict) -> dict:
        file_id = params.get("file_id")
        with self._lock:
            found = self._files.get(file_id)
        if found is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if found.size > DOWNLOAD_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": file_id, "file_unique_id": "u" + file_id, "file_size": found.size, "file_path": found.path}

    # --- helpers ------------------------------------------------------------------------------------------
    def _store(self, params: dict, **content: Any) -> dict:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": _chat(chat_id),
                   "from": {"id": self.bot_id, "is_bot": True, "first_name": "Smart Stylist"}, **content}
        with self._lock:
            self._messages[(chat_id, message["message_id"])] = message
        return message

    def _find(self, params: dict) -> dict:
        with self._lock:
            message = self._messages.get((params.get("chat_id"), params.get("message_id")))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    def _photo_bytes(self, value: Any, files: dict[str, bytes], default: str | None) -> bytes:
        if isinstance(value, str) and not value.startswith("attach://") and value in self._files:
            return self._files[value].data  # re-sent by file_id
        try:
            name = _attach_name(value, default)
            data = files[name]
        except KeyError as exc:
            raise ApiError(400, "Bad Request: there is no photo in the request") from exc
        if len(data) > 10 * 1024 * 1024:
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        return data

    def _photo_sizes(self, data: bytes) -> list[dict]:
        from PIL import Image

        try:
            width, height = Image.open(io.BytesIO(data)).size
        except Exception as exc:  # Telegram refuses photos it cannot decode
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED") from exc
        info = self.add_file(data)
        return [{**info, "width": width, "height": height}]


def _user(user_id: int) -> dict:
    return {"id": user_id, "is_bot": False, "first_name": f"Shopper{user_id}", "language_code": "en"}


def _chat(chat_id: int) -> dict:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"Shopper{chat_id}"}
    return {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


def _require(params: dict, *names: str) -> None:
    missing = [n for n in names if params.get(n) in (None, "")]
    if missing:
        raise ApiError(400, f"Bad Request: {missing[0]} is empty")


def _caption(caption: str | None) -> dict:
    if caption and len(caption) > 1024:
        raise ApiError(400, "Bad Request: message caption is too long")
    return {"caption": caption} if caption else {}


def _markup(params: dict) -> dict:
    markup = params.get("reply_markup")
    if not markup:
        return {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if not button.get("text"):
                raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
    return {"reply_markup": markup}


def _decode(name: str, value: str) -> Any:
    if name in JSON_PARAMS:
        return json.loads(value)
    if name in NUMBER_PARAMS:
        try:
            return int(value)
        except ValueError:
            return float(value) if value.replace(".", "", 1).lstrip("-").isdigit() else value
    if value in ("true", "false"):
        return value == "true"
    return value


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Form, multipart or JSON bodies, as PTB and other clients send them; uploads by part name."""
    params: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if part.filename is not None:
                files[part.name] = bytes(await part.read())
            else:
                params[part.name] = _decode(part.name, await part.text())
    elif request.content_type == "application/json":
        body = await request.json()
        params = {k: v for k, v in body.items()}
    elif request.can_read_body:
        form = await request.post()
        params = {k: _decode(k, v) for k, v in form.items() if isinstance(v, str)}
    params.update({k: _decode(k, v) for k, v in request.query.items()})
    return params, files
