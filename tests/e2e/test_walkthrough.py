"""A walk through every menu page as each role, in Chinese: each page opens (no HTTP error, no JS error,
nothing fetched from outside), every sort link of every list answers, and a 1366x900 screenshot of
each page lands in screenshots/walk-<role>-<page>.png for people to look at (failing tests leave
screenshots/FAILED-<test>-*.png).

English words in a page's own text (menus, headings, labels, buttons, messages: candidates for
untranslated strings) are listed in screenshots/untranslated-<role>.txt; they do not fail the test.
"""
import re
from urllib.parse import urlsplit

import pytest

from app import permissions as P

from .conftest import SCREENSHOTS, screenshot

ROLES = {"admin": P.ADMIN, "manager": P.ACCOUNT_MANAGER, "auditor": P.AUDITOR}
# Menu links that end the session or switch the language (test_browser covers both).
SKIP_LINKS = ("/logout/", "/lang/")
WORD_RE = re.compile(r"\b[A-Za-z][A-Za-z'’-]{2,}(?:[ ][A-Za-z][A-Za-z'’-]*)*")
# Besides every menu page (a list), the record screens opened per list: the brief's walk-through.
DETAIL_PAGES = {"/customerview": ("show", "edit", "add"), "/departmentview": ("show", "add"),
                "/employeeview": ("show",), "/companyinfoview": ("show",), "/systemsettingview": ("edit",),
                "/numberingruleview": ("show",), "/operationlogview": ("show",), "/users": ("show", "add")}
DATA_WORDS = {"Excel", "English"}  # "English" is the language menu naming the other language

# The page's own words (menus, headings, labels, buttons, messages), not the data in its tables.
UI_TEXT_JS = """() => [...document.querySelectorAll(
  '.navbar a, .panel-heading, .panel-title, h1, h2, h3, h4, th, label, .btn, .help-block, .alert, ' +
  '.nav-tabs a, .dropdown-menu a, .pagination, .select2-selection__placeholder, #error-message, p')]
  .map(e => e.innerText).join('\\n')"""

# Fetches every column-sort link of the list on the page and returns those that do not answer 200.
BROKEN_SORT_LINKS_JS = """async () => {
  const hrefs = [...new Set([...document.querySelectorAll('table th a[href]')].map(a => a.href))];
  const answers = await Promise.all(hrefs.map(href => fetch(href, {credentials: 'same-origin'})));
  return answers.filter(r => r.status !== 200).map(r => `${r.url}: HTTP ${r.status}`);
}"""


def _slug_of(path: str) -> str:
    return path.strip("/").replace("/", "-") or "home"


class Walk:
    def __init__(self, page, role_key):
        self.page, self.role_key = page, role_key
        self.english: dict[str, list[str]] = {}
        self.broken: list[str] = []

    def visit(self, url, name=None):
        response = self.page.goto(url)
        if response is None or response.status >= 400:
            self.broken.append(f"{url}: HTTP {response and response.status}")
        return self.shoot(name or _slug_of(urlsplit(url).path))

    def shoot(self, name):
        screenshot(self.page, f"walk-{self.role_key}-{name}")
        bits = [m.group(0) for m in WORD_RE.finditer(self.page.evaluate(UI_TEXT_JS))]
        self.english[name] = [b for b in dict.fromkeys(bits) if b not in DATA_WORDS]
        return self.page

    def hrefs(self, selector):
        return self.page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('href'))")

    def first_href(self, selector):
        found = self.hrefs(selector)
        return found[0] if found else None

    def check_sort_links(self, url):
        self.broken += [f"sort link on {url}: {bad}" for bad in self.page.evaluate(BROKEN_SORT_LINKS_JS)]

    def write_english(self):
        lines = [f"{page}: {' | '.join(bits)}" for page, bits in self.english.items() if bits]
        with open(f"{SCREENSHOTS}/untranslated-{self.role_key}.txt", "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")


@pytest.mark.parametrize("role_key", list(ROLES))
def test_walk_every_menu_page(page_as, role_key):
    page = page_as(ROLES[role_key])
    walk = Walk(page, role_key)
    if role_key == "admin":
        page.wait_for_timeout(1100)  # let the home page's chart finish its opening animation
    walk.shoot("home")
    links = [h for h in dict.fromkeys(walk.hrefs(".navbar .dropdown-menu a[href]"))
             if h.startswith("/") and not h.startswith(SKIP_LINKS)]
    assert "/customerview/list/" in links and "/exportjobview/list/" in links

    for href in links:
        walk.visit(href)
        if "/list/" not in href:
            continue
        if role_key == "admin":  # the other roles' lists are a subset of the administrator's
            walk.check_sort_links(href)
        # one record's screens and the add form, where the role may open them
        base = href.split("/list/")[0]
        targets = {kind: walk.first_href(f"a[href^='{base}/{kind}']") for kind in DETAIL_PAGES.get(base, ())}
        for kind, target in targets.items():
            if target:
                walk.visit(target, f"{_slug_of(base)}-{kind}")

    # a dictionary's entries (a related view) on the second tab of its show page
    page.goto("/dicttypeview/list/")
    show = walk.first_href("table a[href^='/dicttypeview/show/']")
    assert show, "no dictionary to show"
    walk.visit(show, "dicttypeview-show")
    page.locator(".nav-tabs a").nth(1).click()
    assert page.locator(".tab-pane.active table tbody tr").count() > 0, "the entries tab is empty"
    walk.shoot("dicttypeview-show-entries")

    # a delete button asks first (FAB's confirmation dialog), and cancelling deletes nothing
    if role_key == "admin":
        page.goto("/departmentview/list/")
        rows = page.locator("table.table-bordered tbody tr").count()
        page.locator("table.table-bordered a.confirm").last.click()
        dialog = page.locator("#modal-confirm")
        dialog.wait_for(state="visible")
        page.wait_for_function("() => document.getAnimations().length === 0")  # the fade-in is over
        walk.shoot("departmentview-delete-confirm")
        dialog.locator("button[data-dismiss=modal]").click()
        dialog.wait_for(state="hidden")
        page.reload()
        assert page.locator("table.table-bordered tbody tr").count() == rows

    # the day-end page: the run button only for who may run it, and it asks before it runs
    if "/dayendrunview/list/" in links:
        page.goto("/dayendrunview/list/")
        run_button = page.locator("#run-dayend")
        if role_key == "admin":
            assert run_button.count() == 1
            asked = []
            page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
            run_button.click()
            assert asked, "the run button did not ask for confirmation"
            assert "/dayendrunview/list" in page.url
        else:
            assert run_button.count() == 0, f"{role_key} may not run the day-end but sees the button"

    walk.write_english()
    assert not walk.broken, "pages that did not open:\n  " + "\n  ".join(walk.broken)
