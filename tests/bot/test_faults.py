"""Faults with the real components: Bot API errors from the fake server, a failing search, a Chroma server
that goes away mid-session and comes back, and one shopper flooding the bot with photos."""
from __future__ import annotations

import asyncio
import logging
import threading

from bot import views
from bot.logs import RedactTokenFilter
from web.botapi import BotApiServer
from tests.helpers.bot_catalog import make_board
from tests.helpers.bot_harness import Shopper

from tests.helpers.catalog import chroma_server, free_port

TWO = [("Dresses", "red"), ("Shoes", "blue")]


def test_bot_api_429_5xx_and_a_lost_poll_lose_nothing_and_send_once(run_bot, detector, caplog):
    board = detector.register(make_board([("Handbags", "black")], (631, 300)))

    async def scenario(fake, app):
        fake.failures["getUpdates"] = [(502, "Bad Gateway", None)]  # the poll fails once: the update waits
        fake.failures["sendMediaGroup"] = [(429, "Too Many Requests: retry after 1", 1)]
        fake.failures["sendMessage"] = [(500, "Internal Server Error", None), (502, "Bad Gateway", None)]
        shopper = Shopper(fake, 501)
        shopper.photo(board.jpeg)
        _, summary = await fake.wait_for(lambda c: c.chat_id == 501 and c.method == "sendMessage" and c.status == 200)
        assert summary.button_texts() == ["More"]
        album = [c for c in fake.calls_to(501, "sendMediaGroup") if c.status == 200][0]
        attempts = fake.calls_to(501, "sendMediaGroup")
        assert [c.status for c in attempts] == [429, 200]  # retried after retry_after, delivered once
        assert [c.status for c in fake.calls_to(501, "sendMessage")] == [500, 502, 200]
        assert album.t - attempts[0].t >= 0.9  # it waited retry_after
        await asyncio.sleep(0.5)
        assert len([c for c in fake.calls_to(501) if c.method == "sendMediaGroup" and c.status == 200]) == 1

    with caplog.at_level(logging.WARNING):
        run_bot(scenario)
    assert "retrying" in caplog.text


def test_a_send_that_succeeded_but_timed_out_is_not_repeated_and_the_bot_carries_on(run_bot, detector):
    board = detector.register(make_board([("Shoes", "red")], (632, 300)))
    other = detector.register(make_board([("Hats", "yellow")], (633, 300)))

    async def scenario(fake, app):
        fake.delays["sendMediaGroup"] = 2.0  # delivered, but the answer comes after the 1 s timeout
        shopper = Shopper(fake, 502)
        shopper.photo(board.jpeg)
        assert (await shopper.expect("sendMessage")).button_texts() == ["More"]
        fake.delays["sendMessage"] = 2.0  # now the summary is delivered late
        shopper.photo(other.jpeg)  # and the next search of the same shopper works
        await shopper.expect("sendMediaGroup")
        await shopper.expect("sendMessage")
        await asyncio.sleep(1.5)
        assert len(fake.calls_to(502, "sendMediaGroup")) == 2  # one per photo, none repeated
        texts = [c.params["text"] for c in fake.calls_to(502, "sendMessage")]
        assert len(texts) == 2 and views.APOLOGY not in texts  # no repeat, no apology for a delivered reply

    run_bot(scenario, read_timeout_s=1.0)


def test_an_exception_inside_a_search_is_logged_once_apologised_and_isolated(run_bot, detector, tiny_stylist,
                                                                             monkeypatch, caplog):
    broken = detector.register(make_board([("Dresses", "green")], (634, 300)))
    fine = [detector.register(make_board([("Shoes", "black")], (635 + i, 300))) for i in range(3)]
    real_search, real_photo = tiny_stylist.search_item, tiny_stylist.photo

    def search_item(img, *args, **kwargs):
        if img.size == broken.size:
            raise ZeroDivisionError("ranking blew up")
        return real_search(img, *args, **kwargs)

    def photo(img, *args, **kwargs):  # a photo is searched once when it arrives (Stylist.photo)
        if img.size == broken.size:
            raise ZeroDivisionError("ranking blew up")
        return real_photo(img, *args, **kwargs)

    monkeypatch.setattr(tiny_stylist, "search_item", search_item)
    monkeypatch.setattr(tiny_stylist, "photo", photo)

    async def scenario(fake, app):
        victim, others = Shopper(fake, 510), [Shopper(fake, 511 + i) for i in range(3)]
        victim.photo(broken.jpeg)
        for shopper, board in zip(others, fine):
            shopper.photo(board.jpeg)
        assert (await victim.expect("sendMessage")).params["text"] == views.APOLOGY
        for shopper in others:
            await shopper.expect("sendMediaGroup")
        victim.photo(fine[0].jpeg)  # the unlucky shopper is served on the next try
        await victim.expect("sendMediaGroup")
        assert fake.token not in caplog.text

    caplog.handler.addFilter(RedactTokenFilter(BotApiServer().token))  # as `stylist bot` installs it
    with caplog.at_level(logging.DEBUG):
        run_bot(scenario)
    traced = [r for r in caplog.records if r.exc_info and "ranking blew up" in str(r.exc_info[1])]
    assert len(traced) == 1 and traced[0].levelno == logging.ERROR  # once, with its traceback
    assert "ZeroDivisionError" in caplog.text


def test_a_flood_of_photos_costs_other_shoppers_nothing(run_bot, detector):
    first = detector.register(make_board(TWO, (641, 300)))
    middle = detector.register(make_board(TWO, (642, 300)))
    last = detector.register(make_board([("Hats", "red")], (643, 300)))
    bystander = detector.register(make_board([("Shoes", "green")], (644, 300)))
    gate = detector.gates[first.size] = threading.Event()

    async def scenario(fake, app):
        flooder, other = Shopper(fake, 520), Shopper(fake, 521)
        flooder.photo(first.jpeg)
        for _ in range(200):  # the first photo's search is in progress (held at its gate), not still waiting
            if detector.held:
                break
            await asyncio.sleep(0.05)
        assert detector.held == 1
        for _ in range(38):
            flooder.photo(middle.jpeg)
        flooder.photo(last.jpeg)
        other.photo(bystander.jpeg)
        await other.expect("sendMediaGroup")  # served while the flooder's first search is still running
        assert not fake.calls_to(520, "sendPhoto")
        def skipped() -> list:
            return [c for c in fake.calls_to(520, "sendMessage") if c.params["text"] == views.SKIPPED_PHOTO]

        for _ in range(100):  # the last skip notices may still be on the wire when the bystander is served
            if len(skipped()) >= 38:
                break
            await asyncio.sleep(0.05)
        assert len(skipped()) == 38  # answered while the first search is still held: at once, not after it
        calls_before = detector.calls
        gate.set()
        keyboard = await flooder.expect("sendPhoto")  # the first photo's items
        assert keyboard.button_texts() == ["1 · Dresses", "2 · Shoes", "All items"]
        album = await flooder.expect("sendMediaGroup")  # then straight to the newest photo's results
        assert all("\nHats · " in c for c in album.captions())
        await asyncio.sleep(0.3)
        assert detector.calls - calls_before == 2  # the 38 superseded photos were never searched
        assert len(fake.calls_to(520, "sendPhoto")) == 1

    run_bot(scenario)


def test_chroma_server_down_mid_session_then_back_without_restarting_the_bot(run_bot, detector, tiny_stylist,
                                                                            tmp_path):
    from index.build import build_index
    from stylist.config import load_config
    from stylist.search import Stylist
    from stylist.store import CatalogStore
    from tests.helpers.bot_catalog import write_catalog

    board = detector.register(make_board(TWO, (650, 300)))
    port, data = free_port(), tmp_path / "chroma-server"
    server = chroma_server(data, port=port)
    url = server.__enter__()
    try:
        config = load_config(env={"STYLIST_HOME": str(tmp_path / "home"), "STYLIST_CHROMA_URL": url})
        build_index(config, write_catalog(tmp_path / "catalog"), tiny_stylist.embedder, tiny_stylist.clip,
                    progress=False)
        served = Stylist(config, detector, tiny_stylist.embedder, tiny_stylist.clip, CatalogStore.open(config))

        async def scenario(fake, app):
            nonlocal server
            shopper = Shopper(fake, 530)
            shopper.photo(board.jpeg)
            keyboard = await shopper.expect("sendPhoto")
            server.__exit__(None, None, None)  # the Chroma server goes away mid-session
            shopper.tap(keyboard, "1 · Dresses")
            assert (await shopper.expect("sendMessage")).params["text"] == views.INDEX_DOWN
            server = chroma_server(data, port=port)
            await asyncio.to_thread(server.__enter__)  # ... and comes back on the same address
            shopper.tap(keyboard, "1 · Dresses")  # same session, same button, no bot restart
            album = await shopper.expect("sendMediaGroup")
            assert all("\nDresses · " in c for c in album.captions())

        run_bot(scenario, stylist=served)
    finally:
        server.__exit__(None, None, None)
