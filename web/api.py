"""The search HTTP API: ``POST /api/search``, ``GET /api/health``, ``GET /api/image/{id}``, ``/api/openapi.json``.

``/api/search`` takes a multipart form (file ``image`` and/or field ``text``; ``item`` = N, N,M or
``all``; ``top``) and answers with exactly the object ``stylist search --json`` prints, made by the same
function (``stylist.search_cli.search_json``). Errors are JSON too: ``{"error": {"code", "message"}}``
with a 4xx/5xx status, never an HTML page or a traceback.

Result images are served by product id: the route looks the id up in the index and serves the image
file recorded for it, so it can only ever serve catalog files (a path in the URL is just an unknown id).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from stylist.errors import BadImageError, EmptyIndexError, IndexUnavailableError, UnknownItemError
from stylist.search_cli import parse_items, run_search, search_json

if TYPE_CHECKING:
    from stylist.search import Stylist

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 20 * 1024 * 1024  # what the bot accepts from Telegram, so both edges agree
MAX_FIELD_BYTES = 4096  # text, item, top
MAX_TOP = 50
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
               ".gif": "image/gif", ".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff"}
OPENAPI = Path(__file__).resolve().parent / "openapi.json"
STYLIST: web.AppKey["Stylist"] = web.AppKey("stylist")


class ApiProblem(Exception):
    """A client-visible error: HTTP status, a stable machine code and a message a person can act on."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def problem(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


async def _read_limited(part, limit: int, what: str) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data += chunk
        if len(data) > limit:
            raise ApiProblem(413, "too_big", f"{what} is larger than {limit // (1024 * 1024) or limit} "
                                             f"{'MB' if limit >= 1024 * 1024 else 'bytes'}")
    return bytes(data)


async def read_search_form(request: web.Request) -> tuple[bytes | None, str, dict[str, str]]:
    """(image bytes or None, the image's file name, the text fields) from a size-checked multipart body
    (or a urlencoded one, for words alone)."""
    if request.content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        unknown = sorted(set(form) - {"text", "item", "top"})
        if unknown:
            raise ApiProblem(400, "unknown_field", f"unknown form field {unknown[0]!r}; use image, text, item, top")
        return None, "", {k: str(v).strip() for k, v in form.items()}
    if request.content_type != "multipart/form-data":
        raise ApiProblem(415, "multipart_required", "send a multipart/form-data body (curl -F image=@photo.jpg)")
    if request.content_length is not None and request.content_length > MAX_IMAGE_BYTES + 64 * 1024:
        raise ApiProblem(413, "too_big", f"the request is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    image, name, fields = None, "", {}
    reader = await request.multipart()
    async for part in reader:
        if part.name == "image":
            image = await _read_limited(part, MAX_IMAGE_BYTES, "the image")
            name = Path(part.filename or "upload").name
        elif part.name in ("text", "item", "top"):
            fields[part.name] = (await _read_limited(part, MAX_FIELD_BYTES, f"field {part.name!r}")).decode(
                "utf-8", "replace").strip()
        else:
            raise ApiProblem(400, "unknown_field", f"unknown form field {part.name!r}; use image, text, item, top")
    return image, name, fields


def _top(raw: str | None, default: int) -> int:
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_TOP:
        raise ApiProblem(400, "bad_top", f"top must be a whole number from 1 to {MAX_TOP}, not {raw!r}")
    return int(raw)


async def search(request: web.Request) -> web.Response:
    """``POST /api/search``: the same JSON as ``stylist search --json`` for one image (or text alone)."""
    stylist = request.app[STYLIST]
    try:
        image, name, fields = await read_search_form(request)
        text = fields.get("text") or None
        if image is None and not text:
            raise ApiProblem(400, "missing_input", "send a file field 'image', a field 'text', or both")
        try:
            items = parse_items(fields.get("item") or None)
        except argparse.ArgumentTypeError:
            raise ApiProblem(400, "bad_item", f"item must be a number, N,M or 'all', not {fields['item']!r}") from None
        top = _top(fields.get("top"), stylist.config.top_k)
        img = None if image is None else await asyncio.to_thread(stylist.load_image, image)
        detections, results = await asyncio.to_thread(run_search, stylist, img, items, text, top)
    except ApiProblem as exc:
        return problem(exc.status, exc.code, exc.message)
    except BadImageError as exc:
        return problem(400, "bad_image", str(exc))
    except UnknownItemError as exc:
        return problem(422, "unknown_item", str(exc))
    except EmptyIndexError as exc:
        return problem(503, "empty_index", str(exc))
    except IndexUnavailableError as exc:
        return problem(503, "index_unavailable", str(exc))
    return web.json_response(search_json(name, detections, results))


async def health(request: web.Request) -> web.Response:
    """``GET /api/health``: up, and how many products the index holds."""
    stylist = request.app[STYLIST]
    try:
        count = await asyncio.to_thread(stylist.store.count)
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        log.warning("health: index unavailable (%s)", type(exc).__name__)
        return web.json_response({"status": "unavailable", "products": None}, status=503)
    return web.json_response({"status": "ok", "products": count})


async def product_image(request: web.Request) -> web.StreamResponse:
    """``GET /api/image/{id}``: the catalog image of an indexed product (looked up by id, never by path)."""
    stylist = request.app[STYLIST]
    product_id = request.match_info["product_id"]
    metas = await asyncio.to_thread(stylist.store.metadatas, [product_id])
    path = Path(str(metas.get(product_id, {}).get("image", "")))
    kind = IMAGE_TYPES.get(path.suffix.lower())
    if product_id not in metas or kind is None or not path.is_file():
        return problem(404, "unknown_product", f"no catalog image for product {product_id!r}")
    return web.FileResponse(path, headers={"Content-Type": kind, "Cache-Control": "max-age=3600"})


async def openapi(request: web.Request) -> web.FileResponse:
    return web.FileResponse(OPENAPI, headers={"Content-Type": "application/json"})


def add_api_routes(app: web.Application, stylist: "Stylist") -> None:
    """Mount the API on ``app`` (the playground's server, or ``stylist serve``'s)."""
    app[STYLIST] = stylist
    app.router.add_post("/api/search", search)
    app.router.add_get("/api/health", health)
    app.router.add_get("/api/image/{product_id:.+}", product_image)
    app.router.add_get("/api/openapi.json", openapi)


def main(argv: list[str]) -> int:
    """``stylist serve [--port P] [--host H]``: the search API alone, over the configured index."""
    p = argparse.ArgumentParser(prog="stylist serve", description="Serve the search HTTP API (POST /api/search).")
    p.add_argument("--port", type=int, default=8766, help="port (default 8766)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    args = p.parse_args(argv)
    from stylist.config import load_config
    from stylist.search import Stylist

    stylist = Stylist.from_config(load_config())
    app = web.Application()
    add_api_routes(app, stylist)
    logging.basicConfig(level=logging.WARNING)
    print(f"search API: http://{args.host}:{args.port}/api/search  (OpenAPI: /api/openapi.json; Ctrl-C stops)",
          flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)
    return 0
