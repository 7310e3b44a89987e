"""Sending results to Telegram: the chat action while we work, product albums, the summary with its buttons.

Blocking work (search, reading product images) runs in threads via ``asyncio.to_thread`` so the event
loop keeps serving other shoppers. A send that times out is never re-sent: Telegram may already have
delivered it, and PTB raises TimedOut even when the send succeeded (re-sending duplicates it).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import AsyncIterator

from telegram import Bot, InputMediaPhoto
from telegram.constants import ChatAction
from telegram.error import TelegramError, TimedOut

from bot import views
from bot.state import Session
from stylist.results import ItemResult, Product

log = logging.getLogger(__name__)

ACTION_REFRESH_S = 4.5  # Telegram shows a chat action for ~5 s


@contextlib.asynccontextmanager
async def chat_action(bot: Bot, chat_id: int, action: str = ChatAction.UPLOAD_PHOTO) -> AsyncIterator[None]:
    """Show 'sending photo…' / 'typing…' for as long as the block runs (best effort, never fails it)."""

    async def keep_showing() -> None:
        while True:
            try:
                await bot.send_chat_action(chat_id, action)
            except TelegramError as exc:  # cosmetic: never let it break the search
                log.debug("chat action failed: %s", exc)
            await asyncio.sleep(ACTION_REFRESH_S)

    task = asyncio.create_task(keep_showing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _read_images(products: list[Product]) -> list[tuple[int, Product, bytes]]:
    """(position, product, image bytes) for products whose image file exists; others are skipped."""
    out = []
    for position, product in enumerate(products):
        try:
            out.append((position, product, Path(product.image).read_bytes()))
        except (OSError, ValueError):
            log.warning("product %s has no readable image at %r; left out of the album", product.id, product.image)
    return out


async def send_photos(bot: Bot, chat_id: int, photos: list[tuple[bytes, str]]) -> None:
    """Send (image, caption) pairs: one photo alone, 2–10 as an album; a timed-out send is not repeated."""
    try:
        if len(photos) == 1:
            await bot.send_photo(chat_id, photos[0][0], caption=photos[0][1])
        elif photos:
            media = [InputMediaPhoto(data, caption=caption) for data, caption in photos[:10]]
            await bot.send_media_group(chat_id, media)
    except TimedOut:
        log.warning("sending photos to chat %s timed out; they may still arrive, so they are not re-sent", chat_id)


async def send_album(bot: Bot, chat_id: int, products: list[Product], first_rank: int) -> int:
    """Send up to 10 products as one album with a caption each; returns how many had an image."""
    photos = await asyncio.to_thread(_read_images, products[:10])
    await send_photos(bot, chat_id, [(data, views.product_caption(first_rank + pos, p)) for pos, p, data in photos])
    return len(photos)


async def send_results(bot: Bot, chat_id: int, session: Session, result: ItemResult, page_size: int) -> int:
    """Album of one page of ``result`` (starting at rank ``session.offset + 1``), then the summary with
    'More' / 'Other item'. Returns how many products the page held; the caller advances the paging."""
    products = result.products[:page_size]
    has_more = len(result.products) > page_size
    sent = await send_album(bot, chat_id, products, first_rank=session.offset + 1)
    target = views.target_label(session.detection(), text_only=session.image is None)
    summary = views.results_summary(result, target, session.offset, sent, has_more)
    keyboard = views.results_keyboard(session.nonce, has_more, other_items=len(session.detections) > 1)
    await bot.send_message(chat_id, summary, reply_markup=keyboard)
    return len(products)


async def send_all_items(bot: Bot, chat_id: int, session: Session, results: list[ItemResult], per_item: int) -> None:
    """One small album per detected item (its label on the first photo), then buttons to dive into one."""
    for detection, result in zip(session.detections, results):
        photos = await asyncio.to_thread(_read_images, result.products[:per_item])
        header = views.item_label(detection) + " — "
        captions = [(header if i == 0 else "") + views.product_caption(pos + 1, p)
                    for i, (pos, p, _) in enumerate(photos)]
        await send_photos(bot, chat_id, [(data, caption) for (_, _, data), caption in zip(photos, captions)])
    await bot.send_message(
        chat_id, views.ALL_ITEMS_DONE,
        reply_markup=views.items_keyboard(session.nonce, session.detections, with_all=False),
    )
