"""The dashboard in a real browser: Debian's headless Chromium, driven by Playwright. It opens
the overview, sees the size charts drawn, follows an account's link to its page and sees its
history charts drawn, filters the events page with its form, follows the nav to the trending
page and uses its form, then the deliveries page, all with no console error, no
Content-Security-Policy violation and nothing a hostile profile could make run (no dialog)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, sync_playwright

from bench.screenshots import ARGS
from bench.screenshots import CHROMIUM as SCREENSHOT_CHROMIUM
from tests.dashboard import serving
from tests.world import AudiusWorld

CHROMIUM = Path(SCREENSHOT_CHROMIUM)
DAY = 86_400.0
# Gathers what a Content-Security-Policy refuses, from before the page's first byte.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium under Playwright. Started after the test's polls: Playwright's sync
    API keeps an event loop on this thread, and a poll runs one of its own."""
    if not CHROMIUM.exists():
        pytest.fail(
            "the dashboard's browser test needs Debian's Chromium at /usr/bin/chromium:"
            " install it with `apt-get install -y chromium` (.ci/run does when it is missing)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def a_month_of_polls(world: AudiusWorld) -> None:
    """Three tastemakers polled once a day for 12 days, their lists growing, two of them
    following one newcomer (so it trends), one of them a hostile profile."""
    sim = world.sim
    users = []
    for number in range(1, 4):
        user = sim.add_user(f"taste{number}", f'Taste <img src=x onerror="alert({number})">')
        sim.follow_many(user, sim.add_users(4 + number, prefix=f"own{number}"))
        world.watch(f"taste{number}")
        users.append(user)
    for day in range(12):
        if day:
            world.clock.advance(DAY - world.settle)
        for user in users[: 1 + day % 3]:
            sim.follow(user, sim.add_users(1, prefix=f"day{day}")[0])
        world.poll_all()
    newcomer = sim.add_user("newcomer", '"><script>alert("newcomer")</script>')
    for user in users[:2]:
        sim.follow(user, newcomer)
    world.poll_all()


def test_a_person_reads_the_overview_an_account_the_events_and_the_trending_form(
    audius: AudiusWorld,
) -> None:
    a_month_of_polls(audius)
    problems: list[str] = []
    dialogs: list[str] = []
    with serving(audius.config(), clock=audius.clock) as base, chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.add_init_script(WATCH_VIOLATIONS)

        def on_console(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning"):
                problems.append(f"console {message.type}: {message.text}")

        def on_dialog(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("console", on_console)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("dialog", on_dialog)

        page.goto(base + "/")
        page.wait_for_load_state("networkidle")
        charts = page.locator("td.spark img")
        assert charts.count() == 3
        first = charts.first
        box = first.bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0
        drawn = first.evaluate("img => img.complete && img.naturalWidth > 0")
        assert drawn, "the size chart was not drawn"
        assert page.locator("text=@taste1").count() >= 1
        violations: list[Any] = page.evaluate("window.__violations")
        problems += [f"CSP: {v}" for v in violations]

        page.click("td.account-cell a.account >> nth=0")
        page.wait_for_url("**/accounts/audius/*")
        page.wait_for_load_state("networkidle")
        assert "@taste1" in page.inner_text("h1")
        drawn_charts = page.locator("img.chart")
        assert drawn_charts.count() == 2
        for index in range(2):
            chart = drawn_charts.nth(index)
            box = chart.bounding_box()
            assert box is not None and box["width"] > 0 and box["height"] > 0
            assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
        assert page.locator("table.members tbody tr").count() == 18  # 5 own, 12 daily, newcomer
        problems += [f"CSP: {v}" for v in page.evaluate("window.__violations")]

        page.click("nav >> text=Events")
        page.wait_for_url("**/events")
        every = page.locator("table.events tbody tr").count()
        page.fill("input[name=account]", "taste2")
        page.select_option("select[name=type]", "following.added")
        page.click("form.controls button[type=submit]")
        page.wait_for_url("**/events?account=taste2*")
        mine = page.locator("table.events tbody tr").count()
        assert 0 < mine < every
        assert page.locator("table.events tbody tr >> text=@taste1").count() == 0
        problems += [f"CSP: {v}" for v in page.evaluate("window.__violations")]

        page.click("nav >> text=Trending")
        page.wait_for_url("**/trending")
        assert page.locator("table tbody tr").count() == 1
        page.fill("input[name=window]", "3d")
        page.fill("input[name=min]", "3")
        page.click("form.controls button[type=submit]")
        page.wait_for_url("**/trending?window=3d&min=3&platform=")
        assert "No target followed by 3+ watched accounts in the last 3 days." in (
            page.inner_text("main")
        )
        problems += [f"CSP: {v}" for v in page.evaluate("window.__violations")]

        page.click("nav >> text=Deliveries")
        page.wait_for_url("**/deliveries")
        assert "No [notifiers.*] in the config" in page.inner_text("main")
        problems += [f"CSP: {v}" for v in page.evaluate("window.__violations")]
        context.close()
    assert problems == []
    assert dialogs == []  # nothing the hostile names hold ran
