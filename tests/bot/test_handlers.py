"""End to end: the real PTB client and the real Stylist, driven through the fake Bot API server."""
from __future__ import annotations

import asyncio
import io
import logging
import threading

from PIL import Image

from bot import views
from tests.helpers.bot_catalog import make_board
from tests.helpers.bot_harness import Shopper

THREE = [("Dresses", "red"), ("Handbags", "black"), ("Shoes", "blue")]


def _ranks(call) -> list[int]:
    return [int(c.split(".", 1)[0]) for c in call.captions()]


def test_full_flow_photo_tap_album_refine_more(run_bot, detector):
    board = detector.register(make_board(THREE, (600, 300)))

    async def scenario(fake, app):
        shopper = Shopper(fake, 101)
        shopper.photo(board.jpeg, caption="dress under 50")
        keyboard = await shopper.expect("sendPhoto")
        assert keyboard.button_texts() == ["1 · Dresses", "2 · Handbags", "3 · Shoes", "All items"]
        assert "3 items" in keyboard.params["caption"] and "dress under 50" in keyboard.params["caption"]
        annotated = Image.open(io.BytesIO(keyboard.photos()[0]))
        assert annotated.size == board.size
        assert fake.calls_to(101, "sendChatAction"), "a chat action is shown while working"
        assert [c["command"] for c in fake.methods("setMyCommands")[0].params["commands"]] == ["start", "help", "reset"]

        query_id = shopper.tap(keyboard, "1 · Dresses")
        assert (await shopper.answer_to(query_id)).params.get("text") is None
        album = await shopper.expect("sendMediaGroup")
        assert len(album.photos()) == 10 and _ranks(album) == list(range(1, 11))
        assert all("\nDresses · " in c for c in album.captions()), album.captions()
        summary = await shopper.expect("sendMessage")
        assert summary.button_texts() == ["More", "Other item"]
        assert "item 1 · Dresses" in summary.params["text"]
        assert "Understood as: Dresses · under 50" in summary.params["text"]
        assert "in red" in summary.params["text"]  # the hint

        shopper.say("in red")
        refined = await shopper.expect("sendMediaGroup")
        assert "red" in refined.captions()[0].split("\n")[1], refined.captions()
        assert refined.photos() != album.photos()
        refined_summary = await shopper.expect("sendMessage")
        assert "Understood as: red" in refined_summary.params["text"]

        shopper.tap(refined_summary, "More")
        edit = await shopper.expect("editMessageReplyMarkup")  # the used "More" goes away first
        assert edit.params["message_id"] == refined_summary.result["message_id"]
        page2 = await shopper.expect("sendMediaGroup")
        assert _ranks(page2)[0] == 11
        names1 = {c.split("\n")[0].split(". ", 1)[1] for c in refined.captions()}
        names2 = {c.split("\n")[0].split(". ", 1)[1] for c in page2.captions()}
        assert not names1 & names2, "the next page repeats nothing"
        await shopper.expect("sendMessage")

        shopper.tap(summary, "Other item")
        again = await shopper.expect("sendMessage")
        assert again.button_texts()[:3] == ["1 · Dresses", "2 · Handbags", "3 · Shoes"]
        shopper.tap(again, "2 · Handbags")
        bags = await shopper.expect("sendMediaGroup")
        assert all("\nHandbags · " in c for c in bags.captions())

    run_bot(scenario)


def test_all_items_sends_an_album_per_item(run_bot, detector):
    board = detector.register(make_board(THREE, (601, 300)))

    async def scenario(fake, app):
        shopper = Shopper(fake, 102)
        shopper.photo(board.jpeg)
        shopper.tap(await shopper.expect("sendPhoto"), "All items")
        for label in ("1 · Dresses", "2 · Handbags", "3 · Shoes"):
            album = await shopper.expect("sendMediaGroup")
            assert album.captions()[0].startswith(label + " — 1. ")
        follow = await shopper.expect("sendMessage")
        assert follow.button_texts() == ["1 · Dresses", "2 · Handbags", "3 · Shoes"]
        shopper.say("in blue")  # words with no single item chosen: asks which item they are for
        ask = await shopper.expect("sendMessage")
        assert "“in blue”" in ask.params["text"] and "All items" in ask.button_texts()
        shopper.tap(ask, "3 · Shoes")
        shoes = await shopper.expect("sendMediaGroup")
        assert "blue" in shoes.captions()[0]

    run_bot(scenario)


def test_one_item_photo_goes_straight_to_results(run_bot, detector):
    board = detector.register(make_board([("Handbags", "green")], (400, 300)))

    async def scenario(fake, app):
        shopper = Shopper(fake, 103)
        shopper.photo(board.jpeg)
        album = await shopper.expect("sendMediaGroup")
        assert all("\nHandbags · " in c for c in album.captions())
        summary = await shopper.expect("sendMessage")
        assert summary.button_texts() == ["More"]  # no "Other item" with a single item
        assert not fake.calls_to(103, "sendPhoto"), "no item keyboard for a single item"

    run_bot(scenario)


def test_no_item_photo_offers_the_whole_photo(run_bot, detector):
    board = detector.register(make_board([], (500, 300)))

    async def scenario(fake, app):
        shopper = Shopper(fake, 104)
        shopper.photo(board.jpeg)
        offer = await shopper.expect("sendMessage")
        assert offer.params["text"] == views.NO_ITEMS
        assert offer.button_texts() == ["Search the whole photo"]
        shopper.tap(offer, "Search the whole photo")
        album = await shopper.expect("sendMediaGroup")
        assert len(album.photos()) == 10
        summary = await shopper.expect("sendMessage")
        assert "the whole photo" in summary.params["text"]
        shopper.say("in green")  # words refine the whole-photo search, no new upload
        await shopper.expect("sendMediaGroup")
        refined = (await shopper.expect("sendMessage")).params["text"]
        assert "the whole photo" in refined and "Understood as: green" in refined
        assert len(fake.methods("getFile")) == 1

    run_bot(scenario)


def test_image_sent_as_a_file(run_bot, detector):
    board = detector.register(make_board(THREE, (602, 300)))
    png = io.BytesIO()
    Image.open(io.BytesIO(board.jpeg)).save(png, format="PNG")

    async def scenario(fake, app):
        shopper = Shopper(fake, 105)
        shopper.document(png.getvalue(), "outfit.png", "image/png", caption="leather")
        keyboard = await shopper.expect("sendPhoto")
        assert keyboard.button_texts()[-1] == "All items"
        assert "“leather”" in keyboard.params["caption"]

    run_bot(scenario)


def test_words_without_a_photo_are_a_text_search(run_bot, detector):
    async def scenario(fake, app):
        shopper = Shopper(fake, 106)
        shopper.say("black handbag under 50")
        await shopper.expect("sendMediaGroup")
        summary = await shopper.expect("sendMessage")
        assert "your words" in summary.params["text"]
        assert "Understood as: Handbags · black · under 50" in summary.params["text"]
        assert any(c.method == "sendChatAction" and c.params["action"] == "typing" for c in fake.calls_to(106))

    run_bot(scenario)


def test_bad_inputs_get_short_clear_messages(run_bot, detector):
    twenty_five_mb = 25 * 1024 * 1024

    async def scenario(fake, app):
        cases = {
            201: lambda s: s.document(b"%PDF-1.4 not an image", "order.pdf", "application/pdf"),
            202: lambda s: s.document(b"\xff\xd8 big", "huge.jpg", "image/jpeg", size=twenty_five_mb),
            203: lambda s: s.photo(b"\xff\xd8\xff\xe0 this is not really a jpeg"),
            204: lambda s: s.send(sticker={"file_id": "S1", "file_unique_id": "s1", "type": "regular", "width": 512,
                                           "height": 512, "is_animated": False, "is_video": False}),
            205: lambda s: s.send(voice={"file_id": "V1", "file_unique_id": "v1", "duration": 3}),
            206: lambda s: s.send(video={"file_id": "D1", "file_unique_id": "d1", "width": 64, "height": 64, "duration": 2}),
            207: lambda s: s.send(location={"latitude": 52.5, "longitude": 13.4}),
            208: lambda s: s.say("/frobnicate"),
            209: lambda s: s.document(b"", "empty.png", "image/png"),
        }
        shoppers = {uid: Shopper(fake, uid) for uid in cases}
        for uid, send in cases.items():
            send(shoppers[uid])
        texts = {uid: (await s.expect("sendMessage")).params["text"] for uid, s in shoppers.items()}
        assert texts[201] == views.NOT_AN_IMAGE
        assert texts[202] == views.too_big(twenty_five_mb) and "20 MB" in texts[202]
        assert texts[203].startswith("I couldn't open that picture")
        assert texts[204] == texts[205] == texts[206] == texts[207] == views.UNSUPPORTED
        assert texts[208] == views.UNKNOWN_COMMAND
        assert texts[209].startswith("I couldn't open that picture")
        downloads = [c.params["file_id"] for c in fake.methods("getFile")]
        assert len(downloads) == 2, "the 20 MB check happens before any download"

        # a file whose size Telegram only reveals at getFile time
        late = Shopper(fake, 210)
        info = fake.add_file(b"x", size=twenty_five_mb)
        late.send(document={**info, "file_name": "a.jpg", "mime_type": "image/jpeg", "file_size": None})
        assert "20 MB" in (await late.expect("sendMessage")).params["text"]

    run_bot(scenario)


def test_internal_error_apologises_logs_without_token_and_keeps_running(run_bot, detector, caplog):
    broken = make_board(THREE, (603, 300))
    fine = detector.register(make_board([("Hats", "yellow")], (604, 300)))
    detector.errors[broken.size] = RuntimeError("detector exploded")

    async def scenario(fake, app):
        shopper = Shopper(fake, 301)
        shopper.photo(broken.jpeg)
        assert (await shopper.expect("sendMessage")).params["text"] == views.APOLOGY
        shopper.photo(fine.jpeg)
        await shopper.expect("sendMediaGroup")  # still serving
        logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
        assert "detector exploded" in logged or any(r.exc_info for r in caplog.records)
        assert fake.token not in caplog.text

    with caplog.at_level(logging.ERROR, logger="bot.handlers"):
        run_bot(scenario)


def test_empty_catalog_says_so(run_bot, detector, tiny_stylist, tmp_path):
    from stylist.search import Stylist
    from stylist.store import CatalogStore
    from tests.helpers.bot_harness import tiny_config

    config = tiny_config(tmp_path / "empty")  # same loaded models, a new empty store
    empty = Stylist(config, detector, tiny_stylist.embedder, tiny_stylist.clip, CatalogStore.open(config))
    board = detector.register(make_board([("Hats", "red")], (609, 300)))

    async def scenario(fake, app):
        shopper = Shopper(fake, 302)
        shopper.photo(board.jpeg)
        assert "catalogue is empty" in (await shopper.expect("sendMessage")).params["text"]

    run_bot(scenario, stylist=empty)


def test_ten_shoppers_at_once_no_cross_talk_no_waiting(run_bot, detector):
    palette = ["red", "blue", "green", "black", "white", "yellow", "red", "blue", "green", "black"]
    kinds = ["Dresses", "Pants", "Handbags", "Shoes", "Hats", "Shirts & Tops", "Pants", "Dresses", "Hats", "Shoes"]
    boards = [detector.register(make_board([(kinds[i], palette[i]), ("Handbags", "white")], (700 + i, 300)))
              for i in range(10)]
    gate = threading.Event()
    detector.gates[boards[0].size] = gate  # shopper 0's detection is held until everyone else is done

    async def scenario(fake, app):
        shoppers = [Shopper(fake, 400 + i) for i in range(10)]
        for shopper, board in zip(shoppers, boards):
            shopper.photo(board.jpeg, caption=f"in {palette[shoppers.index(shopper)]}")
        shoppers[0].say("/help")  # queued behind shopper 0's own photo: order is kept

        async def flow(i: int) -> None:
            shopper = shoppers[i]
            keyboard = await shopper.expect("sendPhoto", timeout=60)
            first = keyboard.button_texts()[0]
            assert first == f"1 · {kinds[i]}", (i, keyboard.button_texts())
            shopper.tap(keyboard, first)
            album = await shopper.expect("sendMediaGroup", timeout=60)
            assert all(f"\n{kinds[i]} · " in c for c in album.captions()), (i, album.captions())
            summary = await shopper.expect("sendMessage", timeout=60)
            assert f"Understood as: {palette[i]}" in summary.params["text"]

        await asyncio.gather(*(flow(i) for i in range(1, 10)))
        assert not fake.calls_to(400, "sendPhoto") and not fake.calls_to(400, "sendMessage"), \
            "shopper 0 is still detecting: nobody else waited for it"
        gate.set()
        await flow(0)
        help_reply = [c for c in shoppers[0].replies() if c.method == "sendMessage" and c.params["text"] == views.HELP]
        keyboard_at = next(i for i, c in enumerate(shoppers[0].replies()) if c.method == "sendPhoto")
        assert help_reply and shoppers[0].replies().index(help_reply[0]) > keyboard_at
        for shopper in shoppers:  # every message went to the chat whose update caused it
            nonces = {d.split(":")[1] for c in shopper.replies() for row in c.buttons() for _, d in row}
            assert len(nonces) == 1

    run_bot(scenario)


def test_restart_then_an_old_button_is_answered_kindly(run_bot, detector, tiny_stylist, tmp_path):
    board = detector.register(make_board(THREE, (605, 300)))
    from tests.bot.fake_telegram import FakeTelegram
    from tests.helpers.bot_harness import bot_config, running_bot

    async def main():
        fake = await FakeTelegram().start()
        config = bot_config(fake, tmp_path)
        shopper = Shopper(fake, 501)
        try:
            async with running_bot(config, tiny_stylist):
                shopper.photo(board.jpeg)
                keyboard = await shopper.expect("sendPhoto")
            async with running_bot(config, tiny_stylist):  # a new process: sessions are gone
                query_id = shopper.tap(keyboard, "2 · Handbags")
                answer = await shopper.answer_to(query_id)
                assert answer.params["text"] == views.STALE
                edit = await shopper.expect("editMessageReplyMarkup")
                assert edit.params["message_id"] == keyboard.result["message_id"] and not edit.params.get("reply_markup")
                forged = shopper.tap_data(keyboard.result, "zz:unknown")
                assert (await shopper.answer_to(forged)).params["text"] == views.STALE
                shopper.say("/start")
                assert (await shopper.expect("sendMessage")).params["text"] == views.HELP
                assert not fake.calls_to(501, "sendMediaGroup")
        finally:
            await fake.stop()

    asyncio.run(main())


def test_reset_makes_buttons_stale(run_bot, detector):
    board = detector.register(make_board(THREE, (606, 300)))

    async def scenario(fake, app):
        shopper = Shopper(fake, 601)
        shopper.say("/reset")
        assert (await shopper.expect("sendMessage")).params["text"] == views.RESET_NOTHING
        shopper.photo(board.jpeg)
        keyboard = await shopper.expect("sendPhoto")
        shopper.say("/reset")
        assert (await shopper.expect("sendMessage")).params["text"] == views.RESET_DONE
        assert (await shopper.answer_to(shopper.tap(keyboard, "1 · Dresses"))).params["text"] == views.STALE

    run_bot(scenario)


def test_idle_sessions_expire_and_free_the_photo(run_bot, detector):
    board = detector.register(make_board(THREE, (611, 300)))

    async def scenario(fake, app):
        idle = Shopper(fake, 602)
        idle.photo(board.jpeg)
        keyboard = await idle.expect("sendPhoto")
        await asyncio.sleep(1.2)  # STYLIST_SESSION_TTL=1
        assert (await idle.answer_to(idle.tap(keyboard, "1 · Dresses"))).params["text"] == views.STALE
        assert len(app.bot_data.sessions) == 0, "expired photos are dropped from memory"

    run_bot(scenario, env={"STYLIST_SESSION_TTL": "1"})


def test_allow_list_refuses_others_politely(run_bot, detector):
    board = detector.register(make_board(THREE, (607, 300)))

    async def scenario(fake, app):
        member, stranger = Shopper(fake, 701), Shopper(fake, 702)
        stranger.photo(board.jpeg)
        assert (await stranger.expect("sendMessage")).params["text"] == views.NOT_ALLOWED
        member.photo(board.jpeg)
        keyboard = await member.expect("sendPhoto")
        answer = await stranger.answer_to(stranger.tap(keyboard, "1 · Dresses"))
        assert answer.params["text"] == views.NOT_ALLOWED
        assert not fake.methods("getFile")[1:], "the stranger's photo was never downloaded"

    run_bot(scenario, env={"STYLIST_ALLOWED_USERS": "701"})


def test_a_timed_out_album_is_not_sent_twice(run_bot, detector, caplog):
    board = detector.register(make_board([("Shoes", "red")], (608, 300)))

    async def scenario(fake, app):
        fake.delays["sendMediaGroup"] = 2.5  # Telegram got it, but the answer comes after our timeout
        shopper = Shopper(fake, 801)
        shopper.photo(board.jpeg)
        summary = await shopper.expect("sendMessage")  # the buttons still come
        assert summary.button_texts() == ["More"]
        await asyncio.sleep(2.0)
        assert len(fake.calls_to(801, "sendMediaGroup")) == 1

    with caplog.at_level(logging.WARNING, logger="bot.replies"):
        run_bot(scenario, read_timeout_s=1.0)
    assert "not re-sent" in caplog.text


def test_unwrapped_real_detector_decides_the_flow(run_bot, detector, tiny_stylist):
    """No board truth: whatever the real detector finds (0, 1 or more items) leads to the matching reply."""
    board = make_board(THREE, (610, 300))  # not registered: the real detector's boxes are used
    found = tiny_stylist.detect_items(tiny_stylist.load_image(board.jpeg))

    async def scenario(fake, app):
        shopper = Shopper(fake, 902)
        shopper.photo(board.jpeg)
        if not found:
            assert (await shopper.expect("sendMessage")).params["text"] == views.NO_ITEMS
        elif len(found) == 1:
            await shopper.expect("sendMediaGroup")
        else:
            keyboard = await shopper.expect("sendPhoto")
            assert keyboard.button_texts() == [views.item_label(d) for d in found] + ["All items"]

    run_bot(scenario)


def test_big_photos_are_kept_small_in_memory(tiny_stylist):
    from bot.handlers import KEEP_SIDE, load_photo

    big = io.BytesIO()
    Image.new("RGB", (4000, 2500), (120, 30, 30)).save(big, format="JPEG")
    image = load_photo(tiny_stylist, big.getvalue())
    assert max(image.size) == KEEP_SIDE and image.size[0] / image.size[1] == 1.6
