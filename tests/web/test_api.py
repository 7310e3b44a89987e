"""The search HTTP API over a real Stylist: the CLI's JSON, clear JSON errors, a catalog-only image route."""
from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from stylist import search_cli
from web import api


def _post(url: str, fields: dict, files: dict[str, tuple[str, bytes, str]] | None = None) -> tuple[int, dict]:
    async def go() -> tuple[int, dict]:
        form = aiohttp.FormData()
        for name, value in fields.items():
            form.add_field(name, str(value))
        for name, (filename, data, kind) in (files or {}).items():
            form.add_field(name, data, filename=filename, content_type=kind)
        async with aiohttp.ClientSession() as session, session.post(url, data=form) as response:
            return response.status, await response.json()

    return asyncio.run(go())


def _get(url: str | URL) -> tuple[int, bytes, str]:
    async def go() -> tuple[int, bytes, str]:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return response.status, await response.read(), response.content_type

    return asyncio.run(go())


@pytest.fixture(scope="module")
def catalog_rows(web_stylist) -> list[dict]:
    """The tiny catalog as written on disk (read here with csv, not through the product's reader)."""
    folder = Path(web_stylist.config.home).parent / "catalog"
    with (folder / "catalog.csv").open(newline="") as fh:
        return [{**row, "path": folder / row["image"]} for row in csv.DictReader(fh)]


def test_health_counts_the_catalog(playground, catalog_rows):
    status, body, kind = _get(playground.url + "api/health")
    assert (status, kind) == (200, "application/json")
    assert json.loads(body) == {"status": "ok", "products": len(catalog_rows)}


def test_search_answers_with_the_cli_json(playground, web_stylist, boards, capsys, monkeypatch):
    status, body = _post(playground.url + "api/search", {"item": "all", "top": 3, "text": "under 50"},
                         {"image": ("four.jpg", boards["four"].read_bytes(), "image/jpeg")})
    assert status == 200, body
    assert sorted(d["label"] for d in body["detections"]) == ["Handbags", "Pants", "Shirts & Tops", "Shoes"]
    assert [r["detection"] for r in body["results"]] == [0, 1, 2, 3]
    for result in body["results"]:
        assert len(result["products"]) == 3 and result["query"]["text"] == "under 50", result["query"]
        if result["query"]["max_price"] == 50:  # kept (a kind with too few under 50 relaxes it, and says so)
            assert all(p["price"] is not None and p["price"] <= 50 for p in result["products"])
        else:
            assert result["query"]["relaxed"], result["query"]
    assert any(r["query"]["max_price"] == 50 for r in body["results"])

    # The CLI over the same index, with the same (board-truth) detector: the same object, byte for byte.
    monkeypatch.setattr("stylist.search.Stylist.from_config", classmethod(lambda cls, config=None: web_stylist))
    monkeypatch.chdir(boards["four"].parent)  # so the CLI names the image as the upload did: four.jpg
    assert search_cli.main(["four.jpg", "--item", "all", "--top", "3", "--text", "under 50", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == body


def test_text_only_search(playground):
    status, body = _post(playground.url + "api/search", {"text": "red dress", "top": 4})
    assert status == 200, body
    assert body["image"] == "" and body["detections"] == []
    (result,) = body["results"]
    assert result["query"]["colors"] == ["red"] and result["query"]["categories"] == ["Dresses"]
    assert len(result["products"]) == 4
    assert result["products"][0]["color"] == "red" and result["products"][0]["category"] == "Dresses"


@pytest.mark.parametrize(("fields", "files", "status", "code", "words"), [
    ({}, {"image": ("notes.txt", b"just some words, not a picture", "text/plain")}, 400, "bad_image", "not an image"),
    ({}, {"image": ("cut.jpg", b"CUT", "image/jpeg")}, 400, "bad_image", "not an image"),
    ({"item": "7"}, "four", 422, "unknown_item", "item 7"),
    ({"item": "first"}, "four", 400, "bad_item", "'first'"),
    ({"top": "500"}, "four", 400, "bad_top", "1 to 50"),
    ({}, None, 400, "missing_input", "image"),
    ({"colour": "red"}, None, 400, "unknown_field", "'colour'"),
])
def test_bad_input_gets_a_clear_json_error(playground, boards, fields, files, status, code, words):
    if files == "four":
        files = {"image": ("four.jpg", boards["four"].read_bytes(), "image/jpeg")}
    got_status, body = _post(playground.url + "api/search", fields, files)
    assert got_status == status, body
    assert body["error"]["code"] == code and words in body["error"]["message"], body


def test_corrupt_and_too_big_images(playground, boards):
    truncated = boards["four"].read_bytes()[:2000]
    status, body = _post(playground.url + "api/search", {}, {"image": ("half.jpg", truncated, "image/jpeg")})
    assert status == 400 and body["error"]["code"] == "bad_image" and "corrupt or truncated" in body["error"]["message"]
    huge = b"\xff\xd8" + bytes(api.MAX_IMAGE_BYTES)
    status, body = _post(playground.url + "api/search", {}, {"image": ("huge.jpg", huge, "image/jpeg")})
    assert status == 413 and body["error"]["code"] == "too_big" and "20 MB" in body["error"]["message"]


def test_not_multipart_is_refused(playground):
    async def go() -> tuple[int, dict]:
        async with aiohttp.ClientSession() as session, \
                session.post(playground.url + "api/search", json={"text": "red"}) as response:
            return response.status, await response.json()

    status, body = asyncio.run(go())
    assert status == 415 and body["error"]["code"] == "multipart_required"


def test_result_images_come_from_the_catalog_only(playground, catalog_rows):
    row = catalog_rows[5]
    status, data, kind = _get(playground.url + f"api/image/{row['id']}")
    assert (status, kind) == (200, "image/jpeg") and data == Path(row["path"]).read_bytes()

    secret = Path(row["path"]).parent.parent / "secret.txt"  # beside the catalog, not in it
    secret.write_text("not for the web")
    base = URL(playground.url)
    for raw in ("/api/image/..%2F..%2F..%2F..%2Fetc%2Fpasswd", "/api/image/%2Fetc%2Fpasswd",
                "/api/image/..%2Fsecret.txt", f"/api/image/{row['id']}%2F..%2F..%2Fsecret.txt",
                "/api/image/../../secret.txt", "/api/image/nope"):
        status, data, kind = _get(base.join(URL(raw, encoded=True)))
        assert status == 404, raw
        assert b"not for the web" not in data and b"root:" not in data


def test_openapi_documents_every_api_route(playground):
    status, body, _ = _get(playground.url + "api/openapi.json")
    spec = json.loads(body)
    assert status == 200 and spec["openapi"].startswith("3.")
    app = web.Application()
    api.add_api_routes(app, stylist=None)  # type: ignore[arg-type]
    routes = {r.resource.canonical.replace("{product_id}", "{id}") for r in app.router.routes()}
    assert routes == set(spec["paths"])


def test_only_local_requests_from_our_own_page_are_served(playground):
    """Another web page in the same browser (Origin) or a rebinding DNS name (Host) gets 403."""
    port = URL(playground.url).port

    async def go(headers: dict) -> int:
        async with aiohttp.ClientSession() as session, \
                session.get(playground.url + "api/health", headers=headers) as response:
            return response.status

    assert asyncio.run(go({})) == 200
    assert asyncio.run(go({"Origin": f"http://127.0.0.1:{port}"})) == 200
    assert asyncio.run(go({"Host": f"localhost:{port}"})) == 200
    assert asyncio.run(go({"Origin": "https://evil.example"})) == 403
    assert asyncio.run(go({"Host": f"evil.example:{port}"})) == 403
    assert asyncio.run(go({"Origin": f"http://127.0.0.1:{port + 1}"})) == 403
