"""The chat page in a real headless Chromium: ask, watch progress, read a cited answer, follow up.

Screenshots are kept in tests/artifacts/browser/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import KEYS, PRODUCTION

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="not installed: chromium, chromium-driver (apt-get install them)"
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots() -> Path:
    """tests/artifacts/browser/ (git-ignored): kept after the run for a person to look at."""
    folder = Path(__file__).resolve().parents[1] / "artifacts" / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    print(f"\nscreenshots: {folder}")
    return folder


def test_ask_see_progress_and_a_cited_answer_then_follow_up(browser: Any, service: str, shots: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, 60)
    browser.get(service + "/")
    wait.until(ec.visibility_of_element_located((By.ID, "key"))).send_keys(KEYS["alice"])
    browser.find_element(By.ID, "key-save").click()
    wait.until(lambda d: len(Select(d.find_element(By.ID, "connection")).options) >= 2)
    Select(browser.find_element(By.ID, "connection")).select_by_value(PRODUCTION)
    browser.save_screenshot(str(shots / "1-ready.png"))

    question = browser.find_element(By.ID, "question")
    question.send_keys("What pipelines failed in the last 24 hours?")
    browser.find_element(By.ID, "send").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".progress li"))  # live progress
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".turn .answer"))
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-busy") == "no")
    browser.save_screenshot(str(shots / "2-answer.png"))
    browser.execute_script("arguments[0].scrollIntoView()", browser.find_element(By.CSS_SELECTOR, ".turn"))
    browser.save_screenshot(str(shots / "2-progress.png"))  # the calls as they were streamed

    progress = [li.text for li in browser.find_elements(By.CSS_SELECTOR, ".turn .progress li")]
    assert progress[0].startswith("plan:") and any("list_pipelines" in p and "req" in p for p in progress)
    links = browser.find_elements(By.CSS_SELECTOR, ".turn .answer a")
    assert links and all(a.get_attribute("href").startswith("https://bitbucket.org/acme/") for a in links)
    cited = {a.text for a in links}
    assert any(ref.startswith("pipeline:") for ref in cited)
    threads = browser.find_elements(By.CSS_SELECTOR, "#threads li")
    assert threads and "What pipelines failed" in threads[0].text

    question = browser.find_element(By.ID, "question")
    question.send_keys("which of those were on main?")
    browser.find_element(By.ID, "send").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".turn .answer")) == 2)
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-busy") == "no")
    browser.save_screenshot(str(shots / "3-follow-up.png"))
    answers = browser.find_elements(By.CSS_SELECTOR, ".turn .answer")
    follow_refs = {a.text for a in answers[1].find_elements(By.TAG_NAME, "a")}
    assert follow_refs and follow_refs <= cited  # the follow-up used the first answer's evidence
    assert "2 messages" in browser.find_elements(By.CSS_SELECTOR, "#threads li")[0].text

    browser.refresh()  # the thread is stored, not held by the page
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#threads li"))
    browser.find_elements(By.CSS_SELECTOR, "#threads li")[0].click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".turn .answer")) == 2)
    browser.save_screenshot(str(shots / "4-reopened.png"))
    for shot in ("1-ready", "2-answer", "2-progress", "3-follow-up", "4-reopened"):
        assert (shots / f"{shot}.png").stat().st_size > 10_000
