"""The reader in a real browser: Debian's chromium driven by Selenium through Debian's
chromedriver (never a downloaded browser), against `defnews serve` in a real process.

Skips with the reason when chromium or chromedriver is missing, except under CI=true,
where it fails (.ci/run installs them). Set DEFNEWS_UPDATE_SCREENSHOT=1 to write the
river's screenshot to docs/river.png (the README shows it); otherwise it goes to tmp.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.web.readerdata import CONFIG, fill, serving

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--lang=ar", "--window-size=1000,1250")


def _need_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install '.[test]')")
    if not missing:
        return
    msg = f"browser test needs {', '.join(missing)} (apt-get install chromium chromium-driver)"
    if os.environ.get("CI") == "true":
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture
def browser(tmp_path):
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


@pytest.mark.slow
def test_river_search_story_and_copies_in_chromium(browser, tmp_path):
    from selenium.webdriver.common.by import By

    db = f"sqlite:///{tmp_path / 'browser.db'}"
    ids = fill(db, bulk=12, now=datetime.now(timezone.utc))
    cfg = tmp_path / "config.yaml"
    cfg.write_text(CONFIG, encoding="utf-8")
    israel = ids["https://alpha.example/israel"]
    with serving(db, cfg) as (base, _):
        # The river: right to left, local times by the packaged script, copies behind a toggle.
        browser.get(base + "/")
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"
        assert browser.execute_script("return getComputedStyle(document.body).direction") == "rtl"
        stamp = browser.find_element(By.CSS_SELECTOR, f"#s{israel} time")
        assert "UTC" not in stamp.text and stamp.get_attribute("title").endswith("UTC")
        assert "منذ ٣ ساعات" in browser.find_element(By.ID, f"s{israel}").text
        shot = tmp_path / "river.png"
        browser.save_screenshot(str(shot))
        if os.environ.get("DEFNEWS_UPDATE_SCREENSHOT") == "1":
            (ROOT / "docs").mkdir(exist_ok=True)
            shutil.copy(shot, ROOT / "docs" / "river.png")
        copies = browser.find_element(By.CSS_SELECTOR, f"#s{israel} details.copies")
        link = copies.find_element(By.CSS_SELECTOR, "li a")
        assert not link.is_displayed()
        copies.find_element(By.TAG_NAME, "summary").click()
        assert link.is_displayed()
        assert not _console_errors(browser)

        # Search with another hamza form than the stored one.
        box = browser.find_element(By.NAME, "q")
        box.send_keys("أسرائيل")
        box.submit()
        hit = browser.find_element(By.ID, f"s{israel}")
        assert hit.find_element(By.TAG_NAME, "mark").text == "إسرائيل"
        assert not _console_errors(browser)

        # The story, then its copies.
        hit.find_element(By.CSS_SELECTOR, "h2 a").click()
        assert browser.current_url.endswith(f"/story/{israel}")
        assert "صحراء النقب" in browser.find_element(By.CSS_SELECTOR, "article .text").text
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"
        copy_links = browser.find_elements(By.CSS_SELECTOR, "#copies li > a:first-child")
        assert {a.text for a in copy_links} == {"beta", "gamma"}
        copy_links[0].click()
        assert "نسخة من" in browser.find_element(By.CSS_SELECTOR, ".notice").text
        browser.find_element(By.CSS_SELECTOR, ".notice a").click()
        assert browser.current_url.endswith(f"/story/{israel}")
        assert not _console_errors(browser)

        # An escaped story stays text, and its page runs nothing.
        browser.get(f"{base}/story/{ids['https://alpha.example/xss']}")
        assert "<script>alert(1)</script>" in browser.find_element(By.TAG_NAME, "h1").text
        assert not _console_errors(browser)
    assert Path(shot).stat().st_size > 10_000
