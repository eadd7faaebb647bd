"""Every page each demo role can reach from its start page, on a 360 px phone, in both modes.

The demo data (``seed_demo``) is served by the live server. Each demo account logs in
through the login form and starts at its home page; a resident without an account starts
at 马南社区's public report form, the tracking page and the transparency page. From there
the crawl follows same-origin links (``a[href]``) by GET, breadth first, and opens each
kind of page once per role: pages are told apart by their URL name
(``django.urls.resolve(path).view_name``), at most ``PAGES_PER_ROLE`` of them. The public
pages and the login page, the same for everyone, are opened once per mode, by the resident.
It never follows logout, the language switch, files (exports, PDF, calendar feeds, QR
images, photos) or a link that changes something (no page changes anything on a GET).

Each page is checked at 360 px in the default mode and in 长辈版 (the header's
``button[data-elder-switch]`` is pressed once on the start page; every page after it must
carry ``<html class="elder">``):

==========================  ==============  =========
rule                        default         长辈版
==========================  ==============  =========
any visible text            ≥ 16 px         ≥ 22 px
body text, labels, fields   ≥ 18 px         ≥ 22 px
tap targets                 ≥ 44×44 px      ≥ 60×60 px
==========================  ==============  =========

- *Visible text* is every character painted on the page, the labels that phone tables draw
  in ``::before`` included; text hidden on purpose (``display: none``, ``.visually-hidden``,
  the skip link until it is focused, closed ``<details>``) is not.
- *Body text* is the size ``<body>`` gives every paragraph, and the text of every visible
  ``label``, ``legend``, ``input``, ``select`` and ``textarea``.
- *Targets* are the visible, enabled ``a[href]``, ``button``, ``input`` (not hidden),
  ``select``, ``textarea``, ``summary`` and ``[role=button]``, measured with
  ``getBoundingClientRect``. A checkbox or radio that has a label is measured by its label
  (tapping the label ticks it), and that label is a target. A link is exempt (WCAG 2.5.8's
  inline exception) only when it is laid out ``display: inline`` inside a block that holds
  at least two more letters or digits of text than the link: a link inside a sentence. A
  link alone in a table cell or a list item is a target.
- *200 % zoom*: at a viewport 180 CSS px wide (360 px at 200 %),
  ``document.scrollingElement.scrollWidth`` may not exceed its width.
- *axe-core* (vendored from npm under ``tests/browser/vendor``, injected into the page) with
  the WCAG 2.1 A and AA rules finds no violation.
- A link a role is shown opens: no page answers 4xx or 5xx.

A failure names the role, the mode, the address and, for each broken rule, the elements
(selector, text, size); a screenshot of each failing page is saved under
``test-artefacts/crawl/`` with the whole report (``report-<mode>.txt``).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.management import call_command
from django.urls import Resolver404, resolve, reverse
from playwright.sync_api import Error as PlaywrightError

from deliberation.management.commands.seed_demo import DEMO_PASSWORD
from members import actions as member_actions
from members.models import Community, User
from public.views import public_form_token
from tests.browser.conftest import DEFAULT_LOCALE, PHONE_WIDTH

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
AXE = HERE / "vendor" / "axe-core-4.14.1" / "axe.min.js"
SIZE_RULES = (HERE / "page_rules.js").read_text()
OVERFLOW = (HERE / "page_overflow.js").read_text()
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """tags => axe
  .run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})
  .then(result => result.violations.map(rule => ({
    id: rule.id, impact: rule.impact, help: rule.help,
    nodes: rule.nodes.map(node => ({target: node.target.join(" "), html: node.html})),
  })))"""

PHONE = {"width": PHONE_WIDTH, "height": 800}
ZOOMED = {"width": PHONE_WIDTH // 2, "height": 400}  # 360 px at 200 %
PAGES_PER_ROLE = 40
LISTED = 8  # elements listed per broken rule; the rest are counted

ACCOUNTS = [
    "manan_staff",
    "xingfu_staff",
    "nanen_admin",
    "chengbei_admin",
    "manan_member",
    "city_handler",
    "manan_volunteer",
    "manan_cadre",
    "nanen_cadre",
]
RESIDENT = "resident"  # no account: the public pages

# Not pages, or not to be opened by a crawler: files, and links that change something.
NOT_PAGES = {
    "logout",
    "set_language",
    "health",
    "minutes:pdf",
    "reports:report_download",
    "issues:export_download",
    "issues:photo",
    "volunteers:photo",
    "calendars:feed",
    "public:poster_svg",
    "public:transparency_qr",
    "members:notice_open",  # opening a notice marks it read
}
FILE = re.compile(r"\.(csv|xlsx|pdf|ics|svg|png|jpe?g|webp|zip)$")


@dataclass(frozen=True)
class Mode:
    name: str
    text: int  # px, any visible text
    body: int  # px, body text, labels and fields
    target: int  # px, both sides of a tap target

    def __str__(self) -> str:
        return self.name


DEFAULT = Mode("default", text=16, body=18, target=44)
ELDER = Mode("elder", text=22, body=22, target=60)


@dataclass
class Visit:
    """A page the crawl opened, and what is wrong with it."""

    who: str
    mode: Mode
    url: str
    name: str
    problems: list[str] = field(default_factory=list)
    screenshot: str = ""

    def __str__(self) -> str:
        head = f"[{self.who} · {self.mode}] {self.url} ({self.name})"
        lines = [head, *(f"  {problem}" for problem in self.problems)]
        if self.screenshot:
            lines.append(f"  screenshot: {self.screenshot}")
        return "\n".join(lines)


def listed(title: str, elements: list[dict]) -> str:
    shown = [f'{e["selector"]} "{e["text"]}" {e["size"]}' for e in elements[:LISTED]]
    more = len(elements) - LISTED
    if more > 0:
        shown.append(f"… and {more} more")
    return f"{title}:\n    " + "\n    ".join(shown)


def view_name(url: str, origin: str) -> str | None:
    """The URL name of a same-origin page the crawl may open, else None."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or f"{parts.scheme}://{parts.netloc}" != origin:
        return None
    if FILE.search(parts.path):
        return None
    try:
        name = resolve(parts.path).view_name
    except Resolver404:
        return None  # static files, media
    if name in NOT_PAGES or any(word in name for word in ("export", "download", "pdf")):
        return None
    return name


def check(page, mode: Mode) -> list[str]:
    """What is wrong with the page open in ``page`` (at 360 px), in the words of the rules."""
    problems = []
    if mode is ELDER and not page.evaluate("document.documentElement.classList.contains('elder')"):
        problems.append("长辈版 is not on: <html> has no class elder")
    sizes = page.evaluate(SIZE_RULES, {"text": mode.text, "body": mode.body, "target": mode.target})
    if sizes["text"]:
        problems.append(listed(f"text under {mode.text} px", sizes["text"]))
    if sizes["body"]:
        problems.append(listed(f"body text or form field under {mode.body} px", sizes["body"]))
    if sizes["targets"]:
        problems.append(listed(f"targets under {mode.target}×{mode.target} px", sizes["targets"]))
    page.add_script_tag(path=str(AXE))
    for rule in page.evaluate(RUN_AXE, AXE_TAGS):
        nodes = [
            {"selector": node["target"], "text": node["html"][:80], "size": ""}
            for node in rule["nodes"]
        ]
        problems.append(listed(f"axe {rule['id']} ({rule['impact']}): {rule['help']}", nodes))
    page.set_viewport_size(ZOOMED)
    overflow = page.evaluate(OVERFLOW)
    page.set_viewport_size(PHONE)
    if overflow["scrollWidth"] > overflow["width"]:
        problems.append(
            listed(
                f"scrolls sideways at 200 % zoom: {overflow['scrollWidth']} px wide "
                f"in a {overflow['width']} px viewport; sticking out",
                overflow["culprits"],
            )
        )
    return problems


SAME_FOR_EVERYONE = {
    "login",
    "public:report",
    "public:join",
    "public:reported",
    "public:track",
    "public:track_issue",
    "public:transparency",
    "public:rate",
}


def same_for_everyone(name: str) -> bool:
    """The public pages and the login page: checked once per mode, as the resident sees them."""
    return name in SAME_FOR_EVERYONE


def crawl(
    page, *, who: str, mode: Mode, starts: list[str], origin: str, shots: Path, shared: set[str]
):
    """Visit each kind of page ``who`` can reach from ``starts``; yield each with what is wrong.

    ``shared`` holds the pages that are the same for everyone already opened by a role
    before; this role opens the others and adds its own.
    """
    queue = deque(starts)
    opened: set[str] = set()

    def seen(name: str) -> bool:
        return name in opened or (same_for_everyone(name) and name in shared)

    def open_(name: str) -> None:
        opened.add(name)
        if same_for_everyone(name):
            shared.add(name)

    while queue and len(opened) < PAGES_PER_ROLE:
        url = queue.popleft()
        name = view_name(url, origin)
        if name is None or seen(name):
            continue
        open_(name)
        try:
            response = page.goto(url)
        except PlaywrightError as error:
            if "Download is starting" in str(error):
                continue  # a file under a name the lists above do not know: not a page
            raise
        landed = view_name(page.url, origin) or name
        if landed != name:
            if seen(landed):
                continue
            open_(landed)
        finding = Visit(who, mode, page.url, landed)
        status = response.status if response else 0
        content_type = response.headers.get("content-type", "") if response else ""
        if status >= 400:
            finding.problems.append(f"answers HTTP {status}")
        elif content_type.startswith("text/html"):
            finding.problems.extend(check(page, mode))
            links = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
            queue.extend(urlunsplit(urlsplit(link)._replace(fragment="")) for link in links)
        if finding.problems:
            path = shots / f"{mode}-{who}-{landed.replace(':', '-')}.png"
            page.screenshot(path=path, full_page=True)
            finding.screenshot = str(path.relative_to(shots.parent.parent))
        yield finding


@pytest.fixture
def demo(transactional_db, live_server) -> dict[str, object]:
    """The demo data; 马南社区's transparency page published, as its staff would."""
    call_command("seed_demo", stdout=StringIO())
    manan = Community.objects.get(name="马南社区")
    member_actions.community_transparency_set(
        actor=User.objects.get(username="manan_staff"), community=manan, public=True
    )
    token = public_form_token(manan)
    url = live_server.url
    return {
        "origin": url,
        "resident": [
            url + reverse("public:report", args=[token]),
            url + reverse("public:track"),
            url + reverse("public:transparency", args=[token]),
        ],
    }


@pytest.fixture
def crawl_shots(artefacts) -> Path:
    folder = artefacts / "crawl"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("mode", [DEFAULT, ELDER], ids=str)
def test_every_page_a_role_reaches_meets_the_phone_rules(mode, demo, browser, crawl_shots, log_in):
    for old in crawl_shots.glob(f"{mode}-*.png"):
        old.unlink()
    pages: list[Visit] = []
    shared: set[str] = set()
    for who in [RESIDENT, *ACCOUNTS]:
        context = browser.new_context(viewport=PHONE, locale=DEFAULT_LOCALE, bypass_csp=True)
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            if who == RESIDENT:
                starts = demo["resident"]
                page.goto(starts[0])
            else:
                log_in(page, who, DEMO_PASSWORD)
                starts = [demo["origin"] + reverse("home")]
            if mode is ELDER:
                switch = page.locator("header [data-elder-switch]")
                if not switch.count():
                    pytest.fail(f"{who}: no 长辈版 switch in the header of {page.url}")
                with page.expect_navigation():
                    switch.click()
            pages.extend(
                crawl(
                    page,
                    who=who,
                    mode=mode,
                    starts=starts,
                    origin=demo["origin"],
                    shots=crawl_shots,
                    shared=shared,
                )
            )
        finally:
            context.close()
    findings = [visit for visit in pages if visit.problems]
    report = "\n\n".join(str(finding) for finding in findings)
    opened = "\n".join(
        f"  {who}: {', '.join(visit.name for visit in pages if visit.who == who)}"
        for who in [RESIDENT, *ACCOUNTS]
    )
    (crawl_shots / f"report-{mode}.txt").write_text(
        f"{report or 'No page breaks a rule.'}\n\n{len(pages)} pages opened:\n{opened}\n"
    )
    assert not findings, f"{len(findings)} pages break the rules in {mode} mode:\n\n{report}"


RULES_PAGE = """<!doctype html><html lang="en"><head><title>Rules</title><style>
body { font-size: 18px; margin: 0 }
.small { font-size: 12px }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0) }
.skip { position: absolute; left: -999px }
.big { display: inline-flex; align-items: center; min-height: 44px; min-width: 44px }
td[data-label]::before { content: attr(data-label) ": "; font-size: 13px }
.wide { width: 300px }
</style></head><body><main>
<h1>Rules</h1>
<a class="skip" href="#main">Skip to content</a>
<p>Read the <a href="#rules">rules</a> before you start.</p>
<p><a href="#alone">Alone</a></p>
<p class="small">Tiny print</p>
<span class="visually-hidden">Read by screen readers only</span>
<a class="big" href="#big">Big enough</a>
<label><input type="checkbox"> Wrapped</label>
<input type="checkbox" id="beside"><label for="beside" class="big">Beside</label>
<table><tr><td data-label="Figure">1</td></tr></table>
<details><summary class="big">More</summary><p class="small">Folded away</p></details>
<div class="wide">Too wide</div>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
</main></body></html>"""


def test_the_rules_flag_what_they_say_and_nothing_else(browser):
    """The checker itself, on a page made to break each rule once, and to keep each exemption."""
    context = browser.new_context(viewport=PHONE, locale=DEFAULT_LOCALE)
    try:
        page = context.new_page()
        page.set_content(RULES_PAGE)
        report = "\n".join(check(page, DEFAULT))
    finally:
        context.close()
    flagged = {
        "text under 16 px": [
            'p.small:nth-of-type(3) "Tiny print" 12 px',
            'td::before "Figure:" 13 px',
        ],
        "targets under 44×44 px": [
            'p:nth-of-type(2) > a "Alone"',
            'label:nth-of-type(1) "Wrapped"',
        ],
        "axe image-alt": ["img"],
        "scrolls sideways at 200 % zoom": ['div.wide "Too wide"'],
    }
    for rule, elements in flagged.items():
        assert rule in report, report
        for element in elements:
            assert element in report, (element, report)
    for kept in ['"rules"', "Skip to content", "screen readers", "Big enough", "Beside", "Folded"]:
        assert kept not in report, (kept, report)
    assert "body text" not in report, report
