"""A small reusable base for simulated platform APIs served over real HTTP on loopback.

Clients are tested through their real HTTP stack (connection pooling, timeouts, redirects,
body decoding), so a simulator listens on 127.0.0.1 at an ephemeral port, answered by one
event loop in a daemon thread (`watcher.sim.serving`). The base owns what every simulated
platform needs: request parsing, JSON/error responses, a tiny router, latency, fault
injection, request hooks and a request log. A subclass only implements `route()`.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import ClassVar, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from watcher.sim.serving import LoopServer

FaultKind = Literal["status", "timeout", "malformed", "truncated"]
MALFORMED_BODY = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


class Headers(Mapping[str, str]):
    """Request headers with case-insensitive lookup (names iterate lower-cased)."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = {name.lower(): value for name, value in items}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass(slots=True)
class SimRequest:
    """One request as the simulator saw it; `status` is filled in once it is answered."""

    method: str
    path: str  # percent-decoded, without the query string
    query: dict[str, str]  # a repeated parameter keeps its last value
    headers: Headers
    index: int  # 0-based position among the requests since the last reset_log()
    body: bytes = b""
    status: int | None = None
    query_all: dict[str, list[str]] = field(default_factory=dict)  # every value, in order


@dataclass(slots=True)
class SimResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "application/json"


def json_response(
    data: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> SimResponse:
    body = json.dumps(data, separators=(",", ":")).encode()
    return SimResponse(status, body, dict(headers or {}))


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> SimResponse:
    """The `{"code": N, "error": "..."}` shape both simulated platforms use."""
    return json_response({"code": status, "error": message}, status, headers)


def redirect_response(location: str, status: int = 302) -> SimResponse:
    return SimResponse(status, b"", {"Location": location}, content_type=None)


RouteHandler = Callable[[SimRequest, dict[str, str]], SimResponse]


class Router:
    """Method + regex path patterns (full match) -> handler called with the named groups."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], RouteHandler]] = []

    def add(self, method: str, pattern: str, handler: RouteHandler) -> None:
        self._routes.append((method.upper(), re.compile(pattern), handler))

    def dispatch(self, request: SimRequest, path: str) -> SimResponse | None:
        """The handler's answer, or None when no route matches `path` for this method."""
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match is not None and method == request.method:
                return handler(request, match.groupdict())
        return None


@dataclass(slots=True)
class Fault:
    """One injected failure; see `Faults.add` for the meaning of each field."""

    path_contains: str
    kind: FaultKind
    status: int
    times: int | None
    after: int
    delay: float
    body: bytes | None
    headers: dict[str, str]
    method: str | None
    seen: int = 0  # matching requests so far
    fired: int = 0

    def matches(self, request: SimRequest) -> bool:
        if self.method is not None and self.method.upper() != request.method:
            return False
        return self.path_contains in request.path

    @property
    def spent(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def error(self) -> SimResponse:
        """The answer of a `status` fault: the given body, or a JSON error in the usual shape."""
        if self.body is not None:
            return SimResponse(self.status, self.body, dict(self.headers))
        try:
            message = HTTPStatus(self.status).phrase.lower()
        except ValueError:
            message = "simulated failure"
        return error_response(self.status, message, self.headers)


class Faults:
    """Failures to inject into upcoming requests, consulted in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        path_contains: str = "",
        *,
        kind: FaultKind = "status",
        status: int = 500,
        times: int | None = 1,
        after: int = 0,
        delay: float = 5.0,
        body: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        method: str | None = None,
    ) -> Fault:
        """Make requests whose path contains `path_contains` fail.

        kind: `status` answers `status` (JSON error body unless `body` is given, plus
        `headers`); `timeout` sleeps `delay` seconds then answers normally; `malformed`
        answers 200 with a body that is not JSON; `truncated` answers 200 with the normal
        JSON body cut in half (Content-Length matches what is sent).
        after: let the first `after` matching requests through untouched.
        times: how many requests fail (None: all of them, until `clear()`).
        """
        if kind not in ("status", "timeout", "malformed", "truncated"):
            raise ValueError(f"unknown fault kind {kind!r}")
        fault = Fault(
            path_contains=path_contains,
            kind=kind,
            status=status,
            times=times,
            after=after,
            delay=delay,
            body=body.encode() if isinstance(body, str) else body,
            headers=dict(headers or {}),
            method=method,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def __len__(self) -> int:
        """Faults still armed."""
        with self._lock:
            return sum(not fault.spent for fault in self._faults)

    def take(self, request: SimRequest) -> Fault | None:
        """The fault that fires for `request`, if any; counts it against its `after`/`times`."""
        with self._lock:
            chosen: Fault | None = None
            for fault in self._faults:
                if fault.spent or not fault.matches(request):
                    continue
                fault.seen += 1
                if chosen is None and fault.seen > fault.after:
                    fault.fired += 1
                    chosen = fault
            return chosen


Hook = Callable[[SimRequest], None]


class SimServer:
    """Base of a simulated API: serving machinery around the subclass's `route()`."""

    base_path: ClassVar[str] = ""  # prefix of `base_url`, e.g. "/v1"

    def __init__(self, *, log_limit: int | None = 100_000) -> None:
        self.latency = 0.0
        self.faults = Faults()
        self.errors: list[BaseException] = []  # exceptions raised by routes and hooks
        self._hooks: list[Hook] = []
        # Requests between arrival and answer, now and at most (tests of max_concurrent).
        self.in_flight = 0
        self.most_in_flight = 0
        self._log: deque[SimRequest] = deque(maxlen=log_limit)
        self._count = 0
        self._log_lock = threading.Lock()
        self._server: LoopServer | None = None

    # -- to implement -------------------------------------------------------------------

    def route(self, request: SimRequest) -> SimResponse:
        """Answer one request (run in the server's thread; lock state the caller's thread
        changes too). It runs on the server's event loop, so it must not block."""
        raise NotImplementedError

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        return f"http://127.0.0.1:{self._server.port}{self.base_path}"

    def start(self, port: int = 0) -> str:
        """Listen on a loopback port (0: an ephemeral one); returns the base URL clients should
        use. A port already in use raises the OSError of the bind."""
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        server = LoopServer(self.process, name=f"{type(self).__name__}-http", port=port)
        server.start()
        self._server = server
        return self.base_url

    def stop(self) -> None:
        """Stop serving, drop open connections and cancel requests waiting out latency/faults."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    @contextmanager
    def serve(self) -> Iterator[str]:
        """`with sim.serve() as base_url:` runs the simulator for the block."""
        base_url = self.start()
        try:
            yield base_url
        finally:
            self.stop()

    # -- observation and control ----------------------------------------------------------

    def on_request(self, hook: Hook) -> Hook:
        """Call `hook(request)` before each request is served, in the server's thread (tests
        use it to change state mid-paging). Returns the hook, so it works as a decorator."""
        self._hooks.append(hook)
        return hook

    def remove_hook(self, hook: Hook) -> None:
        self._hooks.remove(hook)

    @property
    def requests(self) -> list[SimRequest]:
        """The served requests since the last reset (the newest `log_limit` of them)."""
        with self._log_lock:
            return list(self._log)

    @property
    def request_count(self) -> int:
        """How many requests arrived since the last reset (not capped by `log_limit`)."""
        with self._log_lock:
            return self._count

    def reset_log(self) -> None:
        with self._log_lock:
            self._log.clear()
            self._count = 0

    # -- the request pipeline (the server's event loop) -------------------------------------

    async def process(
        self, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> SimResponse:
        """Log, delay, run hooks, inject any fault, route: the answer to one HTTP request."""
        request = self._record(method, target, headers, body)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            response = self._run_hooks(request) or await self._answer(request)
        finally:
            self.in_flight -= 1
        request.status = response.status
        return response

    def _record(
        self, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> SimRequest:
        parts = urlsplit(target)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query_all: dict[str, list[str]] = {}
        for name, value in pairs:
            query_all.setdefault(name, []).append(value)
        with self._log_lock:
            request = SimRequest(
                method, unquote(parts.path), dict(pairs), Headers(headers), self._count
            )
            request.body = body
            request.query_all = query_all
            self._count += 1
            self._log.append(request)
        return request

    def _run_hooks(self, request: SimRequest) -> SimResponse | None:
        for hook in list(self._hooks):
            try:
                hook(request)
            except Exception as exc:  # a broken hook must show up, not hang the client
                self.errors.append(exc)
                return error_response(500, f"simulator hook failed: {exc!r}")
        return None

    async def _answer(self, request: SimRequest) -> SimResponse:
        fault = self.faults.take(request)
        if fault is not None and fault.kind == "status":
            return fault.error()
        if fault is not None and fault.kind == "timeout":
            await asyncio.sleep(fault.delay)
        response = self._route_safely(request)
        if fault is not None and fault.kind == "malformed":
            return SimResponse(200, MALFORMED_BODY)
        if fault is not None and fault.kind == "truncated":
            return replace(response, status=200, body=response.body[: len(response.body) // 2])
        return response

    def _route_safely(self, request: SimRequest) -> SimResponse:
        try:
            return self.route(request)
        except Exception as exc:
            self.errors.append(exc)
            return error_response(500, f"simulator error: {exc!r}")
