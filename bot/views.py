"""What the shopper reads: message texts, product captions, inline keyboards and button data (pure functions).

Button data is ``<action>:<nonce>[:<arg>]`` — a few bytes, far under Telegram's 64-byte limit; the
session the nonce names lives on the server (``bot.state``).
"""
from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from stylist.results import Detection, ItemResult, ParsedQuery, Product

CAPTION_LIMIT = 1024  # Telegram's limit for photo captions
TEXT_LIMIT = 4096
MAX_BUTTON_DATA = 64

# Button actions
ITEM, ALL, WHOLE, MORE, OTHER = "i", "a", "w", "m", "o"

EXAMPLE_HINT = "Send words such as “in red”, “leather” or “under 50” to refine."

HELP = (
    "👗 Smart Stylist finds catalogue products that look like what you photograph.\n\n"
    "1. Send a photo of an outfit (as a photo or as an image file), optionally with a caption "
    "like “red dress under 50”.\n"
    "2. I number the items I spot — tap the one you want.\n"
    "3. You get an album of look-alikes. " + EXAMPLE_HINT + " Tap “More” for the next page.\n\n"
    "No photo? Just type what you want, e.g. “black leather handbag”.\n"
    "/reset forgets your current search · /help shows this again."
)
COMMANDS = [
    ("start", "How to use Smart Stylist"),
    ("help", "How to search with a photo or words"),
    ("reset", "Forget the current search"),
]

NOT_ALLOWED = "Sorry, this Smart Stylist bot is private. Ask its owner to add your user id."
NOT_AN_IMAGE = "That file isn't an image I can read. Please send a photo (JPEG, PNG or WebP)."
TOO_BIG = "That file is {size_mb:.0f} MB; Telegram lets me download at most 20 MB. Please send a smaller image."
BAD_IMAGE = "I couldn't open that picture: {reason}. Please try another photo."
UNSUPPORTED = "I can only work with photos and words. Send an outfit photo, or describe what you're after."
UNKNOWN_COMMAND = "I don't know that command. /help shows what I can do."
NO_ITEMS = "I couldn't spot a clothing item in this photo. I can still search with the whole picture."
STALE = "That button is from an earlier search that has expired. Please send the photo again."
RESET_DONE = "Done — I've forgotten your search. Send a new photo or some words."
RESET_NOTHING = "There was no search to forget. Send a photo or some words to start."
NO_MATCHES = "I found nothing in the catalogue for that."
NO_MORE = "That's everything I have for this search."
WHICH_ITEM = "Which item next?"
ALL_ITEMS_DONE = "Tap an item for more of its matches. " + EXAMPLE_HINT
EMPTY_CATALOG = "The catalogue is empty — there is nothing to search yet."
APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."
SKIPPED_PHOTO = "Skipped this photo — a newer one arrived, so I'm searching that instead."
SKIPPED_BUSY = "Skipped — you sent a lot at once; I'm still working on the earlier ones."
INDEX_DOWN = "Search is unavailable right now. Please try again in a minute."


@dataclass(frozen=True)
class Button:
    """Decoded button data."""

    action: str
    nonce: str
    arg: int | None = None


def button_data(action: str, nonce: str, arg: int | None = None) -> str:
    """Encode a button; raises if it would break Telegram's 64-byte limit (a bug, not user input)."""
    data = f"{action}:{nonce}" if arg is None else f"{action}:{nonce}:{arg}"
    if len(data.encode()) > MAX_BUTTON_DATA:
        raise ValueError(f"callback data {data!r} exceeds {MAX_BUTTON_DATA} bytes")
    return data


def parse_button(data: str | None) -> Button | None:
    """Decode button data; None for anything this bot version did not make."""
    parts = (data or "").split(":")
    if len(parts) not in (2, 3) or parts[0] not in (ITEM, ALL, WHOLE, MORE, OTHER) or not parts[1]:
        return None
    if len(parts) == 2:
        return Button(parts[0], parts[1])
    if not parts[2].lstrip("-").isdigit():
        return None
    return Button(parts[0], parts[1], int(parts[2]))


def item_label(detection: Detection) -> str:
    """'1 · Dresses' — numbers start at 1 for people; they match the boxes drawn on the photo."""
    return f"{detection.index + 1} · {detection.label}"


def items_keyboard(nonce: str, detections: list[Detection], with_all: bool = True) -> InlineKeyboardMarkup:
    """One button per detected item (two per row) plus 'All items'."""
    buttons = [InlineKeyboardButton(item_label(d), callback_data=button_data(ITEM, nonce, d.index)) for d in detections]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    if with_all:
        rows.append([InlineKeyboardButton("All items", callback_data=button_data(ALL, nonce))])
    return InlineKeyboardMarkup(rows)


def whole_photo_keyboard(nonce: str) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton("Search the whole photo", callback_data=button_data(WHOLE, nonce))
    return InlineKeyboardMarkup([[button]])


def results_keyboard(nonce: str, has_more: bool, other_items: bool) -> InlineKeyboardMarkup | None:
    """'More' (when another page exists) and 'Other item' (when the photo had more than one)."""
    row = []
    if has_more:
        row.append(InlineKeyboardButton("More", callback_data=button_data(MORE, nonce)))
    if other_items:
        row.append(InlineKeyboardButton("Other item", callback_data=button_data(OTHER, nonce)))
    return InlineKeyboardMarkup([row]) if row else None


def items_found(detections: list[Detection], text: str | None) -> str:
    """Caption of the annotated photo."""
    caption = f"I found {len(detections)} items. Tap the one you want, or “All items”."
    if text:
        caption += f"\nI'll look for: {understood_text(text)}."
    return _clip(caption, CAPTION_LIMIT)


def tap_an_item(text: str) -> str:
    """Words arrived while the shopper still has to pick an item."""
    return f"Got it — tap an item and I'll look for {understood_text(text)}."


def understood(query: ParsedQuery) -> str:
    """What the words were understood as: 'Dresses · red · under 50 · “floral”', preceded by what the
    catalog could not honour: 'no prices in this catalog — showing Dresses · red · “red dress”'."""
    parts = [query.describe()] if query.describe() else []
    if query.terms and query.terms.strip():
        parts.append(f"“{query.terms.strip()}”")
    meaning = " · ".join(parts)
    if query.relaxed:
        return f"{'; '.join(query.relaxed)} — showing {meaning or 'the closest'}"
    return meaning


def understood_text(text: str) -> str:
    """Before a search runs the parse is not known yet; echo the words back."""
    return f"“{_clip(text.strip(), 200)}”"


def price_text(price: float | None) -> str:
    if price is None:
        return ""
    return f"{int(price):,}" if price == int(price) else f"{price:,.2f}"


def product_caption(rank: int, product: Product) -> str:
    """'3. Floral wrap dress\\nDresses · red · 39.9' — name, colour and price as the catalogue gives them."""
    title = product.name or product.id
    details = " · ".join(x for x in (product.category, product.color, price_text(product.price)) if x)
    lines = [f"{rank}. {title}"] + ([details] if details else []) + ([product.url] if product.url else [])
    return _clip("\n".join(lines), CAPTION_LIMIT)


def results_summary(result: ItemResult, target: str, first: int, shown: int, has_more: bool) -> str:
    """The message under an album: what was searched, how the words were read, how to refine."""
    if shown == 0:
        text = NO_MATCHES if first == 0 else NO_MORE
    else:
        text = f"Matches {first + 1}–{first + shown} for {target}."
    meaning = understood(result.query)
    if meaning:
        text += f"\nUnderstood as: {meaning}"
    if shown and not has_more:
        text += "\nThat's the last page."
    return _clip(text + "\n" + EXAMPLE_HINT, TEXT_LIMIT)


def target_label(detection: Detection | None, text_only: bool = False) -> str:
    """How the searched thing is named in messages."""
    if text_only:
        return "your words"
    return f"item {item_label(detection)}" if detection is not None else "the whole photo"


def too_big(size_bytes: int | None) -> str:
    """The 20 MB refusal; ``None`` when only Telegram knows the size (it refused the download)."""
    if size_bytes is None:
        return TOO_BIG.replace("{size_mb:.0f} MB", "over 20 MB")
    return TOO_BIG.format(size_mb=size_bytes / 1024 / 1024)


def bad_image(reason: str) -> str:
    return BAD_IMAGE.format(reason=_clip(reason.rstrip("."), 300))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
