"""When a held notifier's messages go out: a schedule (`daily 09:00`, `weekly mon 09:00` or a
five-field cron expression) and quiet hours (`22:00-08:00`), as wall-clock times in one IANA
time zone. Pure time arithmetic: no I/O, no third-party imports (config validation uses it, and
reading commands must start fast).

Times are wall-clock times, so a daily 09:00 in Europe/Berlin is 09:00 on the local clock in
winter (08:00 UTC) and in summer (07:00 UTC). On the two days a year the clock changes:

* a time the clock skips (02:30 when it jumps from 02:00 to 03:00) happens at the end of the
  gap, 03:00 local: late by the gap, never lost;
* a time the clock shows twice (02:30 when it falls back from 03:00 to 02:00) happens once,
  at its first occurrence: one wall-clock time never fires twice.

Cron expressions are the classic five fields (minute, hour, day of month, month, day of week)
with `*`, numbers, names (`jan`, `mon`), ranges, lists and `/` steps; day of week 0 and 7 are
Sunday; when both day fields are restricted a day matching either one fires, as in cron.
Quiet hours `22:00-08:00` are the wall-clock window from 22:00 up to (not including) 08:00,
across midnight when the end is earlier than the start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# The longest wait between two days a valid expression matches: Feb 29 skips 2100 (8 years).
_MAX_DAYS = 366 * 8 + 2
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_SCHEDULE_FORMS = (
    '"daily HH:MM", "weekly DAY HH:MM" (DAY: mon..sun) or five cron fields'
    ' "minute hour day month weekday" such as "0 9 * * mon-fri"'
)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name` (`Europe/Berlin`, `UTC`); ValueError naming it otherwise."""
    text = name.strip()
    try:
        if not text or text.startswith(("/", ".")) or ".." in text:
            raise ValueError
        return ZoneInfo(text)
    except (ValueError, ZoneInfoNotFoundError, OSError):
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as 'Europe/Berlin' or 'UTC'"
        ) from None


def _clock_time(text: str, what: str) -> time:
    match = _CLOCK.match(text.strip())
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"{text.strip()!r} is not {what} HH:MM from 00:00 to 23:59")
    return time(int(match.group(1)), int(match.group(2)))


# -- turning a local wall-clock time into an instant --------------------------------------------


def _occurrences(wall: datetime, where: ZoneInfo) -> list[datetime]:
    """The UTC instants at which the clock in `where` shows `wall`: one, two when the clock
    falls back over it (first one first), or, for a time the clock skips, the gap's end."""
    first = wall.replace(tzinfo=where, fold=0).astimezone(UTC)
    if first.astimezone(where).replace(tzinfo=None) != wall:
        return [_gap_end(wall, where)]
    second = wall.replace(tzinfo=where, fold=1).astimezone(UTC)
    return [first] if second == first else [first, second]


def _gap_end(wall: datetime, where: ZoneInfo) -> datetime:
    """The instant the clock jumped over `wall`: between `wall` read with the offset after the
    change and with the one before it, found to the second."""
    low = int(wall.replace(tzinfo=where, fold=1).timestamp())
    high = int(wall.replace(tzinfo=where, fold=0).timestamp())
    after = datetime.fromtimestamp(high, UTC).astimezone(where).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(where).utcoffset() == after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


# -- schedules ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Schedule:
    """The wall-clock times a schedule fires at; `text` is how it is shown."""

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]  # days of the month
    months: frozenset[int]
    weekdays: frozenset[int]  # Monday 0 .. Sunday 6, as date.weekday()
    any_day: bool  # the day-of-month field was `*`: only the weekdays restrict
    any_weekday: bool  # the day-of-week field was `*`: only the days restrict

    def fires_on(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        if self.any_weekday:
            return day.day in self.days
        if self.any_day:
            return day.weekday() in self.weekdays
        return day.day in self.days or day.weekday() in self.weekdays

    def next_after(self, moment: datetime, where: ZoneInfo) -> datetime:
        """The first time this schedule fires strictly after `moment` (UTC)."""
        start = moment.astimezone(where).date() - timedelta(days=1)
        for offset in range(_MAX_DAYS):
            day = start + timedelta(days=offset)
            if not self.fires_on(day):
                continue
            for hour in self.hours:
                for minute in self.minutes:
                    # A wall time fires once, at its first occurrence (or its gap's end).
                    at = _occurrences(datetime.combine(day, time(hour, minute)), where)[0]
                    if at > moment:
                        return at
        raise AssertionError(f"schedule {self.text!r} never fires")  # refused when parsed


def parse_schedule(text: str) -> Schedule:
    """`daily HH:MM`, `weekly DAY HH:MM` or five cron fields; ValueError saying what is wrong."""
    words = text.strip().split()
    head = words[0].lower() if words else ""
    if len(words) == 2 and head == "daily":
        at = _clock_time(words[1], "a daily time")
        return _at(f"daily {at:%H:%M}", at, weekdays=None)
    if len(words) == 3 and head == "weekly":
        day = _weekday(words[1])
        at = _clock_time(words[2], "a weekly time")
        return _at(f"weekly {_DAY_NAMES[day]} {at:%H:%M}", at, weekdays=frozenset({day}))
    if len(words) == 5 and head not in ("daily", "weekly"):
        return _cron(words)
    raise ValueError(f"{text.strip()!r} is not a schedule: use {_SCHEDULE_FORMS}")


def _weekday(word: str) -> int:
    for index, name in enumerate(_DAY_NAMES):
        if word.lower() in (name, _full_day(index)):
            return index
    raise ValueError(f"{word!r} is not a day of the week: use mon, tue, wed, thu, fri, sat or sun")


def _full_day(index: int) -> str:
    return ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[index]


def _at(text: str, at: time, *, weekdays: frozenset[int] | None) -> Schedule:
    return Schedule(
        text=text,
        minutes=(at.minute,),
        hours=(at.hour,),
        days=frozenset(range(1, 32)),
        months=frozenset(range(1, 13)),
        weekdays=weekdays if weekdays is not None else frozenset(range(7)),
        any_day=True,
        any_weekday=weekdays is None,
    )


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names of low, low + 1, ...


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTH_NAMES),
    _Field("day of week", 0, 7, ("sun", *_DAY_NAMES)),
)
# The most days each month can have (February: in leap years).
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _cron(words: list[str]) -> Schedule:
    minutes, hours, days, months, weekdays = (
        _cron_field(word, field) for word, field in zip(words, _FIELDS, strict=True)
    )
    words = [word.lower() for word in words]
    python_weekdays = frozenset((day - 1) % 7 for day in weekdays)  # cron 0 and 7: Sunday
    any_day, any_weekday = words[2].startswith("*"), words[4].startswith("*")
    if any_weekday and not any(day <= _MONTH_DAYS[month - 1] for day in days for month in months):
        raise ValueError(
            f"cron expression {' '.join(words)!r} never fires: none of its months has such a day"
        )
    return Schedule(
        text=" ".join(words),
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=days,
        months=months,
        weekdays=python_weekdays,
        any_day=any_day,
        any_weekday=any_weekday,
    )


def _cron_field(word: str, field: _Field) -> frozenset[int]:
    values: set[int] = set()
    for part in word.lower().split(","):
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"cron {field.name} {word!r}: the step after / must be 1 or more")
            step = int(step_text)
        if base == "*":
            low, high = field.low, field.high
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = _cron_value(first, word, field), _cron_value(last, word, field)
            if low > high:
                raise ValueError(f"cron {field.name} {word!r}: a range must go upwards")
        else:
            low = _cron_value(base, word, field)
            high = field.high if slash else low
        values.update(range(low, high + 1, step))
    return frozenset(values)


def _cron_value(token: str, word: str, field: _Field) -> int:
    if token.isdigit():
        value = int(token)
        if field.low <= value <= field.high:
            return value
        raise ValueError(f"cron {field.name} {word!r}: {token} is outside {field.low}-{field.high}")
    if token in field.names:
        return field.low + field.names.index(token)
    raise ValueError(f"cron {field.name} {word!r}: {token!r} is not a number or a name")


# -- quiet hours -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily wall-clock window, `start` included and `end` not; across midnight when the
    end comes before the start."""

    start: time
    end: time

    @property
    def text(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def _holds(self, wall: time) -> bool:
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end

    def end_after(self, moment: datetime, where: ZoneInfo) -> datetime | None:
        """When the quiet window `moment` (UTC) falls in ends; None when it is not quiet."""
        local = moment.astimezone(where)
        wall = local.replace(tzinfo=None)
        if not self._holds(wall.time()):
            return None
        day = wall.date()
        if self.start > self.end and wall.time() >= self.start:
            day += timedelta(days=1)
        # The first moment after `moment` the clock shows the end (the second time round
        # when `moment` is already in the hour the clock repeats).
        for at in _occurrences(datetime.combine(day, self.end), where):
            if at > moment:
                return at
        return None


def parse_quiet_hours(text: str) -> QuietHours:
    """`HH:MM-HH:MM`; ValueError saying what is wrong."""
    start_text, dash, end_text = text.strip().partition("-")
    if not dash:
        raise ValueError(f"{text.strip()!r} is not a window: use HH:MM-HH:MM such as 22:00-08:00")
    start = _clock_time(start_text, "a start time")
    end = _clock_time(end_text, "an end time")
    if start == end:
        raise ValueError(f"{text.strip()!r} is an empty window: its start and end must differ")
    return QuietHours(start, end)
