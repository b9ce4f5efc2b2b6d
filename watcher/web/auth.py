"""`[http] token`: every route but /healthz (and the login form and the static files it needs)
asks for the token, as `Authorization: Bearer <token>` or the session cookie the login form
sets.

The cookie holds an HMAC of the token, never the token itself: it reveals nothing, changes
when the token does (every session ends), and survives a restart. Both are compared in
constant time. The check is a middleware of the whole application, so a route added by any
module is covered without asking for it.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler

from watcher.web.app_keys import CLOCK, TEMPLATES

COOKIE = "watcher_session"
COOKIE_DAYS = 30
LOGIN = "/login"
LOGOUT = "/logout"
# Reachable without the token: the health check, the login form and its stylesheet.
OPEN = frozenset({"/healthz", LOGIN})
OPEN_PREFIX = "/static/"
_SESSION_MESSAGE = b"watcher dashboard session"


def session_of(token: str) -> str:
    """The session cookie's value for `token`."""
    return hmac.new(token.encode(), _SESSION_MESSAGE, hashlib.sha256).hexdigest()


class TokenGate:
    """Whether a request carries the token (as a bearer token or the session cookie)."""

    def __init__(self, token: str) -> None:
        self._bearer = f"Bearer {token}".encode()
        self._token = token.encode()
        self.session = session_of(token)

    def allows(self, request: web.Request) -> bool:
        given = request.headers.get("Authorization")
        if given is not None:
            return hmac.compare_digest(given.encode(), self._bearer)
        return self.session_ok(request)

    def session_ok(self, request: web.Request) -> bool:
        cookie = request.cookies.get(COOKIE)
        return cookie is not None and hmac.compare_digest(cookie.encode(), self.session.encode())

    def token_ok(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self._token)


GATE = web.AppKey("token_gate", TokenGate)


def install(app: web.Application, token: str | None) -> None:
    """With a token: the middleware on every route, and the login and logout routes."""
    if token is None:
        return
    app[GATE] = TokenGate(token)
    app.middlewares.append(_require_token)
    app.router.add_get(LOGIN, _login_form)
    app.router.add_post(LOGIN, _log_in)
    app.router.add_post(LOGOUT, _log_out)


@web.middleware
async def _require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in OPEN or request.path.startswith(OPEN_PREFIX):
        return await handler(request)
    if request.app[GATE].allows(request):
        return await handler(request)
    if request.method in ("GET", "HEAD") and "text/html" in request.headers.get("Accept", ""):
        raise web.HTTPSeeOther(f"{LOGIN}?next={quote(request.path_qs, safe='/')}")
    raise web.HTTPUnauthorized(
        text="401: this dashboard needs its token: send `Authorization: Bearer <token>`,"
        f" or log in at {LOGIN}\n",
        headers={"WWW-Authenticate": 'Bearer realm="watcher"'},
    )


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path of this site only, never another host's URL."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(c) < 0x20 or c == "\\" for c in value):
        return "/"
    return value


async def _login_form(request: web.Request) -> web.StreamResponse:
    target = safe_next(request.query.get("next"))
    if request.app[GATE].session_ok(request):
        raise web.HTTPSeeOther(target)
    return _form(request, target, wrong=False)


async def _log_in(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    given, target = form.get("token"), safe_next(str(form.get("next") or ""))
    gate = request.app[GATE]
    if not isinstance(given, str) or not gate.token_ok(given.strip()):
        return _form(request, target, wrong=True)
    response = web.HTTPSeeOther(target)
    response.set_cookie(
        COOKIE,
        gate.session,
        max_age=COOKIE_DAYS * 86_400,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )
    raise response


async def _log_out(request: web.Request) -> web.StreamResponse:
    response = web.HTTPSeeOther(LOGIN)
    response.del_cookie(COOKIE, path="/")
    raise response


def _form(request: web.Request, target: str, *, wrong: bool) -> web.Response:
    return request.app[TEMPLATES].render(
        "login.html",
        {"next": target, "wrong": wrong, "title": "Log in"},
        now=request.app[CLOCK].now(),
        path=LOGIN,
        status=401 if wrong else 200,
    )
