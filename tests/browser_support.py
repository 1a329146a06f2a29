"""A headless Chromium (Debian's package, with its chromedriver) for the console's browser tests.

Selenium is synchronous; the console runs on the test's event loop, so every
browser call goes to a thread (`await browser.call(...)`) while the loop keeps
serving. Chromium may only resolve 127.0.0.1: nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTEFACTS = ROOT / "artefacts" / "console"
AXE = ROOT / ".cache" / "axe-core" / "axe.min.js"
#: WCAG 2.1 A and AA rules; a serious or critical violation fails the test
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BAD_IMPACTS = {"serious", "critical"}

T = TypeVar("T")


def chromium_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="session")
def driver() -> Iterator[Any]:
    paths = chromium_paths()
    if paths is None:
        pytest.skip("chromium and chromium-driver are not installed (make test installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_AVOID_STATS", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for flag in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--lang=uk",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(executable_path=paths[1]), options=options)
    browser.set_script_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()


class Browser:
    def __init__(self, driver: Any, base: str) -> None:
        self.driver = driver
        self.base = base

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(function, *args)

    async def open(self, path: str) -> None:
        await self.call(self.driver.get, path if path.startswith("http") else self.base + path)

    async def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return await self.call(self.driver.find_element, By.CSS_SELECTOR, css)

    async def click(self, css: str) -> None:
        element = await self.find(css)
        await self.call(element.click)

    async def type(self, css: str, text: str) -> None:
        element = await self.find(css)
        await self.call(element.send_keys, text)

    async def text(self, css: str) -> str:
        element = await self.find(css)
        return str(await self.call(lambda: element.text))

    async def wait_text(self, css: str, text: str, within: float = 20.0) -> str:
        """The element's text once it contains `text` (a page may still be loading)."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.by import By

        found = ""

        def check() -> bool:
            nonlocal found
            try:
                found = self.driver.find_element(By.CSS_SELECTOR, css).text
            except WebDriverException:
                return False
            return text in found

        await self.wait_for(check, within)
        return found

    async def url(self) -> str:
        return str(await self.call(lambda: self.driver.current_url))

    async def keys(self, *keys: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains

        def press() -> None:
            chain = ActionChains(self.driver)
            for key in keys:
                chain.send_keys(key)
            chain.perform()

        await self.call(press)

    async def focused(self) -> tuple[str, str]:
        """Tag name and text (or value) of the element that has the keyboard focus."""

        def read() -> tuple[str, str]:
            element = self.driver.switch_to.active_element
            return element.tag_name, element.text or (element.get_attribute("value") or "")

        return await self.call(read)

    async def wait_for(self, check: Callable[[], Any], within: float = 20.0) -> None:
        deadline = time.monotonic() + within
        while True:
            if await self.call(check):
                return
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting in the browser")
            await asyncio.sleep(0.1)

    async def screenshot(self, name: str) -> Path:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTEFACTS / f"{name}.png"
        await self.call(self.driver.save_screenshot, str(path))
        return path

    async def axe(self) -> list[dict[str, Any]]:
        """axe-core's WCAG 2.1 AA violations of the current page (serious and critical)."""
        if not AXE.is_file():
            pytest.skip("axe-core is not fetched (scripts/browser-tools does it)")
        source = AXE.read_text(encoding="utf-8")
        await self.call(self.driver.execute_script, source)
        script = (
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
            ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,"
            " help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))))"
            ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e)}]));"
        )
        found: list[dict[str, Any]] = await self.call(
            self.driver.execute_async_script, script, AXE_TAGS
        )
        return [v for v in found if v.get("impact") in BAD_IMPACTS]
