"""The page's relay and the Bot API server without a bot: what the page sends becomes the right update,
only offered buttons can be tapped, each chat sees only its own events, and a long run stays bounded."""
from __future__ import annotations

import asyncio
import io

import aiohttp
from aiohttp import web
from PIL import Image

from web.botapi import BotApiServer
from web.chat import add_chat_routes
from web.playground import STATIC_DIR


async def _serve(server: BotApiServer) -> tuple[web.AppRunner, str]:
    app = web.Application()
    server.add_routes(app)
    add_chat_routes(app, server, STATIC_DIR, [])
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{server.port}"


def _run(scenario) -> None:
    async def main() -> None:
        server = BotApiServer(max_calls=6)
        runner, base = await _serve(server)
        try:
            async with aiohttp.ClientSession() as http:
                await scenario(server, base, http)
        finally:
            await runner.cleanup()

    asyncio.run(main())


async def _bot(http, server: BotApiServer, base: str, method: str, **params) -> dict:
    """The bot's side: one Bot API call, as PTB would make it."""
    async with http.post(f"{base}/bot{server.token}/{method}", json=params) as response:
        body = await response.json()
        assert body["ok"], body
        return body["result"]


async def _updates(http, server: BotApiServer, base: str) -> list[dict]:
    return await _bot(http, server, base, "getUpdates", timeout=0)


def _png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 20, 20)).save(out, format="PNG")
    return out.getvalue()


def test_send_relays_photos_files_and_words_as_telegram_updates():
    async def scenario(server, base, http):
        form = aiohttp.FormData()
        form.add_field("chat_id", "42")
        form.add_field("text", "in red")
        form.add_field("file", _png((300, 200)), filename="look.png", content_type="image/png")
        async with http.post(f"{base}/play/send", data=form) as response:
            assert response.status == 200
        form = aiohttp.FormData()
        form.add_field("chat_id", "42")
        form.add_field("file", b"%PDF-1.4 not a photo", filename="list.pdf", content_type="application/pdf")
        async with http.post(f"{base}/play/send", data=form) as response:
            assert response.status == 200
        form = aiohttp.FormData()
        form.add_field("chat_id", "42")
        form.add_field("text", "/reset")
        async with http.post(f"{base}/play/send", data=form) as response:
            assert response.status == 200

        photo, document, command = [u["message"] for u in await _updates(http, server, base)]
        assert photo["chat"]["id"] == photo["from"]["id"] == 42
        assert (photo["photo"][-1]["width"], photo["photo"][-1]["height"]) == (300, 200)
        assert photo["caption"] == "in red"
        assert server.file_bytes(photo["photo"][-1]["file_id"]) == _png((300, 200))
        assert document["document"]["file_name"] == "list.pdf"
        assert document["document"]["mime_type"] == "application/pdf" and "photo" not in document
        assert command["text"] == "/reset" and command["entities"][0] == {"type": "bot_command", "offset": 0, "length": 6}

    _run(scenario)


def test_only_buttons_the_bot_offered_can_be_tapped():
    async def scenario(server, base, http):
        keyboard = {"inline_keyboard": [[{"text": "More", "callback_data": "m:abc"}]]}
        sent = await _bot(http, server, base, "sendMessage", chat_id=7, text="page 1", reply_markup=keyboard)
        for body in ({"chat_id": 7, "message_id": sent["message_id"], "data": "m:forged"},
                     {"chat_id": 8, "message_id": sent["message_id"], "data": "m:abc"},  # someone else's message
                     {"chat_id": 7, "message_id": 99999, "data": "m:abc"}):
            async with http.post(f"{base}/play/tap", json=body) as response:
                assert response.status == 404, body
        async with http.post(f"{base}/play/tap", json={"chat_id": 7, "message_id": sent["message_id"],
                                                       "data": "m:abc"}) as response:
            query_id = (await response.json())["query_id"]
        (update,) = await _updates(http, server, base)
        query = update["callback_query"]
        assert (query["id"], query["data"], query["from"]["id"]) == (query_id, "m:abc", 7)
        assert query["message"]["message_id"] == sent["message_id"] and query["message"]["text"] == "page 1"

    _run(scenario)


def test_each_chat_sees_its_own_events_in_order():
    async def scenario(server, base, http):
        await _bot(http, server, base, "sendMessage", chat_id=1, text="for one")
        await _bot(http, server, base, "sendMessage", chat_id=2, text="for two")
        await _bot(http, server, base, "sendChatAction", chat_id=1, action="upload_photo")
        await _bot(http, server, base, "editMessageText", chat_id=1, message_id=1000, text="edited")
        async with http.get(f"{base}/play/events", params={"chat_id": "1", "after": "0"}) as response:
            body = await response.json()
        assert [(e["kind"], e.get("text")) for e in body["events"]] == [
            ("message", "for one"), ("action", None), ("edit", "edited")]
        assert body["next"] == 4
        async with http.get(f"{base}/play/events", params={"chat_id": "2", "after": "0"}) as response:
            assert [e["text"] for e in (await response.json())["events"]] == ["for two"]

        waiting = asyncio.create_task(http.get(f"{base}/play/events", params={"chat_id": "2", "after": "4"}))
        await asyncio.sleep(0.2)
        assert not waiting.done()  # a long poll: nothing new for chat 2 yet
        await _bot(http, server, base, "sendMessage", chat_id=2, text="later")
        response = await asyncio.wait_for(waiting, 5)
        assert [e["text"] for e in (await response.json())["events"]] == ["later"]
        response.release()

    _run(scenario)


def test_a_long_run_keeps_bounded_history_with_absolute_positions():
    async def scenario(server, base, http):
        for n in range(20):
            await _bot(http, server, base, "sendMessage", chat_id=5, text=f"message {n}")
        assert server.position() == 20 and len(server.calls) <= 6
        nxt, calls = server.calls_since(18)
        assert nxt == 20 and [c.params["text"] for c in calls] == ["message 18", "message 19"]
        async with http.get(f"{base}/play/events", params={"chat_id": "5", "after": "0"}) as response:
            texts = [e["text"] for e in (await response.json())["events"]]
        assert texts == [f"message {n}" for n in range(20 - len(texts), 20)] and 0 < len(texts) <= 6

    _run(scenario)
