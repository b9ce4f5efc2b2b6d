"""Standard Webhooks delivery against a real loopback receiver that verifies our signature."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from standardwebhooks import Webhook

from tests.receiver import Check, Receiver, Recorded
from watcher import __version__
from watcher.http.client import open_client
from watcher.http.retry import parse_retry_after
from watcher.sinks.base import SendResult
from watcher.sinks.webhook import check_secret, send_webhook, sign

# The test vector published with the Standard Webhooks specification.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_PAYLOAD = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

EVENT_ID = "evt_01JD0000000000000000000000"
BODY = json.dumps(
    {"id": EVENT_ID, "type": "following.added", "data": {"target": {"name": "Zoë ✓"}}},
    ensure_ascii=False,
    separators=(",", ":"),
)


# Built once: loading the CA bundle for every client would dominate these tests' run time.
TLS = ssl.create_default_context()


def verify_with(secret: str) -> Check:
    """A receiver check doing what a real consumer does with the official library."""

    def check(request: Recorded) -> None:
        Webhook(secret).verify(request.text, request.headers)

    return check


def deliver(
    url: str, *, secret: str = SPEC_SECRET, timeout: float = 5.0, **kw: object
) -> SendResult:
    async def go() -> SendResult:
        async with open_client(timeout=timeout, headers={}, verify=TLS) as http:
            return await send_webhook(
                http,
                url=url,
                secret=secret,
                event_id=str(kw.get("event_id", EVENT_ID)),
                body=str(kw.get("body", BODY)),
                timestamp=datetime.now(UTC),
                timeout=timeout,
            )

    return asyncio.run(go())


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- signing ------------------------------------------------------------------------------------


def test_signature_matches_the_specification_test_vector() -> None:
    moment = datetime.fromtimestamp(SPEC_TIMESTAMP, UTC)

    signature = sign(secret=SPEC_SECRET, event_id=SPEC_MSG_ID, timestamp=moment, body=SPEC_PAYLOAD)

    assert signature == SPEC_SIGNATURE


def test_signature_depends_on_the_instant_not_the_time_zone() -> None:
    moment = datetime.fromtimestamp(SPEC_TIMESTAMP, timezone(timedelta(hours=5, minutes=30)))

    signature = sign(secret=SPEC_SECRET, event_id=SPEC_MSG_ID, timestamp=moment, body=SPEC_PAYLOAD)

    assert signature == SPEC_SIGNATURE


def test_delivery_is_verified_by_the_receiver_with_the_official_library() -> None:
    with Receiver(check=verify_with(SPEC_SECRET)) as rx:
        result = deliver(rx.url("/hook"))

    assert result == SendResult(ok=True, status=200)
    assert rx.rejections == []
    [request] = rx.requests
    assert request.method == "POST" and request.path == "/hook"
    assert request.text == BODY
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == f"watcher/{__version__}"
    assert request.headers["webhook-id"] == EVENT_ID
    assert request.headers["webhook-timestamp"].isdigit()
    assert request.headers["webhook-signature"].startswith("v1,")


def test_a_receiver_with_another_secret_rejects_the_delivery() -> None:
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
    with Receiver(check=verify_with(other)) as rx:
        result = deliver(rx.url("/hook"))

    assert not result.ok and result.status == 401 and result.permanent
    assert rx.rejections == ["WebhookVerificationError: No matching signature found"]


def test_every_retry_carries_the_same_id_and_body() -> None:
    with Receiver(check=verify_with(SPEC_SECRET)) as rx:
        rx.reply(503)
        first = deliver(rx.url("/hook"))
        second = deliver(rx.url("/hook"))

    assert not first.ok and second.ok
    assert [r.headers["webhook-id"] for r in rx.requests] == [EVENT_ID, EVENT_ID]
    assert [r.body for r in rx.requests] == [BODY.encode(), BODY.encode()]


# -- secrets ------------------------------------------------------------------------------------


def test_spec_secret_is_accepted() -> None:
    assert check_secret(SPEC_SECRET) is None
    assert check_secret(SPEC_SECRET.rstrip("=") + "=") is None


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with 'whsec_'"),
        ("whsec_", "not valid base64"),
        ("whsec_not base64 at all!!", "not valid base64"),
        ("whsec_" + "A" * 33, "not valid base64"),
        ("whsec_c2hvcnQ=", "too short"),
        ("whsec_" + "QUFB" * 30, "too long"),
    ],
)
def test_bad_secrets_are_described_without_being_quoted(secret: str, problem: str) -> None:
    description = check_secret(secret)

    assert description is not None and problem in description
    assert secret.removeprefix("whsec_") not in description or secret == "whsec_"


def test_a_bad_secret_fails_permanently_without_sending() -> None:
    with Receiver() as rx:
        result = deliver(rx.url("/hook"), secret="whsec_???hunter2???")

    assert not result.ok and result.permanent and result.status is None
    assert result.error is not None and "webhook secret" in result.error
    assert "hunter2" not in result.error
    assert rx.requests == []


# -- statuses -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_2xx_is_success(status: int) -> None:
    with Receiver() as rx:
        rx.reply(status)
        result = deliver(rx.url("/hook"))

    assert result == SendResult(ok=True, status=status)


@pytest.mark.parametrize("size", [0, 300, 5 * 1024 * 1024])
def test_any_answer_body_is_fine_and_a_huge_one_is_not_buffered(size: int) -> None:
    with Receiver() as rx:
        rx.reply(200, body=b"x" * size)
        result = deliver(rx.url("/hook"))

    assert result == SendResult(ok=True, status=200)


def test_deliveries_in_a_row_reuse_one_connection() -> None:
    async def go(url: str) -> list[SendResult]:
        async with open_client(timeout=5, headers={}, verify=TLS) as http:
            return [
                await send_webhook(
                    http,
                    url=url,
                    secret=SPEC_SECRET,
                    event_id=f"evt_{n}",
                    body=BODY,
                    timestamp=datetime.now(UTC),
                    timeout=5,
                )
                for n in range(5)
            ]

    with Receiver(keep_alive=True) as rx:
        for _ in range(5):
            rx.reply(200, body=b'{"ok": true}')
        results = asyncio.run(go(rx.url("/hook")))

    assert all(r.ok for r in results)
    assert len(rx.requests) == 5
    assert len({r.peer_port for r in rx.requests}) == 1


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_not_followed(status: int) -> None:
    with Receiver() as rx:
        rx.reply(status, {"Location": rx.url("/elsewhere?token=s3cret")})
        result = deliver(rx.url("/hook"))

    assert not result.ok and result.permanent and result.status == status
    assert result.error is not None and "not followed" in result.error
    assert "s3cret" not in result.error
    assert [r.path for r in rx.requests] == ["/hook"]


def test_410_gone_says_to_disable_the_notifier() -> None:
    with Receiver() as rx:
        rx.reply(410)
        result = deliver(rx.url("/hook"))

    assert not result.ok and result.gone and result.permanent and result.status == 410


def test_429_is_retryable_after_the_seconds_the_receiver_asks() -> None:
    with Receiver() as rx:
        rx.reply(429, {"Retry-After": "7"})
        result = deliver(rx.url("/hook"))

    assert not result.ok and not result.permanent and not result.gone
    assert result.status == 429 and result.retry_after == 7.0


def test_503_retry_after_as_an_http_date() -> None:
    later = datetime.now(UTC) + timedelta(seconds=120)
    with Receiver() as rx:
        rx.reply(503, {"Retry-After": format_datetime(later, usegmt=True)})
        result = deliver(rx.url("/hook"))

    assert result.retryable and result.status == 503
    assert result.retry_after is not None and 100 < result.retry_after <= 120


@pytest.mark.parametrize("value", ["soon", "-5", "nan", "", "Mon, 99 Foo 2026"])
def test_nonsense_retry_after_is_ignored(value: str) -> None:
    with Receiver() as rx:
        rx.reply(503, {"Retry-After": value})
        result = deliver(rx.url("/hook"))

    assert result.retryable and result.retry_after is None


@pytest.mark.parametrize("status", [408, 409, 425, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retryable(status: int) -> None:
    with Receiver() as rx:
        rx.reply(status)
        result = deliver(rx.url("/hook"))

    assert result.retryable and result.status == status
    assert result.error is not None and f"HTTP {status}" in result.error


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 413, 422, 501])
def test_statuses_that_will_not_change_are_permanent(status: int) -> None:
    with Receiver() as rx:
        rx.reply(status)
        result = deliver(rx.url("/hook"))

    assert not result.ok and result.permanent and not result.gone and result.status == status


def test_errors_never_show_url_credentials_or_query() -> None:
    with Receiver() as rx:
        rx.reply(500)
        url = f"http://user:hunter2@127.0.0.1:{rx.port}/hook?token=s3cret"
        result = deliver(url)

    assert result.error is not None
    assert "hunter2" not in result.error and "s3cret" not in result.error
    assert f"127.0.0.1:{rx.port}/hook" in result.error


# -- transport failures -------------------------------------------------------------------------


def test_a_dead_endpoint_is_retryable_with_a_clear_error() -> None:
    port = closed_port()

    result = deliver(f"http://127.0.0.1:{port}/hook")

    assert result.retryable and result.status is None
    assert result.error is not None
    assert "connection failed" in result.error and f"127.0.0.1:{port}" in result.error
    assert "\n" not in result.error


def test_a_receiver_that_does_not_answer_in_time_is_retryable() -> None:
    with Receiver() as rx:
        rx.hold()
        result = deliver(rx.url("/hook"), timeout=0.2)

    assert result.retryable and result.status is None
    assert result.error is not None and "timed out after 0.2s" in result.error


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/hook", "http://", "127.0.0.1/hook"])
def test_an_unusable_url_is_permanent(url: str) -> None:
    result = deliver(url)

    assert not result.ok and result.permanent
    assert result.error is not None and "bad webhook URL" in result.error


# -- Retry-After parsing ------------------------------------------------------------------------

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("30", 30.0),
        (" 1.5 ", 1.5),
        ("Sun, 22 Nov 2026 12:01:00 GMT", 60.0),
        ("Sun, 22 Nov 2026 11:00:00 GMT", 0.0),
        ("999999999", 999_999_999.0),  # the one parser does not cap: each policy does
        (None, None),
        ("inf", None),
        ("-1", None),
        ("NaN", None),
        ("tomorrow", None),
    ],
)
def test_retry_after_is_read_as_seconds_or_date(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds
