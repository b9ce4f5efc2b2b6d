"""The simulated Audius API rations requests as API-NOTES says the real one does: per API key
(10 a second, 500,000 a month on the free plan) and, without a key, per address (about 5 a
second); over-limit requests get 429. Off by default; the clocks are injected."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.world import World
from watcher.sim.audius import AudiusSim, RateLimits

TLS = ssl.create_default_context()
KEY = "sim-key-0123456789"


class Clock:
    """Seconds that move only when the test says so."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(1000.0)


@pytest.fixture
def calendar() -> Clock:
    return Clock(datetime(2026, 7, 31, 23, 59, tzinfo=UTC).timestamp())


@pytest.fixture
def sim(clock: Clock, calendar: Clock) -> AudiusSim:
    return AudiusSim(seed=1, clock=clock, calendar=calendar, limits=RateLimits())


@pytest.fixture
def api(sim: AudiusSim) -> Iterator[httpx.Client]:
    with sim.serve() as base_url, httpx.Client(base_url=base_url, verify=TLS) as client:
        yield client


def statuses(api: httpx.Client, n: int, **params: str) -> list[int]:
    return [api.get("/users/eJ57D", params=params).status_code for _ in range(n)]


def test_limits_are_off_by_default(clock: Clock) -> None:
    sim = AudiusSim(seed=1, clock=clock)
    assert sim.limits is None
    with sim.serve() as base_url, httpx.Client(base_url=base_url, verify=TLS) as api:
        assert set(statuses(api, 40)) == {200}  # forty at one instant, no key


def test_a_keyed_client_at_its_rate_is_never_refused(
    sim: AudiusSim, api: httpx.Client, clock: Clock
) -> None:
    for _ in range(6):  # six seconds at the plan's ten a second, the first at one instant
        assert set(statuses(api, 10, api_key=KEY)) == {200}
        clock.now += 1.0
    evenly = []
    for _ in range(30):  # and spread evenly, at exactly the rate
        evenly.append(api.get("/users/eJ57D", params={"api_key": KEY}).status_code)
        clock.now += 0.1
    assert set(evenly) == {200}
    assert sim.used_this_month(KEY) == 90


def test_a_keyed_client_past_its_rate_gets_429_and_is_not_charged(
    sim: AudiusSim, api: httpx.Client, clock: Clock
) -> None:
    assert statuses(api, 12, api_key=KEY) == [200] * 10 + [429] * 2
    refused = api.get("/users/eJ57D", params={"api_key": KEY})
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert "Rate Limit Exceeded" in refused.json()["error"]
    assert sim.used_this_month(KEY) == 10
    clock.now += 1.0
    assert statuses(api, 1, api_key=KEY) == [200]


def test_anonymous_requests_past_the_lower_per_address_limit_get_429(
    sim: AudiusSim, api: httpx.Client, clock: Clock
) -> None:
    assert statuses(api, 7) == [200] * 5 + [429] * 2
    # Another address has its own allowance; a key is counted apart from addresses.
    other = api.get("/users/eJ57D", headers={"X-Forwarded-For": "203.0.113.9"})
    assert other.status_code == 200
    assert statuses(api, 10, api_key=KEY) == [200] * 10
    clock.now += 1.0
    assert statuses(api, 5) == [200] * 5


def test_a_key_sent_as_a_bearer_header_is_not_credited(sim: AudiusSim, api: httpx.Client) -> None:
    """How watcher sent the key before: the server takes the request as anonymous."""
    sim.api_key = KEY
    header = {"Authorization": f"Bearer {KEY}"}
    answers = [api.get("/users/eJ57D", headers=header).status_code for _ in range(7)]
    assert answers == [200] * 5 + [429] * 2
    assert sim.used_this_month(KEY) == 0


def test_a_key_past_its_monthly_quota_waits_for_the_next_utc_month(
    sim: AudiusSim, api: httpx.Client, clock: Clock, calendar: Clock
) -> None:
    sim.limits = RateLimits(key_per_month=3)
    assert statuses(api, 4, api_key=KEY) == [200, 200, 200, 429]
    clock.now += 5.0
    refused = api.get("/users/eJ57D", params={"api_key": KEY})
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    calendar.now += 60.0  # 2026-08-01T00:00:00Z
    assert statuses(api, 1, api_key=KEY) == [200]
    assert sim.used_this_month(KEY) == 1


def test_an_unknown_key_is_401_when_the_sim_knows_its_key(sim: AudiusSim) -> None:
    """A mistyped key is refused loudly rather than quietly served at the anonymous rate; a
    sim that knows no key takes any key as valid (what the other tests rely on)."""
    sim.api_key = KEY
    with sim.serve() as base_url, httpx.Client(base_url=base_url, verify=TLS) as api:
        wrong = api.get("/users/eJ57D", params={"api_key": "not-the-key"})
        assert wrong.status_code == 401 and wrong.json()["code"] == 401
        assert statuses(api, 1, api_key=KEY) == [200]


def test_a_wrong_bearer_token_is_401(clock: Clock) -> None:
    sim = AudiusSim(seed=1, clock=clock, bearer_token="the-bearer-token")
    with sim.serve() as base_url, httpx.Client(base_url=base_url, verify=TLS) as api:
        good = {"Authorization": "Bearer the-bearer-token"}
        assert api.get("/users/eJ57D", headers=good).status_code == 200
        bad = api.get("/users/eJ57D", headers={"Authorization": "Bearer guessed"})
        assert bad.status_code == 401


def test_a_watch_polled_with_the_key_is_credited_to_it(tmp_path: Path) -> None:
    """The whole poll, over the real client: with the key every request is the key's; the
    same poll without it runs into the per-address limit (frozen clock: one a second)."""
    frozen = Clock(0.0)
    limits = RateLimits(anonymous_per_second=1, key_per_second=0)
    sim = AudiusSim(seed=3, clock=frozen, limits=limits)
    with sim.serve() as base_url:
        keyed = World(sim, base_url, tmp_path / "keyed.db")
        keyed.settings["api_key"] = KEY
        keyed.curator(250)
        keyed.watch()
        assert keyed.poll().ok
        served = sum(r.status == 200 for r in sim.requests)
        assert served == sim.request_count == sim.used_this_month(KEY) > 3
        anonymous = World(sim, base_url, tmp_path / "anonymous.db")
        anonymous.watch()
        report = anonymous.poll()
    assert not report.ok and "429" in (report.error or "")
