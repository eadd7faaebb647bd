"""The pieces of volunteer work and figures on a 360 px phone, in the default mode and in
长辈版: a matter's volunteer work and its planning form, the activity's photos and closing,
the ledger's export, the public thanks (the form and the transparency page) and the
dashboards' volunteer figures. Sizes are measured as tests/browser/test_every_page.py
measures them (page_rules.js, page_overflow.js), with axe-core's WCAG 2.1 AA rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from members import actions as members_actions
from public.views import public_form_token
from tests.browser.conftest import DEFAULT_LOCALE, PHONE_WIDTH
from tests.helpers import volunteers as build
from tests.helpers.photos import jpeg
from volunteers.actions import activities, teams

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
SIZE_RULES = (HERE / "page_rules.js").read_text()
OVERFLOW = (HERE / "page_overflow.js").read_text()
AXE = HERE / "vendor" / "axe-core-4.14.1" / "axe.min.js"
RUN_AXE = """tags => axe
  .run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})
  .then(result => result.violations.map(rule => rule.id + ": " +
    rule.nodes.map(node => node.target.join(" ")).join(", ")))"""
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# (mode, any visible text, body text and fields, tap targets), as the page crawl's rules.
MODES = [("default", 16, 18, 44), ("elder", 22, 22, 60)]


def problems(page, text: int, body: int, target: int) -> list[str]:
    found = []
    sizes = page.evaluate(SIZE_RULES, {"text": text, "body": body, "target": target})
    for rule in ("text", "body", "targets"):
        found += [f"{rule}: {item['selector']} {item['text']!r} {item['size']}"
                  for item in sizes[rule]]  # fmt: skip
    page.add_script_tag(path=str(AXE))
    found += [f"axe {violation}" for violation in page.evaluate(RUN_AXE, TAGS)]
    page.set_viewport_size({"width": PHONE_WIDTH // 2, "height": 400})  # 200 % zoom
    overflow = page.evaluate(OVERFLOW)
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 800})
    if overflow["scrollWidth"] > overflow["width"]:
        found.append(f"scrolls sideways at 200 %: {overflow['culprits']}")
    return found


@pytest.mark.parametrize(("mode", "text", "body", "target"), MODES, ids=[m[0] for m in MODES])
def test_the_new_pieces_fit_a_phone_in_both_modes(
    transactional_db, clock, manan, nanen, manan_staff, nanen_admin, live_server, browser,
    log_in, mode, text, body, target,
):  # fmt: skip
    now = timezone.now().replace(second=0, microsecond=0)
    lane = build.decided_matter(manan, manan_staff, "solve_by_council",
                                at=now + dt.timedelta(minutes=30))  # fmt: skip
    bees = build.team(manan, manan_staff, name="小蜜蜂")
    wang = build.volunteer(bees, manan_staff, "王秀兰", account="wang_volunteer", leader=True)
    done = activities.activity_create(
        team=bees, title="清理二巷", place="二巷东口", starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=1), headcount=3, actor=manan_staff, issue=lane,
    )  # fmt: skip
    build.served(done, wang, manan_staff, in_at=now - dt.timedelta(hours=1),
                 out_at=now - dt.timedelta(minutes=10))  # fmt: skip
    activities.activity_photos_add(activity=done, actor=manan_staff, uploads=[jpeg()])
    activities.activity_close(activity=done, actor=wang.user)
    coming = activities.activity_create(
        team=bees, title="清理三巷", place="三巷", starts_at=now + dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=1, hours=2), headcount=3, actor=manan_staff, issue=lane,
    )  # fmt: skip
    activities.activity_photos_add(activity=coming, actor=manan_staff, uploads=[jpeg()])
    teams.membership_thanks_set(membership=wang.memberships.get(), consent=True, name="王阿姨",
                                actor=wang.user)  # fmt: skip
    members_actions.community_transparency_set(actor=manan_staff, community=manan, public=True)

    pages = {
        "manan_staff": [
            reverse("issues:detail", args=[lane.pk]),
            reverse("volunteers:matter_activity_create", args=[lane.pk]),
            reverse("volunteers:activity", args=[coming.pk]),
            reverse("volunteers:teams", args=[manan.pk]),
            reverse("volunteers:team", args=[bees.pk]),
            reverse("reports:community_dashboard", args=[manan.pk]),
        ],
        "wang_volunteer": [
            reverse("volunteers:mine"),
            reverse("volunteers:member_thanks", args=[wang.memberships.get().pk]),
            reverse("volunteers:activity", args=[done.pk]),
        ],
        "nanen_admin": [reverse("reports:street_dashboard", args=[nanen.pk])],
    }
    found = {}
    contexts = []

    def new_page():
        # As the page crawl: axe-core is injected, which the pages' CSP would block.
        context = browser.new_context(viewport={"width": PHONE_WIDTH, "height": 800},
                                      locale=DEFAULT_LOCALE, bypass_csp=True)  # fmt: skip
        contexts.append(context)
        return context.new_page()

    for who, urls in pages.items():
        page = new_page()
        log_in(page, who)
        if mode == "elder":
            with page.expect_navigation():
                page.locator("header [data-elder-switch]").click()
        for url in urls:
            page.goto(live_server.url + url)
            found[f"{who} {url}"] = problems(page, text, body, target)

    page = new_page()
    page.goto(live_server.url + reverse("home"))
    if mode == "elder":
        page.goto(live_server.url + reverse("public:transparency", args=[public_form_token(manan)]))
        with page.expect_navigation():
            page.locator("header [data-elder-switch]").click()
    page.goto(live_server.url + reverse("public:transparency", args=[public_form_token(manan)]))
    assert "王阿姨" in page.content()
    found["public transparency"] = problems(page, text, body, target)
    for context in contexts:
        context.close()
    assert {url: broken for url, broken in found.items() if broken} == {}
