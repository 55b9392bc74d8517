"""The drawing page in a real browser: `digitcli serve` on a free port, Debian's headless Chromium
driven by Selenium, a digit drawn with pointer events. .ci/run installs chromium and
chromium-driver; the test skips only where they are not installed.

Set DIGITCLI_SCREENSHOT=PATH to keep the screenshot somewhere other than the test's folder (the
docs/serve-page.png is made that way)."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.real_model,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="no chromium and chromedriver installed"),
]
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

MODEL = ROOT / "models" / "robust.keras"


@pytest.fixture
def server():
    proc = subprocess.Popen(
        [sys.executable, "-m", "digitcli", "serve", "--model", str(MODEL), "--port", "0"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in proc.stderr:
        found = re.search(r"(http://[\d.]+:\d+/)", line)
        if found:
            yield found.group(1)
            break
    else:
        pytest.fail(f"digitcli serve did not start (exit status {proc.wait()})")
    proc.terminate()
    assert proc.wait(timeout=30) == 0


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # As root in a container, and with no network beyond localhost (see the machine notes).
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1000,760",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()


def draw(driver, strokes, pause=0.0):
    """Each stroke a list of (x, y) in the canvas' own 560 x 560 pixels, drawn by pointer events,
    `pause` seconds between moves (a hand takes about a second over a digit)."""
    pad = driver.find_element(By.ID, "pad")
    box = pad.rect
    scale = box["width"] / 560
    for stroke in strokes:
        chain = ActionChains(driver, duration=10)
        x0, y0 = stroke[0]
        chain.move_to_element_with_offset(pad, int((x0 - 280) * scale), int((y0 - 280) * scale)).click_and_hold()
        for (xa, ya), (xb, yb) in zip(stroke, stroke[1:]):
            for t in (0.25, 0.5, 0.75, 1.0):  # several moves per segment, as a hand makes
                chain.move_by_offset(
                    int((xa + (xb - xa) * t) * scale) - int((xa + (xb - xa) * (t - 0.25)) * scale),
                    int((ya + (yb - ya) * t) * scale) - int((ya + (yb - ya) * (t - 0.25)) * scale),
                )
                if pause:
                    chain.pause(pause)
        chain.release().perform()


def test_a_drawn_seven_is_read_and_its_28x28_image_shown(server, browser, tmp_path):
    browser.get(server)
    WebDriverWait(browser, 20).until(lambda d: "robust.keras" in d.find_element(By.ID, "model").text)
    draw(browser, [[(150, 120), (420, 120), (250, 460)]])  # a 7: the bar, then the stem
    reading = WebDriverWait(browser, 20).until(
        lambda d: d.find_element(By.ID, "reading").text if d.find_element(By.ID, "reading").text.isdigit() else None
    )
    assert reading == "7"
    bars = browser.find_elements(By.CSS_SELECTOR, "#top .bar")
    assert len(bars) == 3 and bars[0].text.split()[0] == "7" and bars[0].text.endswith("%")
    preview = browser.find_element(By.ID, "preview")
    assert len(preview.find_elements(By.TAG_NAME, "canvas")) == 1
    assert int(preview.get_attribute("data-ink")) > 255 * 40  # the model's 28 x 28 view holds a stroke
    screenshot = Path(os.environ.get("DIGITCLI_SCREENSHOT") or tmp_path / "serve.png")
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000

    browser.find_element(By.ID, "undo").click()  # the only stroke gone: nothing left to read
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "reading").text == "")
    assert browser.find_element(By.ID, "preview").get_attribute("data-ink") == "0"
    draw(browser, [[(280, 100), (280, 470)]])  # a 1
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "reading").text == "1")


def test_the_page_fits_a_phone(server, browser, tmp_path):
    browser.set_window_size(390, 844)
    browser.get(server)
    WebDriverWait(browser, 20).until(lambda d: "robust.keras" in d.find_element(By.ID, "model").text)
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    pad = browser.find_element(By.ID, "pad").rect
    assert 250 <= pad["width"] <= 390 and abs(pad["width"] - pad["height"]) <= 2  # square, and nearly full width
    draw(browser, [[(280, 100), (280, 470)]])
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "reading").text == "1")
    # The reading and the model's 28 x 28 view are on the first screen, under the pad, with no scrolling.
    screen = browser.execute_script("return window.innerHeight")
    for name in ("reading", "preview"):
        box = browser.find_element(By.ID, name).rect
        assert box["y"] + box["height"] <= screen, (name, box, screen)
    shot = os.environ.get("DIGITCLI_SCREENSHOT")
    path = Path(shot).with_name(Path(shot).stem + "-phone.png") if shot else tmp_path / "phone.png"
    assert browser.save_screenshot(str(path))


# Every answer held back for 1.5 s, as a slow server or network would: the reading of the 7, begun
# when the pen is lifted, is still on its way when the button is clicked.
SLOW_ANSWERS = """
const fetched = window.fetch;
window.waiting = 0;
window.fetch = (url, options) => {
  window.waiting++;
  return fetched(url, options)
    .then((r) => new Promise((done) => setTimeout(() => done(r), 1500)))
    .finally(() => setTimeout(() => window.waiting--, 100));  // counted out once the page has used it
};
"""
# The button clicked 50 ms after the pen is lifted, timed in the page itself (WebDriver's own
# round trips would add an unknown delay).
CLICK_AFTER_STROKE = """
const button = arguments[0];
document.getElementById("pad").addEventListener("pointerup", () => setTimeout(() => {
  window.clickedAt = performance.now();
  document.getElementById(button).click();
}, 50), {once: true});
"""


@pytest.mark.parametrize("button", ["clear", "undo"])
def test_an_answer_in_flight_never_fills_a_pad_cleared_after_the_stroke(server, browser, button):
    browser.get(server)
    WebDriverWait(browser, 20).until(lambda d: "robust.keras" in d.find_element(By.ID, "model").text)
    browser.execute_script(SLOW_ANSWERS)
    browser.execute_script(CLICK_AFTER_STROKE, button)
    draw(browser, [[(150, 120), (420, 120), (250, 460)]], pause=0.08)  # read while drawn, as a hand draws
    WebDriverWait(browser, 5).until(lambda d: d.execute_script("return window.clickedAt !== undefined"))
    time.sleep(0.5)  # the reading of the 7 has begun by now, and every answer is in when none is waiting
    WebDriverWait(browser, 60).until(lambda d: d.execute_script("return window.waiting === 0"))
    assert browser.find_elements(By.CSS_SELECTOR, "#top .bar") == []
    assert browser.find_element(By.ID, "preview").get_attribute("data-ink") == "0"
    assert browser.find_element(By.ID, "reading").text == ""
    assert browser.find_element(By.ID, "error").text == ""


# The red or blue pixels the page drew over the pad: the digits' boxes (the pad itself is grey).
BOX_PIXELS = """
const marks = document.getElementById("marks");
const data = marks.getContext("2d").getImageData(0, 0, marks.width, marks.height).data;
let n = 0;
for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0) n++;
return n;
"""


def test_an_uploaded_photo_of_several_lines_is_read_line_by_line_with_its_digits_boxed(server, browser, tmp_path):
    browser.get(server)
    WebDriverWait(browser, 20).until(lambda d: "robust.keras" in d.find_element(By.ID, "model").text)
    browser.find_element(By.ID, "file").send_keys(str(ROOT / "sample_digits" / "meter_card.jpg"))
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "reading").text.count("\n") == 2)
    assert browser.find_element(By.ID, "reading").text.split("\n") == ["0417", "2983", "5605"]
    assert browser.find_element(By.ID, "marks").get_attribute("data-boxes") == "12"
    assert browser.execute_script(BOX_PIXELS) > 12 * 100  # twelve outlines drawn
    assert len(browser.find_elements(By.CSS_SELECTOR, "#preview canvas")) == 12
    labels = [e.text.split("\n")[0] for e in browser.find_elements(By.CSS_SELECTOR, "#top .digit")]
    assert labels[:2] == ["line 1, digit 1", "line 1, digit 2"] and labels[-1] == "line 3, digit 4"
    shot = os.environ.get("DIGITCLI_SCREENSHOT")
    path = Path(shot).with_name(Path(shot).stem + "-lines.png") if shot else tmp_path / "lines.png"
    assert browser.save_screenshot(str(path))
    # A stroke drawn over the photo makes its boxes stale: they go at once, before any new answer.
    browser.execute_script(SLOW_ANSWERS)
    draw(browser, [[(40, 40), (60, 60)]])
    assert browser.find_element(By.ID, "marks").get_attribute("data-boxes") == "0"
    assert browser.execute_script(BOX_PIXELS) == 0
