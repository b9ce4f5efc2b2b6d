"""What keeps the dashboard safe: strangers' text never executes or breaks out of its place,
every response carries the security headers, `[http] token` guards every route but /healthz
(the login form, the cookie, the bearer token), and an open dashboard is warned about."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from aiohttp import web

from tests.dashboard import Page, healthy, no_metrics, serving
from tests.receiver import Receiver
from tests.world import AudiusWorld, SoundCloudWorld, World
from watcher import logs
from watcher.clock import FakeClock
from watcher.config import HttpSettings, load
from watcher.store import Store
from watcher.web.app import build_app
from watcher.web.auth import COOKIE, session_of
from watcher.web.server import WebServer
from watcher.web.serving import endpoint

TOKEN = "k3Yf9-pQ2xV7aL0sT4mW8rZ1"
RLO = "\u202e"
# A name that tries everything: markup, a script, breaking out of an attribute, bidi reversal.
HOSTILE_NAME = f'<script>alert(1)</script>"onmouseover="alert(2)\' {RLO}gnp.exe'
PAGES = ("/", "/trending", "/deliveries?show=all", "/deliveries")


def hostile_world(world: World[Any], hook: Receiver) -> None:
    """A curator and a scout following hostile accounts (their names, and on SoundCloud their
    profile URLs: `javascript:` and `data:`), which trend, with a dead delivery naming one."""
    sim = world.sim
    world.webhook("crm", hook.url("/hook"))
    if world.platform == "soundcloud":
        evil = sim.add_user("evil-1", HOSTILE_NAME)
        other = sim.add_user("evil-2", "<img src=x onerror=alert(4)>")
        sim.set_permalink_url(evil, "javascript:alert(3)")
        sim.set_permalink_url(other, "data:text/html,<script>alert(5)</script>")
        curator = sim.add_user("curator", f"<b>Curator</b>{RLO}")
    else:
        evil = sim.add_user('"onmouseover=alert(1)', HOSTILE_NAME)
        other = sim.add_user("<img_src=x_onerror=alert(4)>", "<img src=x onerror=alert(4)>")
        curator = sim.add_user("curator", f"<b>Curator</b>{RLO}")
    scout = sim.add_user("scout", "Scout")
    sim.follow_many(curator, sim.add_users(2, prefix="plain"))
    sim.follow_many(scout, sim.add_users(2, prefix="calm"))
    world.watch("curator", "crm")
    world.watch("scout")
    world.poll_all()
    for follower in (curator, scout):
        sim.follow_many(follower, [evil, other])
    world.poll_all()
    hook.reply(400)
    world.dispatch()


def test_a_hostile_profile_renders_inert_on_every_page(
    either: AudiusWorld | SoundCloudWorld,
) -> None:
    world = either
    with Receiver() as hook:
        hostile_world(world, hook)
    store = world.store()
    try:
        curator = next(row for row in store.watches.all() if row.account == "curator")
    finally:
        store.close()
    account = f"/accounts/{world.platform}/{quote(str(curator.account_id), safe='')}"
    paths = [*PAGES, "/events", "/events?account=curator", account, f"{account}?q=%3Cscript"]
    with serving(world.config(), clock=world.clock) as base:
        bodies = {path: httpx.get(base + path, timeout=10) for path in paths}
    for path, response in bodies.items():
        assert response.status_code == 200, path
        html = response.text
        assert "<script" not in html.lower(), path  # the pages have no script of their own
        assert "<img src=x" not in html and "<b>" not in html, path
        page = Page(html)
        assert not [name for _, attrs in page.tags for name in attrs if name.startswith("on")]
        for name in ("href", "src", "action"):
            for value in page.attributes(name):
                assert value.startswith(("/", "http://", "https://")), (path, name, value)
        # Strangers' text with a bidi override sits inside an isolate, so it cannot reverse
        # the text after it.
        for text, around in page.texts:
            if RLO in text:
                assert "bdi" in around, (path, text)
    overview = Page(bodies["/"].text).text
    assert "<script>alert(1)</script>" in overview  # shown as text, escaped in the HTML
    assert "<script>alert(1)</script>" in Page(bodies["/trending"].text).text
    assert "<script>alert(1)</script>" in Page(bodies["/events"].text).text
    assert "<script>alert(1)</script>" in Page(bodies[account].text).text  # in its list
    assert "<script>alert(1)</script>" in Page(bodies[f"{account}?q=%3Cscript"].text).text
    shown = Page(bodies["/deliveries"].text).text  # the dead delivery, named by its event
    assert "(<img src=x onerror=alert(4)>)" in shown and "HTTP 400" in shown


def test_every_response_carries_the_security_headers(audius: AudiusWorld) -> None:
    audius.curator(3)
    audius.watch("curator")
    audius.poll()
    store = audius.store()
    watch_id = store.watches.all()[0].id
    store.close()
    with serving(audius.config(), clock=audius.clock) as base:
        client = httpx.Client(base_url=base, timeout=10)
        responses = {
            "page": client.get("/"),
            "trending": client.get("/trending?window=nope"),
            "static": client.get("/static/watcher.css"),
            "chart": client.get(f"/charts/watches/{watch_id}/size.svg"),
            "missing": client.get("/nope"),
            "method": client.post("/"),
            "health": client.get("/healthz"),
            "metrics": client.get("/metrics"),
        }
        client.close()
    assert [r.status_code for r in responses.values()] == [200, 400, 200, 200, 404, 405, 200, 200]
    for kind, response in responses.items():
        headers = response.headers
        policy = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy, kind
        assert headers["x-content-type-options"] == "nosniff", kind
        assert headers["referrer-policy"] == "no-referrer", kind
        if kind != "chart":
            assert "script-src 'self'" in policy and "object-src 'none'" in policy, kind
            assert "base-uri 'none'" in policy and "unsafe" not in policy, kind
    chart_policy = responses["chart"].headers["content-security-policy"]
    assert "script-src" not in chart_policy  # default-src 'none': no script at all
    assert responses["static"].headers["cache-control"].startswith("public")
    assert responses["page"].headers["cache-control"] == "no-store"
    page = Page(responses["page"].text)
    # Nothing the policy forbids: no inline style or script, no handler attributes.
    assert not [a for _, a in page.tags if "style" in a] and "<style" not in page.html
    assert not page.all("script")


@pytest.fixture
def guarded(audius: AudiusWorld) -> AudiusWorld:
    audius.curator(3)
    audius.watch("curator")
    audius.tables["http"] = {"token": TOKEN}
    audius.poll()
    return audius


def test_the_token_is_asked_for_everywhere_but_healthz(guarded: AudiusWorld) -> None:
    html = {"Accept": "text/html"}
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    with serving(guarded.config(), clock=guarded.clock) as base:
        client = httpx.Client(base_url=base, timeout=10)
        # The feeds and the API are the dashboard's routes too, behind the same token.
        others = ["/feed.atom", "/api/events", "/api/watches"]
        refused = [client.get(path).status_code for path in others]
        taken = [client.get(path, headers=bearer).status_code for path in others]
        browser = client.get("/trending?window=3d", headers=html)
        script = client.get("/")
        metrics = client.get("/metrics")
        wrong = client.get("/", headers={"Authorization": f"Bearer {TOKEN}x"})
        right = client.get("/", headers={"Authorization": f"Bearer {TOKEN}"})
        health = client.get("/healthz")
        style = client.get("/static/watcher.css")
        client.close()
    assert browser.status_code == 303
    login = httpx.URL(browser.headers["location"])
    assert login.path == "/login" and login.params["next"] == "/trending?window=3d"
    assert script.status_code == 401 and metrics.status_code == 401 and wrong.status_code == 401
    assert script.headers["www-authenticate"] == 'Bearer realm="watcher"'
    assert "content-security-policy" in script.headers  # errors are protected too
    assert right.status_code == 200 and "Overview" in right.text
    assert health.status_code == 200 and style.status_code == 200
    assert refused == [401, 401, 401] and taken == [200, 200, 200]


def test_logging_in_sets_a_cookie_that_is_not_the_token(guarded: AudiusWorld) -> None:
    with serving(guarded.config(), clock=guarded.clock) as base:
        client = httpx.Client(base_url=base, timeout=10)
        form = client.get("/login?next=/deliveries")
        refused = client.post("/login", data={"token": "guess-guess-guess", "next": "/"})
        accepted = client.post("/login", data={"token": TOKEN, "next": "/deliveries"})
        cookie = client.cookies.get(COOKIE)
        inside = client.get("/deliveries")
        again = client.get("/login")  # logged in: the form sends you on
        away = client.post("/login", data={"token": TOKEN, "next": "//elsewhere.example/"})
        out = client.post("/logout")
        after = httpx.get(base + "/", headers={"Accept": "text/html"}, timeout=10)
        forged = httpx.get(base + "/", cookies={COOKIE: "0" * 64}, timeout=10)
        client.close()
    assert form.status_code == 200 and 'value="/deliveries"' in form.text
    assert refused.status_code == 401 and "That is not the token." in Page(refused.text).text
    assert accepted.status_code == 303 and accepted.headers["location"] == "/deliveries"
    set_cookie = accepted.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "Path=/" in set_cookie
    assert TOKEN not in set_cookie and cookie == session_of(TOKEN)
    assert inside.status_code == 200 and "Outbox" in inside.text
    assert again.status_code == 303 and again.headers["location"] == "/"
    assert away.headers["location"] == "/"  # never to another host
    assert out.status_code == 303 and f"{COOKIE}=" in out.headers["set-cookie"]
    assert after.status_code == 303 and forged.status_code == 401


def test_the_token_guards_routes_other_modules_add(guarded: AudiusWorld) -> None:
    """The feeds and the JSON API are added by modules of their own: the check is the
    application's, not each route's."""
    config = guarded.config()

    async def elsewhere(request: web.Request) -> web.Response:
        return web.json_response({"secret": "data"})

    async def go() -> tuple[int, int, str]:
        app = build_app(
            lambda: config, config.database_path, FakeClock(), health=healthy, scrape=no_metrics
        )
        app.router.add_get("/api/elsewhere", elsewhere)
        server = WebServer(app, "127.0.0.1", 0, "127.0.0.1:0")
        base = await server.start()
        try:
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                bare = await client.get("/api/elsewhere")
                bearer = {"Authorization": f"Bearer {TOKEN}"}
                allowed = await client.get("/api/elsewhere", headers=bearer)
        finally:
            await server.close()
        return bare.status_code, allowed.status_code, bare.headers["content-security-policy"]

    bare, allowed, policy = asyncio.run(go())
    assert (bare, allowed) == (401, 200) and "default-src 'none'" in policy


@pytest.mark.parametrize(
    ("listen", "token", "warned"),
    [
        ("0.0.0.0:0", None, True),
        ("[::]:0", None, True),
        ("0.0.0.0:0", TOKEN, False),
        ("127.0.0.1:0", None, False),
        ("localhost:0", None, False),
        ("[::1]:0", None, False),
    ],
)
def test_a_dashboard_open_beyond_this_machine_without_a_token_is_warned_about_once(
    audius: AudiusWorld,
    caplog: pytest.LogCaptureFixture,
    listen: str,
    token: str | None,
    warned: bool,
) -> None:
    Store.open(audius.db_path).close()
    config = audius.config()
    config = config.model_copy(update={"http": HttpSettings(listen=listen, token=token)})
    with caplog.at_level(logging.WARNING, logger="watcher.web"):
        made = endpoint(
            lambda: config, audius.db_path, FakeClock(), health=healthy, scrape=no_metrics
        )
        asyncio.run(made.close())
    lines = [r.getMessage() for r in caplog.records if "open to anyone" in r.getMessage()]
    if warned:
        assert lines == [
            f"the dashboard on {listen} is open to anyone who can reach it: set [http] token"
            " (a secret of 16+ characters) to ask for it"
        ]
    else:
        assert lines == []


def test_the_token_is_a_secret_of_16_printable_characters_never_logged(tmp_path: Path) -> None:
    path = tmp_path / "watcher.toml"
    path.write_text('[http]\ntoken = "${WATCHER_HTTP_TOKEN}"\n', encoding="utf-8")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WATCHER_HTTP_TOKEN", TOKEN)
        config = load(path)
        assert config.http.token == TOKEN
        assert TOKEN not in logs.redact(f"Authorization: {TOKEN} in a line")
        for short in ("short", "with spaces in the middle!"):
            env.setenv("WATCHER_HTTP_TOKEN", short)
            with pytest.raises(Exception, match=r"http\.token: must"):
                load(path)
