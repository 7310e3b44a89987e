"""Bad inputs through the real bot (docs/bad-inputs.md): each gets the documented answer, none crashes it."""
from __future__ import annotations

import io

from PIL import Image

from bot import views
from bot.handlers import MAX_WORDS_CHARS
from tests.helpers.bot_catalog import make_board
from tests.helpers.bot_harness import Shopper

from tests.helpers.bad_samples import PDF, SVG, png_header_only

TWO = [("Dresses", "red"), ("Shoes", "blue")]


def _reencode(jpeg: bytes, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).save(buf, fmt)
    return buf.getvalue()


def test_heic_is_searched_like_any_photo(run_bot, detector):
    board = detector.register(make_board(TWO, (611, 300)))

    async def scenario(fake, app):
        shopper = Shopper(fake, 401)
        shopper.document(_reencode(board.jpeg, "HEIF"), "IMG_0001.HEIC", "image/heic")
        keyboard = await shopper.expect("sendPhoto")
        assert keyboard.button_texts() == ["1 · Dresses", "2 · Shoes", "All items"]

    run_bot(scenario)


def test_refused_files_get_the_reason(run_bot, detector):
    async def scenario(fake, app):
        cases = {
            411: lambda s: s.document(SVG, "logo.svg", "image/svg+xml"),
            412: lambda s: s.document(PDF, "photo.jpg", "image/jpeg"),
            413: lambda s: s.photo(_reencode(make_board(TWO, (620, 300)).jpeg, "PNG")[:-60]),
            414: lambda s: s.document(png_header_only(20_000, 20_000), "huge.png", "image/png"),
            415: lambda s: s.photo(_tiny_png(), size=(1, 1)),
        }
        shoppers = {uid: Shopper(fake, uid) for uid in cases}
        for uid, send in cases.items():
            send(shoppers[uid])
        texts = {uid: (await s.expect("sendMessage")).params["text"] for uid, s in shoppers.items()}
        assert all(t.startswith("I couldn't open that picture") for t in texts.values()), texts
        assert "not an image we can read" in texts[411] and "not an image we can read" in texts[412]
        assert "corrupt or truncated" in texts[413]
        assert "too large" in texts[414]
        assert "too small" in texts[415]

    run_bot(scenario)


def _tiny_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (1, 1), (200, 0, 0)).save(buf, "PNG")
    return buf.getvalue()


def test_long_and_emoji_only_captions(run_bot, detector):
    long_board = detector.register(make_board(TWO, (612, 300)))
    emoji_board = detector.register(make_board([("Hats", "yellow")], (613, 300)))

    async def scenario(fake, app):
        talker = Shopper(fake, 421)
        talker.photo(long_board.jpeg, caption="red dress " + "very " * 200)  # 1,010 chars: Telegram's max is 1024
        keyboard = await talker.expect("sendPhoto")
        assert len(keyboard.params["caption"]) <= 1024 and "red dress" in keyboard.params["caption"]
        session = app.bot_data.sessions.get((421, 421))
        assert session is not None and len(session.text) <= MAX_WORDS_CHARS
        shy = Shopper(fake, 422)
        shy.photo(emoji_board.jpeg, caption="👒✨🔥")  # one item: straight to results, the emoji change nothing
        album = await shy.expect("sendMediaGroup")
        assert all("\nHats · " in c for c in album.captions())
        assert "Understood as" not in (await shy.expect("sendMessage")).params["text"].split("\n")[0]

    run_bot(scenario)
