"""Teach it your hand, in a real browser: `digitcli serve --collect DIR --mix MNIST` on a free port,
headless Chromium drawing 21 digits with pointer events, keeping them with digit keys and label
buttons, deleting one, fine-tuning for real (one epoch on tiny MNIST-format data), accepting the new
model and switching back.

Set DIGITCLI_SCREENSHOT=PATH to keep the screenshot, and DIGITCLI_TEACH_MIX=MNIST to fine-tune with
real MNIST instead (docs/teach-page.png is made that way)."""

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, write_idx_folder
from test_serve_page import CHROMEDRIVER, CHROMIUM, MODEL, browser, draw  # noqa: F401 - browser is a fixture

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="no chromium and chromedriver installed"),
]
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def teaching_server(tmp_path):
    mix = os.environ.get("DIGITCLI_TEACH_MIX") or write_idx_folder(tmp_path / "mnist", n_train=200, n_test=50)
    command = [sys.executable, "-m", "digitcli", "serve", "--model", str(MODEL), "--port", "0"]
    command += ["--collect", str(tmp_path / "mine"), "--mix", str(mix)]
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        found = re.search(r"(http://[\d.]+:\d+/)", line)
        if found:
            yield found.group(1), tmp_path / "mine"
            break
    else:
        pytest.fail(f"digitcli serve did not start (exit status {proc.wait()})")
    proc.terminate()
    assert proc.wait(timeout=60) == 0


def text(driver, element_id):
    return driver.find_element(By.ID, element_id).text


def seven(k):
    return [[(150 + 3 * k, 120), (420, 120 + 2 * k), (250 - 2 * k, 460)]]


def one(k):
    return [[(270 + 3 * k, 100), (290 - 2 * k, 470)]]


def test_collect_fine_tune_switch_and_switch_back(teaching_server, browser, tmp_path):  # noqa: F811
    url, folder = teaching_server
    browser.set_window_size(390, 844)
    browser.get(url)
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "teach").is_displayed())
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")  # a phone
    browser.set_window_size(1000, 760)
    for k in range(21):
        draw(browser, seven(k) if k % 2 else one(k))
        WebDriverWait(browser, 20).until(lambda d: text(d, "reading").isdigit())
        if k % 3:
            ActionChains(browser).send_keys("7" if k % 2 else "1").perform()  # the digit's key
        else:
            browser.find_element(By.CSS_SELECTOR, f'#labels button[data-digit="{7 if k % 2 else 1}"]').click()
        WebDriverWait(browser, 20).until(lambda d, k=k: text(d, "count") == str(k + 1))
        # The pad is cleared: an empty reading, which the style sheet shows as "draw a digit" (app.js show()).
        WebDriverWait(browser, 10).until(lambda d: text(d, "reading") == "")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#samples .sample")) == 21
    browser.find_element(By.CSS_SELECTOR, "#samples .sample .delete").click()  # the newest, a 1
    WebDriverWait(browser, 10).until(lambda d: text(d, "count") == "20")
    assert "1: 10" in text(browser, "counts") and "7: 10" in text(browser, "counts")
    labels = (folder / "labels.csv").read_text().splitlines()
    assert labels[0] == "file,label" and len(labels) == 21 and "digit1_21.csv,1" not in labels

    epochs = browser.find_element(By.ID, "epochs")
    epochs.clear()
    epochs.send_keys("1")
    browser.find_element(By.ID, "finetune").click()
    WebDriverWait(browser, 600).until(
        lambda d: d.find_element(By.ID, "tune-status").get_attribute("data-state") in ("done", "failed")
    )
    assert browser.find_element(By.ID, "tune-status").get_attribute("data-state") == "done", text(
        browser, "tune-status"
    )
    rows = browser.find_elements(By.CSS_SELECTOR, "#tune-result tbody tr")
    assert rows[0].text.startswith("your held-out digits ") and rows[1].text.startswith("MNIST test set ")
    mnist = 50 if "DIGITCLI_TEACH_MIX" not in os.environ else 10000
    assert re.search(r"% of 2 .*% of 2$", rows[0].text) and re.search(
        rf"% of {mnist:,} .*% of {mnist:,}$", rows[1].text
    )
    screenshot = Path(os.environ.get("DIGITCLI_SCREENSHOT") or tmp_path / "teach.png")
    browser.execute_script("document.getElementById('teach').scrollIntoView()")
    assert browser.save_screenshot(str(screenshot))

    def health():
        return json.loads(urllib.request.urlopen(url + "api/health").read())["model"]

    browser.find_element(By.ID, "accept").click()
    WebDriverWait(browser, 60).until(lambda d: text(d, "model").startswith("tuned.keras"))
    assert health() == "tuned.keras"
    browser.find_element(By.ID, "switch-back").click()
    WebDriverWait(browser, 20).until(lambda d: text(d, "model").startswith("robust.keras"))
    assert health() == "robust.keras"
    draw(browser, seven(0))  # the page still reads with the model switched back to
    WebDriverWait(browser, 20).until(lambda d: text(d, "reading") == "7")
