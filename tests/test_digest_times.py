"""When held messages go out: schedules and quiet hours on the local wall clock, across DST.

The cron arithmetic is checked against a brute force that walks the clock minute by minute
(over several seeds, expressions and zones with and without daylight saving time, including
Lord Howe's half-hour change), and the days the clock changes are pinned one by one.
"""

from __future__ import annotations

import functools
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from watcher.digest_times import parse_quiet_hours, parse_schedule, zone
from watcher.sinks.holding import Hold

BERLIN = ZoneInfo("Europe/Berlin")
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def fires_at(expression: str, after: str, where: ZoneInfo = BERLIN) -> datetime:
    return parse_schedule(expression).next_after(utc(after), where)


# -- the contract on the days the clock changes --------------------------------------------------


def test_a_daily_time_is_that_time_on_the_local_clock_on_both_sides_of_a_dst_change() -> None:
    daily = "daily 09:00"
    assert fires_at(daily, "2026-03-28T10:00:00+01:00") == utc("2026-03-29T07:00:00Z")
    assert fires_at(daily, "2026-03-27T10:00:00+01:00") == utc("2026-03-28T08:00:00Z")
    assert fires_at(daily, "2026-10-24T10:00:00+02:00") == utc("2026-10-25T08:00:00Z")
    assert fires_at(daily, "2026-10-23T10:00:00+02:00") == utc("2026-10-24T07:00:00Z")


def test_a_time_the_clock_skips_fires_when_the_gap_ends() -> None:
    # 2026-03-29: Berlin's clock jumps from 02:00 to 03:00; 02:30 never shows.
    assert fires_at("daily 02:30", "2026-03-28T12:00:00Z") == utc("2026-03-29T03:00:00+02:00")
    # Every skipped time fires once, at the gap's end; the next one is back to normal.
    quarter = "*/15 2 * * *"
    assert fires_at(quarter, "2026-03-29T00:00:00+01:00") == utc("2026-03-29T03:00:00+02:00")
    assert fires_at(quarter, "2026-03-29T03:00:00+02:00") == utc("2026-03-30T02:00:00+02:00")


def test_a_time_the_clock_shows_twice_fires_once_at_its_first_occurrence() -> None:
    # 2026-10-25: Berlin's clock falls back from 03:00 to 02:00; 02:30 shows twice.
    first = utc("2026-10-25T02:30:00+02:00")
    assert fires_at("daily 02:30", "2026-10-24T12:00:00Z") == first
    assert fires_at("daily 02:30", first.isoformat()) == utc("2026-10-26T02:30:00+01:00")


def test_weekly_and_cron_days_follow_the_local_date() -> None:
    # Sunday 23:30 UTC is already Monday 01:30 in Berlin: this week's Monday 09:00 is next.
    assert fires_at("weekly mon 09:00", "2026-06-07T23:30:00Z") == utc("2026-06-08T07:00:00Z")
    assert fires_at("weekly monday 09:00", "2026-06-08T07:00:00Z") == utc("2026-06-15T07:00:00Z")
    workdays = "0 9 * * mon-fri"
    assert fires_at(workdays, "2026-06-05T12:00:00Z") == utc("2026-06-08T07:00:00Z")  # Fri -> Mon
    # Both day fields restricted: either one matching is enough, as in cron.
    assert fires_at("0 0 13 * fri", "2026-02-01T00:00:00Z", ZoneInfo("UTC")) == utc(
        "2026-02-06T00:00:00Z"
    )
    assert fires_at("0 12 29 feb *", "2026-03-01T00:00:00Z", ZoneInfo("UTC")) == utc(
        "2028-02-29T12:00:00Z"
    )


# -- against a brute force, over seeds ---------------------------------------------------------


def _field(rng: random.Random, low: int, high: int, names: tuple[str, ...] = ()) -> str:
    shape = rng.randrange(6)
    a, b = sorted(rng.sample(range(low, high + 1), 2))
    if shape == 0:
        return "*"
    if shape == 1:
        return f"*/{rng.randint(2, max(2, (high - low) // 2))}"
    if shape == 2:
        return f"{a}-{b}"
    if shape == 3 and names:
        return names[a - low]
    if shape == 4:
        return f"{a},{b}"
    return f"{a}-{b}/{rng.randint(1, 3)}"


def random_expression(rng: random.Random) -> str:
    days = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
    return " ".join(
        [
            _field(rng, 0, 59),
            # Hours around 02:00, where the clocks change, more often than the others.
            rng.choice(["*", "2", "2", "1-3", "1,2", "*/2", str(rng.randrange(24))]),
            rng.choice(["*", "*", "*", str(rng.randint(1, 28)), "1-15"]),
            "*",
            rng.choice(["*", "*", _field(rng, 0, 6, days)]),
        ]
    )


def brute_force(expression: str, after: datetime, where: ZoneInfo, limit: int) -> datetime | None:
    """The first instant after `after` the schedule fires, minute by minute: an instant fires
    when the clock then shows a listed time for the first time that day, or when it jumps over
    one (the gap's end)."""
    schedule = parse_schedule(expression)

    def listed(wall: datetime) -> bool:
        return (
            schedule.fires_on(wall.date())
            and wall.hour in schedule.hours
            and wall.minute in schedule.minutes
        )

    moment = after.replace(second=0, microsecond=0)
    previous = moment.astimezone(where).replace(tzinfo=None)
    for _ in range(limit):
        moment += timedelta(minutes=1)
        local = moment.astimezone(where)
        wall = local.replace(tzinfo=None)
        skipped = []
        step = previous + timedelta(minutes=1)
        while step < wall:  # the clock jumped: the times it skipped fire now
            skipped.append(step)
            step += timedelta(minutes=1)
        previous = wall
        if moment > after and (
            any(listed(w) for w in skipped) or (listed(wall) and not local.fold)
        ):
            return moment
    return None


@functools.cache
def changes(where: ZoneInfo) -> list[datetime]:
    """The instants of 2026 at which the clock in `where` changes its offset."""
    found = []
    moment = utc("2026-01-01T00:00:00Z")
    while moment.year == 2026:
        later = moment + timedelta(minutes=30)
        if later.astimezone(where).utcoffset() != moment.astimezone(where).utcoffset():
            found.append(later)
        moment = later
    return found


def random_start(rng: random.Random, where: ZoneInfo) -> datetime:
    """Mostly a few hours before one of the zone's clock changes; else any time of 2026."""
    near = changes(where)
    if near and rng.random() < 0.75:
        return rng.choice(near) - timedelta(
            minutes=rng.randrange(8 * 60), seconds=rng.randrange(60)
        )
    return utc("2026-01-01T00:00:00Z") + timedelta(minutes=rng.randrange(365 * 24 * 60))


@pytest.mark.parametrize("seed", range(6))
def test_next_fire_matches_a_minute_by_minute_walk_of_the_clock(seed: int) -> None:
    rng = random.Random(seed)
    checked = 0
    for _ in range(16):
        expression = random_expression(rng)
        where = ZoneInfo(rng.choice(ZONES))
        start = random_start(rng, where)
        expected = brute_force(expression, start, where, limit=4 * 24 * 60)
        if expected is None:  # fires less often than the walk looks ahead: skip, not guess
            continue
        assert parse_schedule(expression).next_after(start, where) == expected, (
            expression,
            where.key,
            start,
        )
        checked += 1
    assert checked >= 10


# -- quiet hours ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "ends"),
    [
        ("2026-01-15T22:00:00+01:00", "2026-01-16T08:00:00+01:00"),  # the start is quiet
        ("2026-01-15T23:30:00+01:00", "2026-01-16T08:00:00+01:00"),  # across midnight
        ("2026-01-16T07:59:59+01:00", "2026-01-16T08:00:00+01:00"),
        ("2026-01-16T08:00:00+01:00", None),  # the end is not
        ("2026-01-15T21:59:59+01:00", None),
        ("2026-01-15T12:00:00+01:00", None),
        # The night the clock springs forward is an hour shorter; it still ends at 08:00.
        ("2026-03-28T23:00:00+01:00", "2026-03-29T08:00:00+02:00"),
    ],
)
def test_quiet_hours_across_midnight(moment: str, ends: str | None) -> None:
    quiet = parse_quiet_hours("22:00-08:00")
    assert quiet.end_after(utc(moment), BERLIN) == (utc(ends) if ends else None)


def test_a_window_inside_one_day_and_one_ending_in_the_hour_the_clock_repeats() -> None:
    midday = parse_quiet_hours("12:00 - 14:00")
    assert midday.text == "12:00-14:00"
    assert midday.end_after(utc("2026-06-01T12:30:00+02:00"), BERLIN) == utc(
        "2026-06-01T14:00:00+02:00"
    )
    assert midday.end_after(utc("2026-06-01T14:30:00+02:00"), BERLIN) is None
    night = parse_quiet_hours("01:00-02:30")
    # 2026-10-25 shows 02:10 twice: the first time the window ends at the first 02:30, the
    # second time at the second one.
    assert night.end_after(utc("2026-10-25T02:10:00+02:00"), BERLIN) == utc(
        "2026-10-25T02:30:00+02:00"
    )
    assert night.end_after(utc("2026-10-25T02:10:00+01:00"), BERLIN) == utc(
        "2026-10-25T02:30:00+01:00"
    )


def test_a_schedule_inside_quiet_hours_waits_for_their_end_and_alerts_only_if_asked() -> None:
    hold = Hold(BERLIN, parse_schedule("daily 07:00"), parse_quiet_hours("22:00-08:00"))
    night = utc("2026-01-15T23:00:00+01:00")
    assert hold.due("event", night) == utc("2026-01-16T08:00:00+01:00")
    assert hold.due("alert", night) is None  # alerts pass quiet hours by default
    strict = Hold(BERLIN, None, parse_quiet_hours("22:00-08:00"), quiet_alerts=True)
    assert strict.due("alert", night) == utc("2026-01-16T08:00:00+01:00")
    assert strict.due("event", utc("2026-01-15T12:00:00+01:00")) is None  # not quiet: now
    # Held rows carry the settings that placed them, to notice a change.
    assert hold.spec == "daily 07:00|22:00-08:00|Europe/Berlin|-"
    assert strict.spec == "-|22:00-08:00|Europe/Berlin|alerts"


# -- what is refused, and how it says so ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("hourly", "'hourly' is not a schedule: use \"daily HH:MM\""),
        ("daily 9", "'9' is not a daily time HH:MM from 00:00 to 23:59"),
        ("daily 24:00", "'24:00' is not a daily time HH:MM"),
        ("weekly 09:00", "'weekly 09:00' is not a schedule"),
        ("weekly someday 09:00", "'someday' is not a day of the week"),
        ("* * * *", "'* * * *' is not a schedule"),
        ("60 * * * *", "cron minute '60': 60 is outside 0-59"),
        ("0 9 * * 8", "cron day of week '8': 8 is outside 0-7"),
        ("0 9 L * *", "cron day of month 'L': 'l' is not a number or a name"),
        ("*/0 * * * *", "cron minute '*/0': the step after / must be 1 or more"),
        ("0 17-9 * * *", "cron hour '17-9': a range must go upwards"),
        ("0 0 31 feb,apr *", "never fires: none of its months has such a day"),
        ("daily\x1b[31m 09:00", "is not a schedule"),
    ],
)
def test_a_schedule_that_cannot_be_read_says_why(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_schedule(text)
    assert problem in str(caught.value)
    assert "\x1b" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("22:00", "'22:00' is not a window: use HH:MM-HH:MM such as 22:00-08:00"),
        ("22:00-22:00", "is an empty window"),
        ("25:00-08:00", "'25:00' is not a start time"),
        ("22:00-8", "'8' is not an end time"),
    ],
)
def test_quiet_hours_that_cannot_be_read_say_why(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_quiet_hours(text)
    assert problem in str(caught.value)


@pytest.mark.parametrize("name", ["Europe/Berln", "", "../../etc/passwd", "Mars/Olympus"])
def test_an_unknown_time_zone_is_refused_by_name(name: str) -> None:
    with pytest.raises(ValueError) as caught:
        zone(name)
    assert str(caught.value) == (
        f"unknown time zone {name!r}: use an IANA name such as 'Europe/Berlin' or 'UTC'"
    )
