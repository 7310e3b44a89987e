"""Telegram handlers: one async function per shopper action; each calls the Stylist in a thread and replies.

Shared objects live in ``context.bot_data``, a typed ``bot.state.BotData``: ``stylist`` (models + index,
loaded once), ``sessions`` (``bot.state.SessionStore``), ``config`` and ``page_size``. Per-shopper ordering is guaranteed by
``bot.ordering.PerChatUpdateProcessor``, so a handler may read-modify-write its session freely.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import TYPE_CHECKING, Awaitable, Callable

from PIL import Image
from telegram import Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, TelegramError, TimedOut
from telegram.ext import ApplicationHandlerStop, CallbackContext, ContextTypes, ExtBot

from bot import views
from bot.annotate import annotate
from bot.replies import chat_action, send_all_items, send_results
from bot.photos import KEEP_SIDE
from bot.state import BotData, Choice, Key, Session, SessionStore
from stylist.errors import BadImageError, EmptyIndexError, IndexUnavailableError, StylistError

if TYPE_CHECKING:
    from stylist.search import Stylist

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # Bot API getFile limit
MAX_WORDS_CHARS = 300  # longer texts are cut before parsing (CLIP reads ~32 tokens anyway)
ALL_ITEMS_PER_ITEM = 4  # products per item in the "All items" overview

CONTEXT_TYPES = ContextTypes(bot_data=BotData)
Context = CallbackContext[ExtBot[None], dict, dict, BotData]


def _key(update: Update) -> Key:
    return (update.effective_user.id, update.effective_chat.id)


def _sessions(context: Context) -> SessionStore:
    return context.bot_data.sessions


# --- access ----------------------------------------------------------------------------------------

async def guard_allowed(update: Update, context: Context) -> None:
    """Runs before every other handler: shoppers outside STYLIST_ALLOWED_USERS get a polite refusal."""
    allowed = context.bot_data.config.allowed_users
    user = update.effective_user
    if not allowed or (user is not None and user.id in allowed):
        return
    if update.callback_query:
        await update.callback_query.answer(views.NOT_ALLOWED, show_alert=True)
    elif update.effective_message and user is not None:
        await update.effective_message.reply_text(views.NOT_ALLOWED)
    raise ApplicationHandlerStop


# --- commands --------------------------------------------------------------------------------------

async def start(update: Update, context: Context) -> None:
    """/start and /help: how to use the bot, with an example."""
    await update.effective_message.reply_text(views.HELP)


async def reset(update: Update, context: Context) -> None:
    """/reset: forget the shopper's photo and search."""
    dropped = _sessions(context).drop(_key(update))
    await update.effective_message.reply_text(views.RESET_DONE if dropped else views.RESET_NOTHING)


async def unknown_command(update: Update, context: Context) -> None:
    await update.effective_message.reply_text(views.UNKNOWN_COMMAND)


# --- photos ----------------------------------------------------------------------------------------

async def on_photo(update: Update, context: Context) -> None:
    """A photo or an image file: detect items, then show numbered boxes (several), results (one) or an offer (none)."""
    message = update.effective_message
    media = message.photo[-1] if message.photo else message.document
    if media.file_size and media.file_size > MAX_DOWNLOAD_BYTES:
        await message.reply_text(views.too_big(media.file_size))
        return
    stylist = context.bot_data.stylist
    async with chat_action(context.bot, message.chat_id, ChatAction.UPLOAD_PHOTO):
        data = await _download(message, media.file_id, context)
        if data is None:
            return
        try:
            image = await asyncio.to_thread(load_photo, stylist, data)
        except BadImageError as exc:
            await message.reply_text(views.bad_image(str(exc)))
            return
        found = await asyncio.to_thread(stylist.photo, image)  # detect + every item's candidates, once
        detections = found.detections
        caption = (message.caption or "").strip()[:MAX_WORDS_CHARS] or None
        session = await _sessions(context).start_with_photo(_key(update), image, detections=detections, text=caption)
        session.candidates = found
        if len(detections) == 1:
            session.choose_item(detections[0].index)
            await _search_and_send(message.chat_id, session, context, show_action=False)
        elif not detections:
            await message.reply_text(views.NO_ITEMS, reply_markup=views.whole_photo_keyboard(session.nonce))
        else:
            jpeg = await asyncio.to_thread(annotate, image, detections)
            await message.reply_photo(
                jpeg, caption=views.items_found(detections, session.text),
                reply_markup=views.items_keyboard(session.nonce, detections),
            )


def load_photo(stylist: Stylist, data: bytes) -> Image.Image:
    """Decode safely, then shrink to KEEP_SIDE so a session holds at most a few MB (boxes refer to this copy)."""
    image = stylist.load_image(data)
    if max(image.size) > KEEP_SIDE:
        image.thumbnail((KEEP_SIDE, KEEP_SIDE))
    return image


async def _download(message: Message, file_id: str, context: Context) -> bytes | None:
    """The file's bytes, or None after telling the shopper why not (Telegram refuses files over 20 MB)."""
    try:
        tg_file = await context.bot.get_file(file_id)
        if tg_file.file_size and tg_file.file_size > MAX_DOWNLOAD_BYTES:
            await message.reply_text(views.too_big(tg_file.file_size))
            return None
        return bytes(await tg_file.download_as_bytearray())
    except BadRequest as exc:
        if "too big" in str(exc).lower():
            await message.reply_text(views.too_big(None))
            return None
        raise


async def _search_and_send(chat_id: int, session: Session, context: Context, show_action: bool = True) -> None:
    """Run the session's current search (item, whole photo or text) for one page and send it. A photo's kept
    candidates (in memory, with its pixels) are re-ranked; after a restart (none kept) the photo is searched."""
    stylist, page = context.bot_data.stylist, context.bot_data.page_size
    found = session.candidates
    image = session.image if found is None else None
    action = ChatAction.UPLOAD_PHOTO if found is not None or image is not None else ChatAction.TYPING
    async with chat_action(context.bot, chat_id, action) if show_action else contextlib.nullcontext():
        if found is not None:
            item = session.item if session.choice is Choice.ITEM else None
            result = await asyncio.to_thread(
                stylist.rank, found, item, text=session.text, top_k=page + 1, offset=session.offset,
                restrict_category=True,  # the album matches the tapped button
            )
        elif image is None:
            result = await asyncio.to_thread(stylist.search_text, session.text, top_k=page + 1, offset=session.offset)
        else:
            result = await asyncio.to_thread(
                stylist.search_item, image, session.detection(), text=session.text,
                top_k=page + 1, offset=session.offset, restrict_category=True,  # the album matches the tapped button
            )
        session.offset += await send_results(context.bot, chat_id, session, result, page)


# --- buttons ---------------------------------------------------------------------------------------

async def _button_session(update: Update, context: Context) -> tuple[Session, views.Button] | None:
    """The live session a tapped button belongs to; a stale or unknown button gets a friendly answer."""
    query = update.callback_query
    button = views.parse_button(query.data)
    live = button is not None and update.effective_chat is not None  # no chat: a message too old to see
    session = _sessions(context).get(_key(update), button.nonce) if live else None
    if session is None:
        await query.answer(views.STALE, show_alert=True)
        try:  # take the dead buttons away so they are not tapped again
            await query.edit_message_reply_markup(reply_markup=None)
        except TelegramError:
            pass
        return None
    await query.answer()
    return session, button


ButtonHandler = Callable[[Update, Context, Session, views.Button], Awaitable[None]]


def button_handler(handler: ButtonHandler) -> Callable[[Update, Context], Awaitable[None]]:
    """A PTB callback-query handler that runs ``handler`` with the button's live session (stale ones are
    answered by ``_button_session`` and never reach it)."""

    @functools.wraps(handler)
    async def run(update: Update, context: Context) -> None:
        found = await _button_session(update, context)
        if found is not None:
            await handler(update, context, *found)

    return run


@button_handler
async def on_item_chosen(update: Update, context: Context, session: Session, button: views.Button) -> None:
    """'2 · Dresses', 'Search the whole photo': search that item and send the album."""
    if button.action == views.WHOLE:
        session.choose_whole_photo()
    elif any(d.index == button.arg for d in session.detections):
        session.choose_item(button.arg)
    else:
        await update.effective_message.reply_text(views.STALE)
        return
    session.offset = 0
    await _search_and_send(update.effective_chat.id, session, context)


@button_handler
async def on_all_items(update: Update, context: Context, session: Session, button: views.Button) -> None:
    """'All items': a short album per detected item."""
    stylist, chat_id = context.bot_data.stylist, update.effective_chat.id
    session.clear_choice()
    session.offset = 0
    async with chat_action(context.bot, chat_id, ChatAction.UPLOAD_PHOTO):
        if session.candidates is not None:
            results = [await asyncio.to_thread(stylist.rank, session.candidates, d.index, text=session.text,
                                               top_k=ALL_ITEMS_PER_ITEM, restrict_category=True)
                       for d in session.detections]
        else:
            results = [await asyncio.to_thread(stylist.search_item, session.image, d, text=session.text,
                                               top_k=ALL_ITEMS_PER_ITEM, restrict_category=True)
                       for d in session.detections]
        await send_all_items(context.bot, chat_id, session, results, ALL_ITEMS_PER_ITEM)


@button_handler
async def on_more(update: Update, context: Context, session: Session, button: views.Button) -> None:
    """'More': the next page of the current search."""
    if session.choice is Choice.NONE and session.image is not None:
        await update.effective_message.reply_text(views.STALE)
        return
    try:  # this message's buttons are used up; the new page brings fresh ones
        await update.callback_query.edit_message_reply_markup(reply_markup=None)
    except TelegramError:
        pass
    await _search_and_send(update.effective_chat.id, session, context)


@button_handler
async def on_other_item(update: Update, context: Context, session: Session, button: views.Button) -> None:
    """'Other item': offer the photo's items again."""
    keyboard = views.items_keyboard(session.nonce, session.detections)
    await update.effective_message.reply_text(views.WHICH_ITEM, reply_markup=keyboard)


async def on_unknown_button(update: Update, context: Context) -> None:
    """Button data this version never makes (an older bot, a forged client)."""
    await update.callback_query.answer(views.STALE, show_alert=True)


# --- words -----------------------------------------------------------------------------------------

async def on_text_query(update: Update, context: Context) -> None:
    """Words refine the current photo search; with no photo they are a text-only search."""
    message = update.effective_message
    text = message.text.strip()[:MAX_WORDS_CHARS]
    key, sessions = _key(update), _sessions(context)
    session = sessions.get(key)
    if session is None or session.image is None:
        session = sessions.start(key, text=text)
    else:
        session.text, session.offset = text, 0
        if session.choice is Choice.NONE and session.detections:
            keyboard = views.items_keyboard(session.nonce, session.detections)
            await message.reply_text(views.tap_an_item(text), reply_markup=keyboard)
            return
        if session.choice is Choice.NONE:
            session.choose_whole_photo()
    await _search_and_send(message.chat_id, session, context)


# --- everything else -------------------------------------------------------------------------------

async def on_not_an_image(update: Update, context: Context) -> None:
    """A document that is not an image (PDF, ZIP, …)."""
    await update.effective_message.reply_text(views.NOT_AN_IMAGE)


async def on_unsupported(update: Update, context: Context) -> None:
    """Stickers, voice, video, locations, contacts, polls …"""
    if update.effective_message is not None:
        await update.effective_message.reply_text(views.UNSUPPORTED)


async def on_error(update: object, context: Context) -> None:
    """Log the failure (the log filter strips the token) and apologise; the bot keeps running."""
    error = context.error
    if isinstance(error, TimedOut):  # Telegram may have delivered it: an apology would contradict the reply
        log.warning("update %s: a Bot API call timed out (%s); not repeated", getattr(update, "update_id", "?"), error)
        return
    log.error("update %s failed: %s", getattr(update, "update_id", "?"), type(error).__name__, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None or isinstance(error, Forbidden):
        return
    if isinstance(error, IndexUnavailableError):
        text = views.INDEX_DOWN
    elif isinstance(error, EmptyIndexError):
        text = views.EMPTY_CATALOG
    elif isinstance(error, StylistError):
        text = f"Sorry — {error}"
    else:
        text = views.APOLOGY
    if update.callback_query:  # stop the button's spinner (fails harmlessly if already answered)
        try:
            await update.callback_query.answer()
        except TelegramError:
            pass
    try:
        await context.bot.send_message(update.effective_chat.id, text)
    except TelegramError as exc:
        log.warning("could not apologise to chat %s: %s", update.effective_chat.id, type(exc).__name__)
