"""A real headless Chromium driven over the DevTools protocol (websockets, already in the stack).

Enough of the protocol to open a page at a laptop's size, run JavaScript in it, click, take a
screenshot, and record what a reviewer's browser would see go wrong: console errors, uncaught
exceptions, and every request the page makes (so a test can prove nothing leaves the machine).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

WIDTH, HEIGHT = 1366, 768


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Browser:
    """One headless Chromium with one tab; use as a context manager."""

    width: int = WIDTH
    height: int = HEIGHT
    requests: list[str] = field(default_factory=list, repr=False)  # every URL the tab asked for
    errors: list[str] = field(default_factory=list)  # console errors, exceptions, failed loads
    _proc: subprocess.Popen | None = None
    _ws: ClientConnection | None = None
    _session: str = ""
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _events: list[dict] = field(default_factory=list, repr=False)

    def __enter__(self) -> Browser:
        exe = chromium()
        if exe is None:
            raise RuntimeError("chromium is not installed (apt-get install -y chromium)")
        self._profile = tempfile.mkdtemp(prefix="adgen-chromium-")
        self._proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-extensions",
             "--remote-debugging-port=0", f"--user-data-dir={self._profile}",
             f"--window-size={self.width},{self.height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        url = self._devtools_url()
        self._ws = connect(url, max_size=64 * 2**20, open_timeout=60)
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})  # fmt: skip
        return self

    def __exit__(self, *exc: object) -> None:
        if self._ws is not None:
            self._ws.close()
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        shutil.rmtree(self._profile, ignore_errors=True)

    def _devtools_url(self) -> str:
        assert self._proc is not None and self._proc.stderr is not None
        seen = []
        for line in self._proc.stderr:
            seen.append(line)
            if m := re.search(r"DevTools listening on (ws://\S+)", line):
                return m.group(1)
        raise RuntimeError("chromium exited before DevTools started:\n" + "".join(seen[-20:]))

    # -- protocol --------------------------------------------------------------------------------------
    def _call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        assert self._ws is not None
        msg_id = next(self._ids)
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self._ws.recv(timeout=120))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._event(reply)

    def send(self, method: str, params: dict | None = None) -> dict:
        return self._call(method, params, self._session)

    def _event(self, ev: dict) -> None:
        method, p = ev.get("method", ""), ev.get("params", {})
        self._events.append(ev)
        if method == "Network.requestWillBeSent":
            self.requests.append(p["request"]["url"])
        elif method == "Network.loadingFailed":
            self.errors.append(f"failed to load: {p.get('errorText')} ({p.get('requestId')})")
        elif method == "Runtime.exceptionThrown":
            self.errors.append(f"exception: {p['exceptionDetails'].get('text')}")
        elif method == "Runtime.consoleAPICalled" and p.get("type") == "error":
            self.errors.append("console: " + " ".join(str(a.get("value")) for a in p.get("args", [])))
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            self.errors.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")

    def _wait(self, method: str, timeout: float = 60) -> dict:
        assert self._ws is not None
        deadline = time.monotonic() + timeout
        for i, ev in enumerate(self._events):
            if ev.get("method") == method:
                return self._events.pop(i)
        while time.monotonic() < deadline:
            ev = json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if "id" in ev:
                continue
            self._event(ev)
            if ev.get("method") == method:
                self._events.remove(ev)
                return ev
        raise TimeoutError(method)

    # -- what a test does ----------------------------------------------------------------------------------
    def open(self, page: Path | str) -> None:
        url = page.as_uri() if isinstance(page, Path) else page
        self._events.clear()
        self.send("Page.navigate", {"url": url})
        self._wait("Page.loadEventFired")

    def js(self, expression: str) -> Any:
        """The value of `expression` in the page (awaited if it is a promise)."""
        result = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def images_not_loaded(self, timeout: float = 90) -> list[str]:
        """The src of every image that has not loaded: each is scrolled into view (the report's
        thumbnails are `loading="lazy"`, fetched only near the viewport and after the load event)
        and waited for until it loads, breaks or `timeout` s have passed for them all; [] when all
        loaded. A deadline, not a fixed pause: a loaded machine only makes it slower."""
        return self.js(
            f"""(async () => {{
                const deadline = performance.now() + {timeout * 1000:.0f};
                for (const img of document.images) {{
                    img.scrollIntoView({{block: "center"}});
                    while (!img.complete && performance.now() < deadline)
                        await new Promise(r => setTimeout(r, 50));
                }}
                window.scrollTo(0, 0);
                return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);
            }})()"""
        )

    def click(self, selector: str) -> None:
        """Click the element (a link: wait for the page it opens)."""
        self._events.clear()
        self.js(f"document.querySelector({json.dumps(selector)}).click()")
        self._wait("Page.loadEventFired")

    def download_to(self, folder: Path) -> None:
        """Save what the page downloads (an `<a download>` click) into `folder`, without asking."""
        self._call("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})

    def screenshot(self, out: Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        out.write_bytes(base64.b64decode(data))
        return out
