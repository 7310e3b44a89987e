"""End to end: the real PTB client and the real Stylist, driven through the fake Bot API server."""
from __future__ import annotations

import asyncio
import io
import logging
import threading

from PIL import Image

from bot import views
from stylist.metrics import best_match
from tests.helpers.bot_catalog import Board, make_board, make_grid_board
from tests.helpers.bot_harness import Shopper

THREE = [("Dresses", "red"), ("Handbags", "black"), ("Shoes", "blue")]
# four products in a 2×2 grid on white: a board the bundled detector handles (see _assert_detector_finds)
GRID = [("Shirts & Tops", "red"), ("Pants", "black"), ("Handbags", "blue"), ("Shoes", "green")]


def _ranks(call) -> list[int]:
    return [int(c.split(".", 1)[0]) for c in call.captions()]


def _assert_detector_finds(stylist, board: Board) -> None:
    """The premise of the tests that use the real detector's boxes: it boxes every item (IoU ≥ 0.5) with the
    item's own class, and nothing else."""
    found = stylist.detect_items(stylist.load_image(board.jpeg))
    matched = [best_match(item.box, [d.box for d in found], 0.5) for item in board.items]
    assert len(found) == len(board.items) and all(m >= 0 for m in matched), found
    assert [found[m].label for m in matched] == [item.label for item in board.items], found


def _item_buttons(keyboard) -> dict[str, str]:
    """Category → its button text ('2 · Pants'), after checking the buttons are numbered 1, 2, … in order."""
    items = keyboard.button_texts()[:-1] if keyboard.button_texts()[-1] == "All items" else keyboard.button_texts()
    assert [t.split(" · ", 1)[0] for t in items] == [str(k) for k in range(1, len(items) + 1)], items
    return {t.split(" · ", 1)[1]: t for t in items}


def test_full_flow_photo_tap_album_refine_more(run_bot, detector, tiny_stylist):
    board = make_grid_board(GRID)  # not registered: the real detector's boxes drive the flow
    _assert_detector_finds(tiny_stylist, board)

    async def scenario(fake, app):
        shopper = Shopper(fake, 101)
        shopper.photo(board.jpeg, caption="shirt under 50", size=board.size)
        keyboard = await shopper.expect("sendPhoto")
        buttons = _item_buttons(keyboard)
        assert sorted(buttons) == ["Handbags", "Pants", "Shirts & Tops", "Shoes"]
        assert keyboard.button_texts()[-1] == "All items" and len(keyboard.button_texts()) == 5
        assert "4 items" in keyboard.params["caption"] and "shirt under 50" in keyboard.params["caption"]
        annotated = Image.open(io.BytesIO(keyboard.photos()[0]))
        assert annotated.size == board.size
        assert fake.calls_to(101, "sendChatAction"), "a chat action is shown while working"
        assert [c["command"] for c in fake.methods("setMyCommands")[0].params["commands"]] == ["start", "help", "reset"]

        query_id = shopper.tap(keyboard, buttons["Shirts & Tops"])
        assert (await shopper.answer_to(query_id)).params.get("text") is None
        album = await shopper.expect("sendMediaGroup")
        assert len(album.photos()) == 10 and _ranks(album) == list(range(1, 11))
        assert all("\nShirts & Tops · " in c for c in album.captions()), album.captions()
        summary = await shopper.expect("sendMessage")
        assert summary.button_texts() == ["More", "Other item"]
        assert f"item {buttons['Shirts & Tops']}" in summary.params["text"]
        assert "Understood as: Shirts & Tops · under 50" in summary.params["text"]
        assert "in red" in summary.params["text"]  # the hint

        shopper.say("in yellow")
        refined = await shopper.expect("sendMediaGroup")
        assert "yellow" in refined.captions()[0].split("\n")[1], refined.captions()
        assert "yellow" not in album.captions()[0].split("\n")[1]  # the wish changed the order: a red shirt led
        refined_summary = await shopper.expect("sendMessage")
        assert "Shirts & Tops · yellow" in refined_summary.params["text"]  # the item's kind kept, in yellow

        shopper.tap(refined_summary, "More")
        edit = await shopper.expect("editMessageReplyMarkup")  # the used "More" goes away first
        assert edit.params["message_id"] == refined_summary.result["message_id"]
        page2 = await shopper.expect("sendMediaGroup")
        assert _ranks(page2) == [11, 12]  # the catalog holds 12 shirts & tops
        names1 = {c.split("\n")[0].split(". ", 1)[1] for c in refined.captions()}
        names2 = {c.split("\n")[0].split(". ", 1)[1] for c in page2.captions()}
        assert not names1 & names2, "the next page repeats nothing"
        await shopper.expect("sendMessage")

        shopper.tap(summary, "Other item")
        again = await shopper.expect("sendMessage")
        assert again.button_texts()[:4] == keyboard.button_texts()[:4]
        shopper.tap(again, buttons["Handbags"])
        bags = await shopper.expect("sendMediaGroup")
        assert all("\nHandbags · " in c for c in bags.captions())

    run_bot(scenario)


def test_all_items_sends_an_album_per_item(run_bot, detector, tiny_stylist):
    board = make_grid_board(GRID)  # the real detector's boxes
    _assert_detector_finds(tiny_stylist, board)

    async def scenario(fake, app):
        shopper = Shopper(fake, 102)
        shopper.photo(board.jpeg, size=board.size)
        keyboard = await shopper.expect("sendPhoto")
        buttons = _item_buttons(keyboard)
        shopper.tap(keyboard, "All items")
        for label in keyboard.button_texts()[:4]:  # one album per item, in the keyboard's order
            album = await shopper.expect("sendMediaGroup")
            assert album.captions()[0].startswith(label + " — 1. ")
            category = label.split(" · ", 1)[1]
            assert all(f"\n{category} · " in c for c in album.captions()), album.captions()
        follow = await shopper.expect("sendMessage")
        assert follow.button_texts() == keyboard.button_texts()[:4]
        shopper.say("in blue")  # words with no single item chosen: asks which item they are for
        ask = await shopper.expect("sendMessage")
        assert "“in blue”" in ask.params["text"] and "All items" in ask.button_texts()
        shopper.tap(ask, buttons["Shoes"])
        shoes = await shopper.expect("sendMediaGroup")
        assert "\nShoes · blue · " in shoes.captions()[0], shoes.captions()

    run_bot(scenario)


def test_one_item_photo_goes_straight_to_results(run_bot, detector, tiny_stylist):
    board = make_grid_board([("Pants", "black")])  # the real detector's box
    _assert_detector_finds(tiny_stylist, board)

    async def scenario(fake, app):
        shopper = Shopper(fake, 103)
        shopper.photo(board.jpeg)
        album = await shopper.expect("sendMediaGroup")
        assert all("\nPants · " in c for c in album.captions())
        summary = await shopper.expect("sendMessage")
        assert summary.button_texts() == ["More"]  # no "Other item" with a single item
        assert not fake.calls_to(103, "sendPhoto"), "no item keyboard for a single item"

    run_bot(scenario)


def test_more_after_a_re_send_pages_on_from_the_handlers_offset(run_bot, detector, tiny_stylist):
    """Sending results never moves the paging (send_results returns the page size; the handler advances):
    after page 1 is sent again — the same item tapped again, then a direct send_results — 'More' still gives
    ranks 11–12, the same products as the first time."""
    from bot.replies import send_results

    board = make_grid_board(GRID)  # the real detector's boxes (test_full_flow checks it finds all four)

    def names(call) -> list[str]:
        return [c.split("\n")[0] for c in call.captions()]

    async def scenario(fake, app):
        shopper = Shopper(fake, 107)

        async def settled() -> None:
            """One shopper's updates run in order: once /help is answered, the handler before it is done."""
            shopper.say("/help")
            assert (await shopper.expect("sendMessage")).params["text"] == views.HELP

        shopper.photo(board.jpeg, size=board.size)
        keyboard = await shopper.expect("sendPhoto")
        pants = _item_buttons(keyboard)["Pants"]
        shopper.tap(keyboard, pants)
        page1 = await shopper.expect("sendMediaGroup")
        assert _ranks(page1) == list(range(1, 11))
        summary1 = await shopper.expect("sendMessage")
        shopper.tap(summary1, "More")
        page2 = await shopper.expect("sendMediaGroup")
        assert _ranks(page2) == [11, 12]  # the catalog holds 12 pants
        assert (await shopper.expect("sendMessage")).button_texts() == ["Other item"]  # last page: no "More"

        shopper.tap(keyboard, pants)  # page 1 again, from the start
        again = await shopper.expect("sendMediaGroup")
        assert names(again) == names(page1)
        summary_again = await shopper.expect("sendMessage")
        await settled()
        session = app.bot_data.sessions.get((107, 107))
        assert session.offset == 10  # the handler moved it past the page it sent

        result = await asyncio.to_thread(tiny_stylist.search_item, session.image, session.detection(),
                                         text=session.text, top_k=11, offset=10, restrict_category=True)
        assert await send_results(app.bot, 107, session, result, 10) == 2  # a direct re-send of page 2 …
        assert names(await shopper.expect("sendMediaGroup")) == names(page2)
        await shopper.expect("sendMessage")
        assert session.offset == 10  # … leaves the paging alone

        shopper.tap(summary_again, "More")
        more = await shopper.expect("sendMediaGroup")
        assert _ranks(more) == [11, 12] and names(more) == names(page2)
        await shopper.expect("sendMessage")
        await settled()
        assert session.offset == 12

    run_bot(scenario)


def test_no_item_photo_offers_the_whole_photo(run_bot, detector, tiny_stylist):
    board = make_board([], (500, 300))  # an empty grey canvas: the real detector finds nothing
    _assert_detector_finds(tiny_stylist, board)

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
        greens = await shopper.expect("sendMediaGroup")
        assert greens.captions()[0].split("\n")[1].split(" · ")[1] == "green", greens.captions()  # the wish first
        refined = (await shopper.expect("sendMessage")).params["text"]
        assert "the whole photo" in refined and "green" in refined.split("Understood as: ")[1]
        assert len(fake.methods("getFile")) == 1

    run_bot(scenario)


def test_image_sent_as_a_file(run_bot, detector):
    board = make_grid_board(GRID)  # the real detector's boxes (test_full_flow checks it finds all four)
    png = io.BytesIO()
    Image.open(io.BytesIO(board.jpeg)).save(png, format="PNG")

    async def scenario(fake, app):
        shopper = Shopper(fake, 105)
        shopper.document(png.getvalue(), "outfit.png", "image/png", caption="leather")
        keyboard = await shopper.expect("sendPhoto")
        assert sorted(_item_buttons(keyboard)) == ["Handbags", "Pants", "Shirts & Tops", "Shoes"]
        assert keyboard.button_texts()[-1] == "All items"
        assert "“leather”" in keyboard.params["caption"]

    run_bot(scenario)


def test_words_without_a_photo_are_a_text_search(run_bot, detector):
    async def scenario(fake, app):
        shopper = Shopper(fake, 106)
        shopper.say("black handbag under 50")
        album = await shopper.expect("sendMediaGroup")
        lines = [c.split("\n")[1].split(" · ") for c in album.captions()]  # category · colour · price
        # the catalog's handbags at 50 or less: variant 0 of each of its 6 colours (variant 1 costs 65.50)
        assert sorted(color for _, color, _ in lines) == ["black", "blue", "green", "red", "white", "yellow"]
        assert all(cat == "Handbags" and float(price) == 50 for cat, _, price in lines), lines
        assert lines[0][1] == "black", lines  # the wished colour first
        summary = await shopper.expect("sendMessage")
        assert "your words" in summary.params["text"]
        assert "Understood as: " in summary.params["text"] and "Handbags · black · under 50" in summary.params["text"]
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
        assert texts[202] == ("That file is 25 MB; Telegram lets me download at most 20 MB. "
                              "Please send a smaller image.")
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
        failures = [r.exc_info[1] for r in caplog.records if r.exc_info]
        assert [str(e) for e in failures] == ["detector exploded"], caplog.text  # logged once, with its traceback
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
            assert f"{kinds[i]} · {palette[i]}" in summary.params["text"]

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


def test_restart_keeps_sessions_and_only_expired_photos_get_the_kind_answer(run_bot, detector, tiny_stylist, tmp_path):
    board = detector.register(make_board(THREE, (605, 300)))
    other = detector.register(make_board(THREE, (610, 300)))
    from tests.bot.fake_telegram import FakeTelegram
    from tests.helpers.bot_harness import bot_config, running_bot

    async def main():
        fake = await FakeTelegram().start()
        config = bot_config(fake, tmp_path)
        shopper, second = Shopper(fake, 501), Shopper(fake, 502)
        try:
            async with running_bot(config, tiny_stylist):
                shopper.photo(board.jpeg)
                keyboard = await shopper.expect("sendPhoto")
                shopper.tap(keyboard, "1 · Dresses")
                summary = await shopper.expect("sendMessage")
                second.photo(other.jpeg)
                other_keyboard = await second.expect("sendPhoto")
            async with running_bot(config, tiny_stylist):  # a new process: sessions come back from disk
                query_id = shopper.tap(keyboard, "2 · Handbags")  # an item on the old message
                assert (await shopper.answer_to(query_id)).params.get("text") is None
                album = await shopper.expect("sendMediaGroup")
                assert all("\nHandbags · " in c for c in album.captions())
                await shopper.expect("sendMessage")
                shopper.tap(summary, "More")  # "More" on the message from before the restart
                page2 = await shopper.expect("sendMediaGroup")
                assert int(page2.captions()[0].split(".", 1)[0]) == 11
                assert "Matches 11–" in (await shopper.expect("sendMessage")).params["text"]
                for photo in (config.bot_dir / "photos").glob("*.jpg"):  # cleaned up (TTL or size cap)
                    photo.unlink()
                query_id = second.tap(other_keyboard, "1 · Dresses")
                assert (await second.answer_to(query_id)).params["text"] == views.STALE
                edit = await second.expect("editMessageReplyMarkup")
                assert edit.params["message_id"] == other_keyboard.result["message_id"]
                assert not edit.params.get("reply_markup")
                forged = shopper.tap_data(keyboard.result, "zz:unknown")
                assert (await shopper.answer_to(forged)).params["text"] == views.STALE
                shopper.say("/start")
                assert (await shopper.expect("sendMessage")).params["text"] == views.HELP
                assert not fake.calls_to(502, "sendMediaGroup")
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


def test_big_photos_are_kept_small_in_memory(tiny_stylist):
    from bot.handlers import KEEP_SIDE, load_photo

    big = io.BytesIO()
    Image.new("RGB", (4000, 2500), (120, 30, 30)).save(big, format="JPEG")
    image = load_photo(tiny_stylist, big.getvalue())
    assert max(image.size) == KEEP_SIDE and image.size[0] / image.size[1] == 1.6
