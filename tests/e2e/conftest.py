"""Browser tests: the session app served on a free local port, driven by headless Chromium.

Every page a test opens is watched: a JavaScript error (console error or uncaught exception) or a
request to any host other than the local server fails the test, and a failing test leaves a
screenshot of each open page in /work/main/screenshots/ (git-ignored).
"""
import logging
import os
import re
import threading
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from app import permissions as P
from tests.conftest import ROLE_USERS, TEST_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1366, "height": 900}
SCREENSHOTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "screenshots")
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
DEMO_CUSTOMERS = 50
TIMEOUT_MS = 10_000


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:120]


def screenshot(page, name: str, full_page=False) -> str:
    """Save a screenshot (the 1366x900 viewport) as screenshots/<name>.png and return its path."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    path = os.path.join(SCREENSHOTS, _slug(name) + ".png")
    page.screenshot(path=path, full_page=full_page)
    return path


CJK_FAMILY = re.compile(r"CJK|Source Han|PingFang|YaHei|Hei|Song|WenQuanYi|Noto Sans SC|Noto Serif SC", re.I)


def platform_fonts(page, selector) -> dict[str, int]:
    """The fonts Chromium really drew the element's text with: {family: glyph count} (a missing CJK font
    shows up here as Chinese glyphs drawn by a Latin font, i.e. tofu boxes on the screen)."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        assert node, f"nothing matches {selector}"
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        return {f["familyName"]: f["glyphCount"] for f in fonts}
    finally:
        cdp.detach()


# --- the server -----------------------------------------------------------------------------------

def _cache_static(wsgi_app):
    """Let the browser keep /static/ files for the session, as a production front server would; without
    it every page load revalidates some twenty CSS/JS files, which triples the time of the walk."""

    def serve(environ, start_response):
        if not environ.get("PATH_INFO", "").startswith("/static/"):
            return wsgi_app(environ, start_response)

        def start(status, headers, exc_info=None):
            headers = [(k, v) for k, v in headers if k.lower() != "cache-control"]
            headers.append(("Cache-Control", "public, max-age=3600"))
            return start_response(status, headers, exc_info)

        return wsgi_app(environ, start)

    return serve


@pytest.fixture(scope="session")
def live_server(app):
    """The session app with a small demo data set, served by werkzeug in a background thread."""
    from app.extensions import db
    from app.services.demo import load_demo

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in the test output

    with app.app_context():
        load_demo(app.appbuilder, customers=DEMO_CUSTOMERS)
        db.session.remove()
    server = make_server("127.0.0.1", 0, _cache_static(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


# --- the browser ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium fonts-noto-cjk")
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


class PageWatch:
    """What went wrong in the pages of one browser context: JS errors, requests that leave the machine."""

    def __init__(self):
        self.js_errors: list[str] = []
        self.external_requests: list[str] = []
        self.allowed: list[re.Pattern] = []

    def allow(self, pattern: str):
        """Do not count console errors matching `pattern` (a page the test opens expecting a 403…)."""
        self.allowed.append(re.compile(pattern))

    def attach(self, page):
        page.on("console", lambda msg: msg.type == "error" and self.js_errors.append(
            f"console error on {page.url}: {msg.text} ({msg.location.get('url', '')})"))
        page.on("pageerror", lambda exc: self.js_errors.append(f"uncaught exception on {page.url}: {exc}"))

    def on_request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS:
            self.external_requests.append(request.url)

    def problems(self) -> list[str]:
        errors = [e for e in self.js_errors if not any(p.search(e) for p in self.allowed)]
        return errors + [f"request to a non-local host: {url}" for url in self.external_requests]


@pytest.fixture
def new_context(browser, live_server, request):
    """Factory of fresh browser contexts (separate cookies) watched for JS errors and external requests."""
    contexts = []

    def make(locale="zh-CN", storage_state=None):
        context = browser.new_context(base_url=live_server, viewport=VIEWPORT, locale=locale,
                                      accept_downloads=True, storage_state=storage_state)
        context.set_default_timeout(TIMEOUT_MS)
        watch = PageWatch()
        context.on("request", watch.on_request)  # (no context.route(): routing turns the HTTP cache off)
        context.on("page", watch.attach)
        context.watch = watch
        contexts.append(context)
        return context

    request.node.e2e_contexts = contexts
    yield make
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for n, context in enumerate(contexts):
            for m, page in enumerate(context.pages):
                try:
                    screenshot(page, f"FAILED-{request.node.name}-{n}-{m}")
                except Exception:  # a crashed page must not hide the test's own failure
                    pass
    for context in contexts:
        context.close()


_LOGGED_IN: dict[str, dict] = {}  # username -> cookies of a session that logged in through the form


def login(page, username, password=TEST_PASSWORD):
    """Log in through the login form; returns the page on the home screen."""
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form [type=submit]")
    assert "/login" not in page.url, f"login as {username} failed: {page.url}"
    _LOGGED_IN[username] = page.context.storage_state()
    return page


@pytest.fixture
def page_as(new_context):
    """page_as(role_or_username, password=TEST_PASSWORD): a logged-in page in a browser context of its own.

    A login through the form costs a password hash, so each user logs in through the form once per test
    session and later contexts start from that session's cookies."""

    def make(who=P.ADMIN, password=TEST_PASSWORD, locale="zh-CN"):
        username = ROLE_USERS.get(who, who)
        state = _LOGGED_IN.get(username)
        if state is None:
            return login(new_context(locale=locale).new_page(), username, password)
        page = new_context(locale=locale, storage_state=state).new_page()
        page.goto("/")
        if "/login" in page.url:  # the server ended that session: log in afresh
            return login(page, username, password)
        return page

    return make


@pytest.fixture
def admin_page(page_as):
    return page_as(P.ADMIN)


@pytest.fixture
def manager_page(page_as):
    return page_as(P.ACCOUNT_MANAGER)


@pytest.fixture
def auditor_page(page_as):
    return page_as(P.AUDITOR)


# --- reporting ------------------------------------------------------------------------------------

@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Fail the test when any of its pages logged a JS error or asked a non-local host for something."""
    def problems():
        found = [p for context in getattr(item, "e2e_contexts", []) for p in context.watch.problems()]
        return "browser problems:\n  " + "\n  ".join(dict.fromkeys(found)) if found else None

    try:
        result = yield
    except BaseException as exc:
        if problems():
            exc.add_note(problems())
        raise
    if problems():
        raise AssertionError(problems())
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report


def choose(page, select_id, text):
    """Pick the option labelled `text` of a Select2-enhanced <select> the way a person does: open it,
    type to narrow the list when it has a search box, click the option; then check the <select> took it."""
    page.click(f"#{select_id} + .select2-container .select2-selection")
    dropdown = page.locator(".select2-container--open .select2-dropdown")
    dropdown.wait_for(state="visible")
    search = dropdown.locator(".select2-search__field")
    if search.count() and search.is_visible():
        search.fill(text)
    dropdown.locator(".select2-results__option", has_text=text).first.click()
    chosen = page.eval_on_selector(f"#{select_id}", "s => s.options[s.selectedIndex] && s.options[s.selectedIndex].text")
    assert chosen and text in chosen, f"{select_id}: wanted {text!r}, the select holds {chosen!r}"
