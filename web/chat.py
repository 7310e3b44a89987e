"""The chat page's side of the Bot API server: what a Telegram client app does, over HTTP for a browser.

The page relays the shopper's actions (a photo or file, words, a button tap) and this module turns each
into the update Telegram would deliver to the bot (``message`` or ``callback_query``); in the other
direction it turns the bot's recorded Bot API calls for that chat into events the page renders
(messages, photos, albums, edits, callback answers, chat actions). No conversation logic lives here:
what to answer is decided by the real bot in ``bot/``.

    GET  /play/events?chat_id=C&after=N   long poll: the bot's calls to chat C after position N
    POST /play/send    multipart chat_id, text, file    a message (photo if it decodes, else a document)
    POST /play/tap     JSON {chat_id, message_id, data} a tap on an inline button of a bot message
    GET  /play/file/F  a photo the shopper sent or the bot sent
    GET  /play/info    the demo photos the page offers;  GET /play/demo/N  one of them
"""
from __future__ import annotations

import asyncio
import mimetypes
from pathlib import Path
from typing import Any

from aiohttp import web

from stylist.images import probe_size
from web.botapi import BotApiServer, Call

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # Telegram takes bigger files; the bot refuses > 20 MB itself
POLL_S = 25.0
SERVER: web.AppKey[BotApiServer] = web.AppKey("botapi")
DEMO: web.AppKey[list[Path]] = web.AppKey("demo_photos")


def _buttons(markup: dict | None) -> list[list[dict]]:
    rows = (markup or {}).get("inline_keyboard", [])
    return [[{"text": b.get("text", ""), "data": b.get("callback_data"), "url": b.get("url")} for b in row]
            for row in rows]


def _photo_url(message: dict) -> str:
    return f"/play/file/{message['photo'][-1]['file_id']}"


def page_event(call: Call, chat_of_query: int | None = None) -> dict[str, Any] | None:
    """The page's view of one successful Bot API call (None for calls the page does not show).

    Texts and keyboards come from the call's parameters (what was sent then), not from the stored
    message, which later edits change: each event is a snapshot, and edits arrive as their own events.
    """
    if call.status != 200:
        return None
    p, r = call.params, call.result
    if call.method == "sendMessage":
        return {"kind": "message", "id": r["message_id"], "text": p.get("text", ""),
                "buttons": _buttons(p.get("reply_markup"))}
    if call.method == "sendPhoto":
        return {"kind": "photo", "id": r["message_id"], "photo": _photo_url(r), "caption": p.get("caption") or "",
                "buttons": _buttons(p.get("reply_markup"))}
    if call.method == "sendMediaGroup":
        return {"kind": "album", "items": [{"id": m["message_id"], "photo": _photo_url(m),
                                            "caption": item.get("caption") or ""}
                                           for m, item in zip(r, p.get("media") or [])]}
    if call.method in ("editMessageText", "editMessageReplyMarkup", "editMessageCaption"):
        return {"kind": "edit", "id": p.get("message_id"), "text": p.get("text"), "caption": p.get("caption"),
                "buttons": _buttons(p.get("reply_markup"))}
    if call.method == "answerCallbackQuery":
        return {"kind": "answer", "query_id": p.get("callback_query_id"), "text": p.get("text") or "",
                "alert": bool(p.get("show_alert"))}
    if call.method == "sendChatAction":
        return {"kind": "action", "action": p.get("action", "typing")}
    return None


def _number(raw: Any, name: str, low: int = 0, high: int = 2**62) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise web.HTTPBadRequest(text=f"{name} must be a number") from None
    if not low <= value < high:
        raise web.HTTPBadRequest(text=f"{name} is out of range")
    return value


def _chat_id(raw: Any) -> int:
    """A shopper's chat: a private chat's id is the user's id, a positive 32-bit number here."""
    return _number(raw, "chat_id", 1, 2**31)


async def events(request: web.Request) -> web.Response:
    """Long poll: the page's events for one chat after absolute call position ``after``."""
    server = request.app[SERVER]
    chat_id = _chat_id(request.query.get("chat_id"))
    after = _number(request.query.get("after", "0") or 0, "after")
    deadline = asyncio.get_running_loop().time() + POLL_S
    while True:
        next_pos, calls = server.calls_since(after)
        out = []
        for call in calls:
            chat = server.query_chat(call.params.get("callback_query_id", "")) \
                if call.method == "answerCallbackQuery" else call.chat_id
            event = page_event(call) if chat == chat_id else None
            if event is not None:
                out.append(event)
        left = deadline - asyncio.get_running_loop().time()
        if out or left <= 0:
            return web.json_response({"events": out, "next": next_pos})
        after = next_pos
        await server.wait_for_calls(next_pos, left)


async def _read_send_form(request: web.Request) -> tuple[dict[str, str], tuple[bytes, str, str] | None]:
    """The text fields and the (bytes, file name, MIME type) of the uploaded file, size-checked."""
    fields: dict[str, str] = {}
    upload = None
    reader = await request.multipart()
    async for part in reader:
        if part.name == "file" and part.filename is not None:
            data = bytearray()
            while chunk := await part.read_chunk(64 * 1024):
                data += chunk
                if len(data) > MAX_UPLOAD_BYTES:
                    raise web.HTTPRequestEntityTooLarge(max_size=MAX_UPLOAD_BYTES, actual_size=len(data))
            kind = part.headers.get("Content-Type") or mimetypes.guess_type(part.filename)[0]
            upload = (bytes(data), Path(part.filename).name or "file", kind or "application/octet-stream")
        elif part.name in ("chat_id", "text"):
            fields[part.name] = (await part.text())[:8192]
    return fields, upload


async def send(request: web.Request) -> web.Response:
    """A message from the shopper: words, a photo (with the words as caption) or a file."""
    server = request.app[SERVER]
    fields: dict[str, str] = {}
    upload: tuple[bytes, str, str] | None = None
    if request.content_type == "application/x-www-form-urlencoded":  # words only
        form = await request.post()
        fields = {k: str(v)[:8192] for k, v in form.items() if k in ("chat_id", "text")}
    elif request.content_type == "multipart/form-data":
        fields, upload = await _read_send_form(request)
    else:
        raise web.HTTPUnsupportedMediaType(text="send a form: chat_id, text, file")
    chat_id = _chat_id(fields.get("chat_id"))
    text = fields.get("text", "").strip()
    content: dict[str, Any] = {}
    if upload is not None:
        data, name, mime = upload
        size = probe_size(data)  # a picture goes as a photo, like a Telegram app sends it; anything else as a file
        suffix = "".join(ch for ch in name.rsplit(".", 1)[-1].lower() if ch.isalnum())[:8] if "." in name else ""
        info = server.add_file(data, suffix=suffix or "bin")
        if size is not None:
            content["photo"] = [{**info, "width": size[0], "height": size[1]}]
        else:
            content["document"] = {**info, "file_name": name, "mime_type": mime}
        if text:
            content["caption"] = text
    elif text:
        content["text"] = text
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    else:
        raise web.HTTPBadRequest(text="send some text or a file")
    message = server.message(chat_id, **content)
    server.push_update(message=message)
    return web.json_response({"message_id": message["message_id"],
                              "photo": _photo_url(message) if "photo" in message else None})


async def tap(request: web.Request) -> web.Response:
    """A tap on an inline button: only buttons the bot really put on that message can be tapped."""
    server = request.app[SERVER]
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="send JSON: {chat_id, message_id, data}") from None
    chat_id = _chat_id(body.get("chat_id"))
    message = server.sent_message(chat_id, _number(body.get("message_id"), "message_id"))
    data = body.get("data")
    offered = [b.get("callback_data") for row in (message or {}).get("reply_markup", {}).get("inline_keyboard", [])
               for b in row]
    if message is None or data not in offered:
        raise web.HTTPNotFound(text="no such button on that message")
    return web.json_response({"query_id": server.callback(chat_id, message, data)})


async def file(request: web.Request) -> web.Response:
    data = request.app[SERVER].file_bytes(request.match_info["file_id"])
    if data is None:
        raise web.HTTPNotFound()
    kind = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
    return web.Response(body=data, content_type=kind, headers={"Cache-Control": "max-age=86400"})


async def info(request: web.Request) -> web.Response:
    """The demo photos, and the position from which a freshly opened page follows the bot's calls."""
    photos = request.app[DEMO]
    return web.json_response({"next": request.app[SERVER].position(),
                              "demo_photos": [{"url": f"/play/demo/{i}", "name": p.stem} for i, p in enumerate(photos)]})


async def demo_photo(request: web.Request) -> web.StreamResponse:
    photos = request.app[DEMO]
    raw = request.match_info["n"]
    if not raw.isdigit() or int(raw) >= len(photos):
        raise web.HTTPNotFound()
    return web.FileResponse(photos[int(raw)])


def add_chat_routes(app: web.Application, server: BotApiServer, static_dir: Path, demo_photos: list[Path]) -> None:
    """Mount the page (``/``, ``/static/…``) and its relay (``/play/…``) on ``app``."""
    app[SERVER], app[DEMO] = server, list(demo_photos)

    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(static_dir / "index.html")

    app.router.add_get("/", index)
    app.router.add_static("/static/", static_dir)
    app.router.add_get("/play/events", events)
    app.router.add_post("/play/send", send)
    app.router.add_post("/play/tap", tap)
    app.router.add_get("/play/file/{file_id}", file)
    app.router.add_get("/play/info", info)
    app.router.add_get("/play/demo/{n}", demo_photo)
