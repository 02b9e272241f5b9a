"""The example's web page in headless Chromium, driven by Playwright.

The page logs in with cookies, so no token may be readable from JavaScript,
and a page on another loopback origin must not be able to change data with
the user's cookies. The test saves a screenshot in ``test-artifacts/``.

It needs Playwright for Python and Chromium (Debian's ``chromium`` package,
or ``CHROMIUM_PATH``). Without them it is skipped with a notice, except
under CI (``JWTSAFE_CI`` set), where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.test_example_project import (  # noqa: F401 (fixtures)
    REPO_ROOT,
    example_env,
    example_server,
    manage,
)

ARTIFACTS = REPO_ROOT / "test-artifacts"
ALICE = ("alice", "alice-demo-password")
# A second loopback address: a different origin and site from 127.0.0.1.
OTHER_HOST = "127.0.0.2"
TOKEN_PREFIX = "eyJ"  # base64url of '{"', the start of every JWT header.


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


def require_browser() -> Any:
    """Return Playwright's sync_playwright, skipping or failing without it."""
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "Playwright for Python is not installed"
    if reason is None and chromium_path() is None:
        reason = "Chromium is not installed (apt-get install chromium)"
    if reason is not None:
        if os.environ.get("JWTSAFE_CI"):
            pytest.fail(f"{reason}, and CI must run the browser test")
        pytest.skip(reason)
    return sync_playwright


class AttackerPage(BaseHTTPRequestHandler):
    """Serves a page that tries to create a note on the example with fetch."""

    target = ""

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        script = f"""
        <script>
        window.results = {{}};
        async function attempt(name, options) {{
          try {{
            const response = await fetch("{self.target}/api/notes/", options);
            window.results[name] = response.status;
          }} catch (error) {{
            window.results[name] = "blocked";
          }}
        }}
        Promise.all([
          attempt("json", {{method: "POST", credentials: "include",
            headers: {{"Content-Type": "application/json"}},
            body: JSON.stringify({{title: "planted"}})}}),
          attempt("simple", {{method: "POST", credentials: "include",
            mode: "no-cors", headers: {{"Content-Type": "text/plain"}},
            body: JSON.stringify({{title: "planted"}})}}),
        ]).then(() => {{ window.done = true; }});
        </script>"""
        body = f"<!doctype html><title>elsewhere</title>{script}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def attacker_origin(example_server: str) -> Iterator[str]:  # noqa: F811
    handler = type("Handler", (AttackerPage,), {"target": example_server})
    server = ThreadingHTTPServer((OTHER_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{OTHER_HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def api_status(base_url: str, path: str, token: str) -> int:
    request = urllib.request.Request(
        base_url + path, headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_web_page_keeps_tokens_from_javascript(
    example_server: str,  # noqa: F811
    attacker_origin: str,
) -> None:
    sync_playwright = require_browser()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox"]
        )
        try:
            context = browser.new_context()
            page = context.new_page()
            page.goto(example_server + "/")
            page.fill("input[name=username]", ALICE[0])
            page.fill("input[name=password]", ALICE[1])
            page.click("button[type=submit]")
            page.wait_for_selector("#notes li")
            assert "Shopping" in page.inner_text("#notes")
            assert page.is_hidden("#login-form")

            page.fill("#note-form input[name=title]", "Written in Chromium")
            page.click("#note-form button[type=submit]")
            page.wait_for_selector("text=Written in Chromium")

            # No token where JavaScript can read it.
            readable = page.evaluate(
                """() => JSON.stringify({
                    cookie: document.cookie,
                    local: Object.entries(localStorage),
                    session: Object.entries(sessionStorage),
                })"""
            )
            assert TOKEN_PREFIX not in readable
            stored = json.loads(readable)
            assert stored["local"] == []
            assert stored["session"] == []
            cookies = {cookie["name"]: cookie for cookie in context.cookies()}
            access_token = cookies["jwtsafe_access"]["value"]
            assert cookies["jwtsafe_access"]["httpOnly"] is True
            assert cookies["jwtsafe_refresh"]["httpOnly"] is True
            assert access_token.startswith(TOKEN_PREFIX)

            notes_before = page.locator("#notes li").count()
            screenshot = ARTIFACTS / "example-notes-page.png"
            page.screenshot(path=str(screenshot))
            assert screenshot.stat().st_size > 1000

            # Another origin, in the same browser with alice's cookies.
            other = context.new_page()
            other.goto(attacker_origin + "/")
            other.wait_for_function("window.done === true", timeout=10_000)
            results = other.evaluate("window.results")
            print(f"requests from {attacker_origin}: {results}")
            assert results["json"] in ("blocked", 401, 403)
            page.reload()
            page.wait_for_selector("#notes li")
            assert page.locator("#notes li").count() == notes_before
            assert "planted" not in page.inner_text("#notes")

            page.click("#logout")
            page.wait_for_selector("#login-form:not([hidden])")
            status = page.evaluate("async () => (await fetch('/api/notes/')).status")
            assert status == 401
            assert api_status(example_server, "/api/notes/", access_token) == 401
        finally:
            browser.close()


def test_admin_sessions_screenshot(
    example_server: str,  # noqa: F811
    example_env: dict[str, str],  # noqa: F811
) -> None:
    """Sign in to the example's admin and capture the sessions list."""
    sync_playwright = require_browser()
    env = dict(example_env, DJANGO_SUPERUSER_PASSWORD="operator-demo-password")
    manage(
        env,
        "createsuperuser",
        "--noinput",
        "--username",
        "operator",
        "--email",
        "operator@example.com",
    )
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 560})
            # Two sessions to list: alice logs in through the web page.
            page.goto(example_server + "/")
            page.fill("input[name=username]", ALICE[0])
            page.fill("input[name=password]", ALICE[1])
            page.click("button[type=submit]")
            page.wait_for_selector("#notes li")

            page.goto(example_server + "/admin/login/?next=/admin/jwtsafe/session/")
            page.fill("input[name=username]", "operator")
            page.fill("input[name=password]", "operator-demo-password")
            page.click("input[type=submit]")
            page.wait_for_selector("#result_list")
            assert "alice" in page.inner_text("#result_list")
            screenshot = ARTIFACTS / "admin-sessions.png"
            page.screenshot(path=str(screenshot))
            assert screenshot.stat().st_size > 1000
        finally:
            browser.close()
