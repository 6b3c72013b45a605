"""The dashboard in a real browser: Debian's headless Chromium, driven by Selenium through the
system's chromedriver (nothing downloaded), against ``layer-webhooks dashboard`` started as a
subprocess on a SQLite huey queue with a dead job. A screenshot, a sign-in, a replay click, and
then the page and the queue checked."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.commands import bury, import_file, spawn, write_tasks

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = pytest.mark.slow

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
TOKEN = "browser token 42"
WAIT = 15.0


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    pytest.importorskip("huey")
    pytest.importorskip("werkzeug")
    pytest.importorskip("starlette")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is a test dependency (tox's all env)")
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            pytest.skip(f"{path} is missing: apt-get install chromium chromium-driver (as .ci/run does)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,900",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def test_a_replay_clicked_in_chromium(tmp_path: Path, browser: WebDriver) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    name = write_tasks(tmp_path)
    tasks = import_file(tmp_path, name)
    bury(tasks, "browser-job")
    running = spawn("dashboard", f"{name}:services", "--port", "0", "--dashboard-token", TOKEN, cwd=tmp_path)
    try:
        url = running.line_with("dashboard of ").split(" on ", 1)[1].split(" ", 1)[0]
        wait = WebDriverWait(browser, WAIT)
        browser.get(url)
        wait.until(shown.presence_of_element_located((By.ID, "dead")))
        assert "Dead jobs (1)" in browser.page_source
        assert "planned failure of browser-job" in browser.find_element(By.ID, "dead").text
        png = browser.get_screenshot_as_png()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
        (tmp_path / "dashboard.png").write_bytes(png)  # kept with the test run, to look at
        replay = browser.find_element(By.CSS_SELECTOR, 'button.replay[data-job="browser-job"]')
        assert replay.get_attribute("disabled") is not None  # until signed in

        browser.find_element(By.CSS_SELECTOR, "#login input[name=token]").send_keys(TOKEN)
        browser.find_element(By.CSS_SELECTOR, "#login button").click()
        wait.until(shown.text_to_be_present_in_element((By.ID, "notice"), "Signed in"))
        browser.find_element(By.CSS_SELECTOR, 'button.replay[data-job="browser-job"]').click()
        wait.until(shown.text_to_be_present_in_element((By.ID, "notice"), "queued again"))

        assert browser.find_element(By.ID, "notice").text == "Job browser-job was queued again from attempt 1."
        page = browser.page_source
        assert "Dead jobs (0)" in page
        assert "browser-job" in browser.find_element(By.ID, "pending").text
        assert TOKEN not in page
        assert [job.id for job in tasks.queue.pending()] == ["browser-job"]
        assert tasks.queue.dead_letters() == []
    finally:
        assert running.stop() == 0
        tasks.queue.close()
