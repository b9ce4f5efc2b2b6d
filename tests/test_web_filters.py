"""The page filters that write times for people: the stored form read without parsing gives
what parsing gives, and text that is not a time is shown escaped, never as markup."""

from __future__ import annotations

from datetime import UTC, datetime

from watcher.web.filters import exact, moment

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_a_stored_timestamp_reads_as_an_exact_utc_time_and_an_age() -> None:
    assert exact("2026-12-06T09:00:05Z") == "2026-12-06 09:00:05 UTC"
    assert str(moment("2026-12-06T09:00:05Z", NOW)) == (
        '<time datetime="2026-12-06T09:00:05Z" title="2026-12-06 09:00:05 UTC">2 h ago</time>'
    )


def test_another_iso_form_is_parsed_to_the_same_exact_time() -> None:
    assert exact("2026-12-06T10:00:05+01:00") == "2026-12-06 09:00:05 UTC"
    assert "2 h ago" in str(moment("2026-12-06T10:00:05+01:00", NOW))


def test_text_that_is_not_a_time_is_escaped_not_markup() -> None:
    shown = str(moment('<script>alert(1)</script>"', NOW))
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert str(moment(None, NOW)) == "\N{EM DASH}"
