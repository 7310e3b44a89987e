"""The playground in a real browser (Debian's Chromium, driven by Playwright): the whole bot flow as a
shopper sees it. Screenshots of each step go to ``--screenshots DIR`` (default: a temporary folder)."""
from __future__ import annotations

import base64
import io
import re
import time
from pathlib import Path

import pytest

from bot import views

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PHONE = {"width": 420, "height": 860}
WAIT_MS = 60_000

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(request, tmp_path_factory) -> Path:
    chosen = request.config.getoption("--screenshots")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _open(browser, playground):
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(playground.url)
    page.wait_for_selector("body[data-ready='1']")
    page.get_by_text(views.HELP.splitlines()[0]).wait_for(timeout=WAIT_MS)  # the bot answered /start
    return page


def _shot(page, path: Path) -> None:
    """A phone-sized screenshot, reduced to 256 colours (small enough to commit)."""
    from PIL import Image

    Image.open(io.BytesIO(page.screenshot())).convert("RGB").quantize(256).save(path, optimize=True)


def _wait_albums(page, n: int) -> None:
    page.wait_for_function(f"document.querySelectorAll('.album').length >= {n}", timeout=WAIT_MS)
    page.wait_for_function("[...document.querySelectorAll('.album img')].every(i => i.complete && i.naturalWidth > 0)",
                           timeout=WAIT_MS)


def _captions(album) -> list[str]:
    return [c.inner_text() for c in album.locator("figcaption").all()]


def _last_keyboard(page) -> list[str]:
    return [b.inner_text() for b in page.locator(".row.theirs").last.locator(".keyboard button").all()]


def _item_buttons(page) -> dict[str, str]:
    """Category → its button text ('2 · Pants') under the bot's last message, after checking the buttons
    are numbered 1, 2, … in order and end with "All items"."""
    texts = _last_keyboard(page)
    assert texts[-1] == "All items", texts
    assert [t.split(" · ", 1)[0] for t in texts[:-1]] == [str(k) for k in range(1, len(texts))], texts
    return {t.split(" · ", 1)[1]: t for t in texts[:-1]}


def _names(captions: list[str]) -> set[str]:
    return {c.split("\n")[0].split(". ", 1)[1] for c in captions}


def test_board_buttons_album_refine_more(browser, playground, boards, shots):
    page = _open(browser, playground)
    _shot(page, shots / "01-start.png")

    started = time.perf_counter()
    page.set_input_files("#file", str(boards["four"]))
    page.locator(".row.theirs .keyboard").last.get_by_role("button", name="All items").wait_for(timeout=WAIT_MS)
    print(f"\nupload → buttons in the page: {time.perf_counter() - started:.2f} s")
    buttons = _item_buttons(page)
    assert sorted(buttons) == ["Handbags", "Pants", "Shirts & Tops", "Shoes"]
    assert page.locator(".row.mine img.photo").count() == 1  # the shopper's own photo, on the right
    annotated = page.locator(".row.theirs img.photo").last
    assert annotated.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [640, 640]  # the bot's annotated copy
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone's width
    _shot(page, shots / "02-buttons.png")

    page.get_by_role("button", name=buttons["Shirts & Tops"]).click()
    _wait_albums(page, 1)
    album = page.locator(".album").last
    assert album.locator("img").count() == 10
    captions = _captions(album)
    assert [int(c.split(".", 1)[0]) for c in captions] == list(range(1, 11))
    assert all("Shirts & Tops ·" in c for c in captions), captions
    assert "red" not in captions[0].split("\n")[1]  # the board's shirt is blue: a blue one leads
    page.get_by_role("button", name="More").wait_for(timeout=WAIT_MS)
    assert _last_keyboard(page) == ["More", "Other item"]
    _shot(page, shots / "03-album.png")

    page.fill("#text", "in red")
    page.press("#text", "Enter")
    _wait_albums(page, 2)
    refined = _captions(page.locator(".album").last)
    assert [c.split("\n")[1].split(" · ")[:2] for c in refined[:2]] == [["Shirts & Tops", "red"]] * 2, refined
    assert refined != captions  # the catalog holds exactly two red shirts: they now lead
    page.get_by_text(re.compile(r"Understood as: .*\bred\b")).last.wait_for(timeout=WAIT_MS)
    page.locator(".album").last.evaluate("a => a.scrollIntoView({block: 'start'})")  # the red ones, at its top
    _shot(page, shots / "04-in-red.png")

    page.locator(".row.theirs").last.get_by_role("button", name="More").click()
    _wait_albums(page, 3)
    more = _captions(page.locator(".album").last)
    assert [int(c.split(".", 1)[0]) for c in more] == [11, 12]  # 12 shirts & tops in the catalog
    assert not _names(more) & _names(refined), "the next page repeats nothing"
    page.get_by_text(re.compile(r"Matches 11–12")).wait_for(timeout=WAIT_MS)
    _shot(page, shots / "05-more.png")
    page.context.close()


def test_one_item_photo_goes_straight_to_results(browser, playground, boards, shots):
    page = _open(browser, playground)
    page.locator("#demo-list button").nth(1).click()  # the second demo photo: one red handbag
    _wait_albums(page, 1)
    captions = _captions(page.locator(".album").last)
    assert all("Handbags ·" in c for c in captions) and "red" in captions[0]
    assert page.locator(".row.theirs img.photo").count() == 0  # no annotated photo, no item buttons
    _shot(page, shots / "06-one-item.png")
    page.context.close()


def test_a_file_that_is_not_an_image_gets_a_clear_message(browser, playground, tmp_path, shots):
    page = _open(browser, playground)
    notes = tmp_path / "shopping-list.pdf"
    notes.write_bytes(b"%PDF-1.4\n% not a photo of anything\n")
    page.set_input_files("#file", str(notes))
    page.get_by_text(views.NOT_AN_IMAGE).wait_for(timeout=WAIT_MS)
    assert page.locator(".row.mine .bubble.file").inner_text().startswith("📄 shopping-list.pdf")
    _shot(page, shots / "07-not-an-image.png")
    page.context.close()


DROP = """async (b64) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], "dropped.jpg", {type: "image/jpeg"}));
  document.querySelector("#chat").dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
}"""


def test_two_tabs_are_two_shoppers(browser, playground, boards, shots):
    first, second = _open(browser, playground), _open(browser, playground)
    assert first.evaluate("document.body.dataset.chatId") != second.evaluate("document.body.dataset.chatId")
    first.set_input_files("#file", str(boards["four"]))
    second.evaluate(DROP, base64.b64encode(boards["two"].read_bytes()).decode())  # dropped on the chat
    for page in (first, second):
        page.locator(".row.theirs .keyboard").last.get_by_role("button", name="All items").wait_for(timeout=WAIT_MS)
    mine, theirs = _item_buttons(first), _item_buttons(second)
    assert sorted(mine) == ["Handbags", "Pants", "Shirts & Tops", "Shoes"] and sorted(theirs) == ["Handbags", "Pants"]
    first.get_by_role("button", name=mine["Shoes"]).click()
    second.get_by_role("button", name=theirs["Pants"]).click()
    _wait_albums(first, 1), _wait_albums(second, 1)
    assert all("Shoes ·" in c for c in _captions(first.locator(".album").last))
    assert all("Pants ·" in c for c in _captions(second.locator(".album").last))
    assert first.locator(".album").count() == second.locator(".album").count() == 1  # no cross-talk
    assert second.get_by_text("Shirts & Tops").count() == 0
    _shot(first, shots / "08-tab-one.png")
    _shot(second, shots / "09-tab-two.png")
    first.context.close(), second.context.close()
