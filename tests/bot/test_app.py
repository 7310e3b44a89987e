"""``stylist bot`` start-up: token checks with clear, token-free messages; the Application's wiring."""
from __future__ import annotations

import logging

import pytest
from telegram.ext import AIORateLimiter

from bot import app as bot_app
from bot.app import REJECTED_TOKEN, build_application, file_url_for
from bot.ordering import PerChatUpdateProcessor
from tests.helpers.bot_harness import tiny_config
from tests.bot.fake_telegram import FakeTelegram


@pytest.fixture()
def clean_env(monkeypatch, tmp_path):
    for var in ("TELEGRAM_BOT_TOKEN", "STYLIST_TELEGRAM_API_URL", "STYLIST_TELEGRAM_FILE_URL", "STYLIST_ALLOWED_USERS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("STYLIST_HOME", str(tmp_path / "home"))
    yield monkeypatch
    for handler in logging.getLogger().handlers:  # main() installs the redaction filter on root handlers
        for f in [f for f in handler.filters if getattr(f, "name", "") == "redact-token"]:
            handler.removeFilter(f)


def test_missing_token_is_explained(clean_env, capsys):
    assert bot_app.main([]) == 1
    err = capsys.readouterr().err
    assert "TELEGRAM_BOT_TOKEN is not set" in err and "@BotFather" in err


def test_rejected_token_is_explained_without_the_token(clean_env, capsys):
    fake = FakeTelegram().start_in_thread()
    wrong = "987654321:AAThisTokenIsWrongButWellFormed_xyz"
    try:
        clean_env.setenv("TELEGRAM_BOT_TOKEN", wrong)
        clean_env.setenv("STYLIST_TELEGRAM_API_URL", fake.api_url)
        assert bot_app.main([]) == 1  # returns before any model loads
    finally:
        fake.stop_thread()
    out = capsys.readouterr()
    assert REJECTED_TOKEN in out.err
    assert wrong not in out.err + out.out
    assert [c.method for c in fake.calls] == []  # 401s are not recorded as calls: getMe was refused


def test_unreachable_api_is_explained(clean_env, capsys):
    clean_env.setenv("TELEGRAM_BOT_TOKEN", "1:abc")
    clean_env.setenv("STYLIST_TELEGRAM_API_URL", "http://127.0.0.1:9/bot")  # discard port: nothing listens
    assert bot_app.main([]) == 1
    err = capsys.readouterr().err
    assert "Cannot reach the Telegram Bot API at http://127.0.0.1:9/bot" in err and "1:abc" not in err


def test_build_application_wires_limits_and_urls(tmp_path):
    config = tiny_config(tmp_path, TELEGRAM_BOT_TOKEN="42:secret", STYLIST_TELEGRAM_API_URL="http://127.0.0.1:8081/bot",
                         STYLIST_TOP_K="25", STYLIST_SESSION_TTL="90")
    application = build_application(config, stylist=object())
    assert application.bot.base_url == "http://127.0.0.1:8081/bot42:secret"
    assert application.bot.base_file_url == "http://127.0.0.1:8081/file/bot42:secret"
    assert isinstance(application.update_processor, PerChatUpdateProcessor)
    assert isinstance(application.bot.rate_limiter, AIORateLimiter)
    assert application.bot_data.page_size == 10  # albums hold at most 10
    assert application.bot_data.sessions.ttl_s == 90
    with pytest.raises(ValueError, match="TELEGRAM_BOT_TOKEN"):
        build_application(tiny_config(tmp_path), stylist=object())


def test_file_url_follows_the_local_bot_api_layout():
    assert file_url_for("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert file_url_for("https://proxy.example/tg/bot/") == "https://proxy.example/tg/file/bot"


def test_cli_knows_the_webhook_options():
    args = bot_app._parser().parse_args(["--webhook-url", "https://example.org/hook", "--port", "8443"])
    assert (args.webhook_url, args.port) == ("https://example.org/hook", 8443)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webhook_mode_registers_a_secret_and_serves_updates(tiny_stylist, tmp_path):
    import asyncio

    import aiohttp

    from bot.app import webhook_options
    from tests.helpers.bot_harness import Shopper, bot_config

    async def main():
        fake = await FakeTelegram().start()
        port = _free_port()
        options = webhook_options("https://stylist.example.com/tg/hook", "127.0.0.1", port)
        application = build_application(bot_config(fake, tmp_path), tiny_stylist)
        try:
            async with application:
                await application.start()
                await application.updater.start_webhook(**options)
                registered = fake.methods("setWebhook")[0].params
                assert registered["url"] == "https://stylist.example.com/tg/hook"
                assert registered["secret_token"] == options["secret_token"]
                shopper = Shopper(fake, 950)
                update = {"update_id": 1, "message": fake.message(950, text="/help",
                          entities=[{"type": "bot_command", "offset": 0, "length": 5}])}
                url = f"http://127.0.0.1:{port}/tg/hook"
                async with aiohttp.ClientSession() as http:
                    async with http.post(url, json=update) as forged:
                        assert forged.status == 403  # no secret: not from Telegram
                    headers = {"X-Telegram-Bot-Api-Secret-Token": options["secret_token"]}
                    async with http.post(url, json=update, headers=headers) as real:
                        assert real.status == 200
                assert (await shopper.expect("sendMessage")).params["text"].startswith("👗 Smart Stylist")
                assert len(fake.calls_to(950, "sendMessage")) == 1
                await application.updater.stop()
                await application.stop()
        finally:
            await fake.stop()

    asyncio.run(main())


@pytest.mark.slow
def test_stylist_bot_command_serves_until_interrupted(tmp_path):
    """The real ``stylist bot`` process: token check, model load, polling, replies, clean Ctrl-C, no token in output."""
    import asyncio
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from tests.helpers.bot_harness import Shopper

    fake = FakeTelegram().start_in_thread()
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": fake.token, "STYLIST_TELEGRAM_API_URL": fake.api_url,
           "STYLIST_HOME": str(tmp_path / "home"), "STYLIST_DB": str(tmp_path / "empty-index")}
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-m", "stylist.cli", "bot", "--log-level", "DEBUG"], cwd=repo, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        while not fake.methods("setMyCommands"):
            assert proc.poll() is None and time.monotonic() < deadline, "the bot did not start"
            time.sleep(0.2)
        shopper = Shopper(fake, 960)
        shopper.say("/start")
        assert asyncio.run(shopper.expect("sendMessage")).params["text"].startswith("👗 Smart Stylist")
        shopper.say("red dress")  # this index is empty: a clear message, not a crash
        assert "catalogue is empty" in asyncio.run(shopper.expect("sendMessage")).params["text"]
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        fake.stop_thread()
    assert proc.returncode == 0, output[-3000:]
    assert "@smart_stylist_test_bot is up (long polling)" in output
    leaks = [line for line in output.splitlines() if fake.token in line]
    assert leaks == [] and "/bot<TOKEN>/" in output  # DEBUG logs URLs, redacted
