"""The `watcher` command: parse, call, print.

Errors a user can cause are one line on stderr and an exit code, never a traceback.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from watcher import __version__, logs, periods
from watcher.clock import SystemClock, iso
from watcher.durations import format_duration, parse_duration
from watcher.errors import ConfigError, WatcherError
from watcher.output_formats import format_option
from watcher.printable import json_line, printable

# A command imports what it uses, when it runs: `--version`, `events`, `status` and
# `deliveries` start without aiohttp, Apprise, APScheduler or even asyncio.
if TYPE_CHECKING:
    from watcher.config import Config
    from watcher.fleet_plan import FleetPlan, PlatformPlan
    from watcher.list_views import WatchedList
    from watcher.sinks.dispatcher import DispatchReport
    from watcher.store import Store
    from watcher.store.memberships import Sort

# The event types `--type` accepts (config.EVENT_TYPES and SIGNAL_TYPES, without importing
# pydantic for it).
EVENT_TYPES = (
    "following.added",
    "following.removed",
    "follower.added",
    "follower.removed",
    "signal.trending",
)

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143, as a shell reports a process SIGTERM ended
# Where `watcher serve` listens when neither --listen nor [http] listen says.
DEFAULT_LISTEN = "127.0.0.1:8787"


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_path",
        metavar="PATH",
        default=None,
        help="TOML config file (default: $WATCHER_CONFIG, else ./watcher.toml).",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="watcher")
@config_option
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Watch who Audius and SoundCloud accounts follow; record every change as an event."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path


def _config(config_path: str | None) -> Config:
    from watcher.config import load

    ctx = click.get_current_context()
    root = ctx.find_root().obj or {}
    return load(config_path or root.get("config_path"))


@contextmanager
def _store(config: Config, *, on_loop: bool = False) -> Iterator[Store]:
    import sqlite3

    from watcher import database_problems
    from watcher.store import Store

    """The database, open; SQLite's own errors become one line naming the file (exit 1).

    `on_loop`: polls and deliveries use it from an event loop, so a lock held by another
    process is waited out in short slices (never blocking the loop), for up to
    `[defaults] timeout`; past that the command or the poll fails with one line."""
    if on_loop:
        store = Store.open(config.database_path, patience=config.defaults.timeout, sliced=True)
    else:
        store = Store.open(config.database_path)
    try:
        yield store
    except sqlite3.Error as exc:
        raise database_problems.problem(config.database_path, exc) from None
    finally:
        store.close()


def _require_watches(config: Config) -> None:
    if not config.watch:
        raise ConfigError("no [[watch]] entries in the config: nothing to poll")


def log_format_option(func: F) -> F:
    return click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        default=None,
        help="text: readable lines; json: one JSON object per line (default: [log] format).",
    )(func)


@cli.command()
@config_option
@log_format_option
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Poll every watch, also those the quota planner has stretched and are not due.",
)
def once(config_path: str | None, log_format: str | None, everything: bool) -> None:
    """Poll every watch once and exit (0: all clean, 1: some failed, 2: config error).

    A watch the quota planner stretched past its interval is skipped until its planned next
    poll is due (see `watcher plan`); `--all` polls it anyway."""
    import asyncio

    from watcher import progress
    from watcher.poll import log_report
    from watcher.wording import describe, describe_envelope

    config = _config(config_path)
    _require_watches(config)
    as_json = (log_format or config.log.format) == "json"
    logs.setup("json" if as_json else "text", "info" if as_json else "warning")
    showing = progress.showing(sys.stderr) if not as_json else nullcontext()
    with _store(config, on_loop=True) as store, showing:
        reports, sent, pauses = asyncio.run(_until_sigterm(_poll_once(config, store, everything)))
    for report in reports:
        if report.paused:
            continue  # said once per platform below
        if as_json:
            log_report(report)
            continue
        click.echo(_plain(report.line()), err=not report.ok)
        for event in report.events:
            click.echo(f"  {_plain(describe(event))}")
        for fired in report.signals:
            click.echo(f"  {_plain(describe_envelope(fired.envelope()))}")
    _show_deliveries(sent, as_json)
    for line in pauses:
        click.echo(line, err=True)
    # A delivery that will be retried needs nobody; a dead one or a disabled notifier does.
    # A paused platform (quota spent, rate-limited) polled nothing: that needs someone too.
    if not all(report.ok for report in reports) or sent.needs_attention or pauses:
        sys.exit(EXIT_FAILED)


class Terminated(Exception):
    """SIGTERM stopped a command; what was in flight committed nothing."""


async def _until_sigterm(work: Coroutine[Any, Any, T]) -> T:
    import asyncio

    """`work`, cancelled by SIGTERM like Ctrl-C cancels it: a poll in flight commits nothing
    (its transaction never begins), and the command says so in one line."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    terminated = False

    def on_sigterm() -> None:
        nonlocal terminated
        terminated = True
        task.cancel()

    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        return await task
    except asyncio.CancelledError:
        if terminated:
            raise Terminated from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def _show_deliveries(sent: DispatchReport, as_json: bool) -> None:
    log = logging.getLogger("watcher")
    if sent.busy:
        note = "deliveries: another watcher process is sending them; left to it"
        if as_json:
            log.warning(note)
        else:
            click.echo(note, err=True)
    for outcome in sent.outcomes:
        delivered = outcome.state == "delivered"
        if as_json:
            fields = {"notifier": outcome.notifier, "deliveries": list(outcome.ids)}
            (log.info if delivered else log.warning)(outcome.line(), extra=fields)
        else:
            click.echo(_plain(outcome.line()), err=not delivered)


async def _poll_once(
    config: Config, store: Store, everything: bool = False
) -> tuple[list[Any], DispatchReport, list[str]]:
    """Poll every watch that is due (all with `everything`), then send every delivery that is
    due (these polls' and retries); also the one line of each platform that was paused
    (quota spent, rate-limited)."""
    from watcher import gc_tuning
    from watcher.runtime import Runtime

    runtime = Runtime(config, store)
    gc_tuning.settle()
    try:
        reports = await runtime.poll_due(everything=everything)
        sent = await runtime.open_dispatcher().dispatch()
        return reports, sent, [pause.line for pause in runtime.pauses()]
    finally:
        await runtime.aclose()


@cli.command()
@config_option
@log_format_option
def run(config_path: str | None, log_format: str | None) -> None:
    """Run as a daemon: poll each watch on its interval until SIGTERM or Ctrl-C; SIGHUP reloads.

    Exit 1 at once when another daemon holds the database or `[http] listen` cannot be bound.
    """
    import asyncio

    from watcher import gc_tuning
    from watcher.daemon_lock import DaemonLock, DatabaseInUse
    from watcher.runtime import Runtime
    from watcher.scheduler import Daemon
    from watcher.web.server import CannotListen

    config = _config(config_path)
    _require_watches(config)
    logs.setup("json" if (log_format or config.log.format) == "json" else "text", config.log.level)

    def reload() -> Config:
        return _config(config_path)

    async def main() -> None:
        with _store(config, on_loop=True) as store:
            runtime = Runtime(config, store)
            runtime.open_dispatcher()
            gc_tuning.settle()
            try:
                await Daemon(runtime, load_config=reload).run()
            finally:
                await runtime.aclose()

    try:
        with DaemonLock.acquire(config.database_path):
            asyncio.run(main())
    except (DatabaseInUse, CannotListen) as exc:
        click.echo(f"watcher run: {_plain(str(exc))}", err=True)
        sys.exit(EXIT_FAILED)
    if (log_format or config.log.format) == "json":
        logging.getLogger("watcher").warning("watcher stopped")
    else:
        click.echo("watcher stopped", err=True)


@cli.command()
@config_option
@click.option(
    "--listen",
    metavar="HOST:PORT",
    help="Where to serve (default: [http] listen, else 127.0.0.1:8787; a bare port: loopback).",
)
def serve(config_path: str | None, listen: str | None) -> None:
    """Serve the dashboard, /healthz and /metrics without polling, until Ctrl-C or SIGTERM.

    For those who poll with `watcher once` from cron. Exit 1 when the address cannot be bound.
    """
    import asyncio

    from watcher.config import HttpSettings, parse_listen
    from watcher.web.serve import serve as serve_forever
    from watcher.web.server import CannotListen

    if listen is not None:
        try:
            parse_listen(listen)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--listen") from None
    config = _config(config_path)
    logs.setup("json" if config.log.format == "json" else "text", config.log.level)
    address = listen or config.http.listen or DEFAULT_LISTEN
    http = HttpSettings(listen=address, token=config.http.token)
    config = config.model_copy(update={"http": http})
    with _store(config):
        pass  # the database as every command opens it: created, or migrated, before serving
    try:
        asyncio.run(serve_forever(config, echo=lambda line: click.echo(line, err=True)))
    except CannotListen as exc:
        click.echo(f"watcher serve: {_plain(str(exc))}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo("watcher serve stopped", err=True)


_SINCE_HELP = "ISO date/time (2026-11-01, 2026-11-01T12:00:00Z) or an age such as 2h or 7d."


def _since(value: str | None, option: str = "--since") -> str | None:
    """A moment as the reading commands take it: a date, a time or an age (`3d`)."""
    if value is None:
        return None
    try:
        age = parse_duration(value)
    except ValueError:
        pass
    else:
        return iso(SystemClock().now() - timedelta(seconds=age))
    try:
        return periods.moment(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: {_SINCE_HELP}", param_hint=option) from None


def _event_type(value: str | None) -> str | None:
    if value is None:
        return None
    nouns = {t.split(".")[0] for t in EVENT_TYPES}
    if value not in EVENT_TYPES and value not in nouns:
        allowed = ", ".join([*EVENT_TYPES, *sorted(nouns)])
        raise click.BadParameter(f"{value!r} is not one of {allowed}", param_hint="--type")
    return value


@cli.command()
@config_option
@format_option(help_extra="json: the event envelopes webhooks receive, one per line.")
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@click.option(
    "--account",
    metavar="ACCOUNT",
    help="Only events of this watched account, every relation (handle, id, URL, URN...).",
)
@click.option(
    "--type",
    "type_",
    metavar="T",
    help="following.added, follower.removed, signal.trending, ... or following/follower/signal.",
)
@click.option("--since", metavar="WHEN", help=_SINCE_HELP)
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Only the newest N events.")
def events(
    config_path: str | None,
    fmt: str,
    as_json: bool,
    account: str | None,
    type_: str | None,
    since: str | None,
    limit: int | None,
) -> None:
    """Recorded events, oldest first (`no events yet` on stderr when there are none)."""
    from watcher.account_lookup import AccountLookup
    from watcher.event_export import write_events

    if as_json and fmt not in ("table", "json"):
        raise click.UsageError("--json is --format json; give one of them")
    config = _config(config_path)
    type_prefix, since_at = _event_type(type_), _since(since)
    with _store(config) as store:
        watch_ids = None
        if account is not None:
            lookup = AccountLookup(config.watch, store)
            watch_ids = lookup.store_ids(lookup.watches_of(account))
        rows = store.events.stream(
            watch_ids=watch_ids, type_prefix=type_prefix, since=since_at, limit=limit
        )
        written = write_events(rows, "json" if as_json else fmt, sys.stdout)
        if not written:
            filtered = account is not None or type_ or since
            any_event = store.events.count() > 0
            click.echo("no events match" if filtered and any_event else "no events yet", err=True)


_RELATION = click.option(
    "--relation",
    type=click.Choice(["following", "followers"]),
    help="Which list, when the account is watched for both (default: following).",
)


@contextmanager
def _watched_list(
    config_path: str | None, account: str, relation: str | None
) -> Iterator[WatchedList]:
    """The list of the watch covering ACCOUNT (errors: one line, exit 1)."""
    from watcher.account_lookup import AccountLookup
    from watcher.list_views import watched_list

    config = _config(config_path)
    with _store(config) as store:
        yield watched_list(store, AccountLookup(config.watch, store).watch_of(account, relation))


def _write(rows: Iterable[Sequence[Any]], columns: Sequence[str], fmt: str, empty: str) -> None:
    from watcher.output_formats import write_rows

    if not write_rows(rows, columns, fmt, sys.stdout):
        click.echo(empty, err=True)


@cli.command("list")
@config_option
@click.argument("account")
@_RELATION
@click.option("--at", "at", metavar="WHEN", help=f"The list as it stood then. {_SINCE_HELP}")
@click.option(
    "--sort",
    type=click.Choice(["since", "followers", "name"]),
    default="since",
    show_default=True,
    help="since: newest member first; followers: most followed first; name: A to Z.",
)
@format_option()
def list_command(
    config_path: str | None,
    account: str,
    relation: str | None,
    at: str | None,
    sort: str,
    fmt: str,
) -> None:
    """The members of ACCOUNT's list, as of the last poll or as they stood at WHEN.

    ACCOUNT: a handle, an id, a profile URL or the text the config names the watch by.
    """
    from watcher import list_views
    from watcher.store.memberships import MEMBER_COLUMNS

    moment = _since(at, "--at")
    with _watched_list(config_path, account, relation) as target:
        rows = list_views.members(target, fmt, at=moment, sort=cast("Sort", sort))
        when = f" at {moment}" if moment else ""
        _write(rows, MEMBER_COLUMNS, fmt, f"{target.title} list was empty{when}")


@cli.command()
@config_option
@click.argument("account")
@click.option("--since", metavar="WHEN", required=True, help=_SINCE_HELP)
@click.option("--until", metavar="WHEN", help=f"Default: now. {_SINCE_HELP}")
@_RELATION
@format_option()
def diff(
    config_path: str | None,
    account: str,
    since: str,
    until: str | None,
    relation: str | None,
    fmt: str,
) -> None:
    """Who joined and who left ACCOUNT's list between two moments (net: one who came and
    went in between is neither)."""
    from watcher import list_views

    start, end = _since(since), _since(until, "--until")
    assert start is not None
    with _watched_list(config_path, account, relation) as target:
        rows = list_views.diff(target, fmt, start, end)
        span = f"since {start}" + (f" until {end}" if end else "")
        _write(rows, list_views.DIFF_COLUMNS, fmt, f"no change in {target.title} {span}")


@cli.command()
@config_option
@click.argument("account")
@format_option()
def mutuals(config_path: str | None, account: str, fmt: str) -> None:
    """The accounts ACCOUNT follows that follow it back (both lists must be watched)."""
    from watcher import list_views
    from watcher.account_lookup import AccountLookup
    from watcher.store.memberships import MEMBER_COLUMNS

    config = _config(config_path)
    with _store(config) as store:
        lookup = AccountLookup(config.watch, store)
        following = list_views.watched_list(store, lookup.watch_of(account, "following"))
        followers = list_views.watched_list(store, lookup.watch_of(account, "followers"))
        rows = list_views.mutuals(following, followers, fmt)
        name = following.watched.shown
        _write(rows, MEMBER_COLUMNS, fmt, f"no account both follows and is followed by {name}")


@cli.command()
@config_option
@click.argument("account")
@_RELATION
@format_option()
def history(config_path: str | None, account: str, relation: str | None, fmt: str) -> None:
    """ACCOUNT's list per day: its size at the day's last complete poll, follows, unfollows."""
    from watcher import list_views

    with _watched_list(config_path, account, relation) as target:
        rows = list_views.history(target)
        _write(rows, list_views.HISTORY_COLUMNS, fmt, f"no history of {target.title} yet")


def _plain(text: str) -> str:
    """Names and errors come from strangers: no secret and no control character reaches the
    terminal or a log, and a line stays one line."""
    return printable(logs.redact(text))


def _json(value: object) -> str:
    """One JSON line for a terminal or a pipe: redacted, nothing a terminal acts on."""
    return json_line(logs.redact(json.dumps(value, ensure_ascii=False)))


@cli.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per watch.")
@click.option(
    "--check",
    is_flag=True,
    help="Print only what needs someone, one line each, and exit 1 if anything does"
    " (a failing or never polled watch, a disabled notifier, a dead delivery).",
)
def status(config_path: str | None, as_json: bool, check: bool) -> None:
    """One row per watch: size, last poll (time, outcome, passes, duration), next poll."""
    from watcher.daemon_lock import daemon_holds

    if check and as_json:
        raise click.UsageError("--check prints lines for scripts; leave out --json")
    config = _config(config_path)
    if check:
        _check(config)
        return
    now = SystemClock().now()
    daemon_running = daemon_holds(config.database_path)
    with _store(config) as store:
        from watcher import health
        from watcher.watch_status import notifier_rows, watch_rows

        rows = watch_rows(config, store, now, daemon_running=daemon_running)
        keys = {watch.key for watch in config.watch}
        click.echo(health.summary_line(store, keys, now), err=True)
        notifiers = notifier_rows(config, store, now)
    if as_json:
        for row in rows:
            click.echo(_json(row))
        for notifier in notifiers:
            click.echo(_json(notifier))
        return
    if not rows:
        click.echo("no [[watch]] entries in the config")
        return
    headers = [
        "PLATFORM",
        "ACCOUNT",
        "RELATION",
        "SIZE",
        "LAST POLL",
        "OUTCOME",
        "PASSES",
        "TOOK",
        "EVERY",
        "NEXT POLL",
    ]
    table = [headers] + [
        [
            r["platform"],
            _plain(r["account"]),
            r["relation"],
            "-" if r["size"] is None else str(r["size"]),
            r["last_poll_at"] or "-",
            r["outcome"] or "never polled",
            "-" if r["passes"] is None else str(r["passes"]),
            "-" if r["duration_ms"] is None else format_duration(r["duration_ms"] / 1000),
            _every(r["interval_s"], r["planned_interval_s"]),
            r["next_poll_at"],
        ]
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
    for line in table:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
    for r in rows:
        if r["outcome"] == "error":
            click.echo(
                f"{r['platform']} {_plain(r['account'])}: {_plain(str(r['error']))}", err=True
            )
    _print_notifiers(config, notifiers)


def _check(config: Config) -> None:
    """`status --check`: one line per problem (exit 1), or one `ok` line (exit 0)."""
    from watcher import health

    with _store(config) as store:
        found = health.problems(store, config.watch, list(config.notifiers))
    for line in found:
        click.echo(_plain(line))
    if found:
        sys.exit(EXIT_FAILED)
    watches, notifiers = len(config.watch), len(config.notifiers)
    click.echo(
        f"ok: {watches} watch{'' if watches == 1 else 'es'} polling,"
        f" {notifiers} notifier{'' if notifiers == 1 else 's'} delivering"
    )


def _every(configured: float, planned: float) -> str:
    """`15m`, or `47m (quota; 15m)` when the planner stretched it."""
    from watcher.fleet_plan import format_interval

    if planned <= configured:
        return format_interval(configured)
    return f"{format_interval(planned)} (quota; {format_interval(configured)})"


@cli.command("plan")
@config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per watch, then platform.")
def plan_command(config_path: str | None, as_json: bool) -> None:
    """How often each watch polls to stay within its platform's quotas, and what that costs."""
    from watcher.fleet_plan import plan_fleet

    config = _config(config_path)
    with _store(config) as store:
        plan = plan_fleet(config, store, SystemClock().now())
        handles = store.watches.handles()
    if as_json:
        for line in _plan_rows(plan, handles):
            click.echo(_json(line))
        return
    _print_plan(plan, handles)


def _plan_rows(plan: FleetPlan, handles: dict[str, str]) -> list[dict[str, Any]]:
    from watcher.wording import watched_account

    rows: list[dict[str, Any]] = [
        {
            "platform": w.watch.platform,
            "account": watched_account(w.watch.account, handles.get(w.watch.key)),
            "configured_account": w.watch.account,
            "relation": w.watch.relation,
            "requests_per_poll": round(w.cost, 2),
            "interval_s": w.interval,
            "planned_interval_s": w.planned,
            "requests_per_month": w.requests_per_month,
        }
        for w in plan.watches
    ]
    for name, p in plan.platforms.items():
        quota = {
            "per_month": p.per_month,
            "per_day": p.per_day,
            "used_month": p.used_month,
            "used_day": p.used_day,
            "projected_month": p.projected_month,
            "resets_at": p.month_resets_at,
        }
        rows.append({"platform": name, "quota": quota})
    return rows


def _print_plan(plan: FleetPlan, handles: dict[str, str]) -> None:
    from watcher.fleet_plan import format_interval
    from watcher.wording import watched_account

    if not plan.watches:
        click.echo("no [[watch]] entries in the config")
        return
    headers = ["PLATFORM", "ACCOUNT", "RELATION", "REQ/POLL", "EVERY", "PLANNED", "REQ/MONTH"]
    table = [headers] + [
        [
            w.watch.platform,
            _plain(watched_account(w.watch.account, handles.get(w.watch.key))),
            w.watch.relation,
            f"{w.cost:.1f}",
            format_interval(w.interval),
            format_interval(w.planned) + (" (stretched)" if w.stretched else ""),
            f"{w.requests_per_month:,}",
        ]
        for w in plan.watches
    ]
    _print_table(table)
    click.echo()
    for p in plan.platforms.values():
        click.echo(_quota_line(p))


def _quota_line(p: PlatformPlan) -> str:
    """`audius: quota 500,000 a month (5% reserve), none a day; used ...; projected ...`."""
    month = f"{p.per_month:,} a month" if p.per_month else "none a month"
    day = f"{p.per_day:,} a day" if p.per_day else "none a day"
    verdict = (
        f"intervals stretched to stay within the {p.binding_word()} quota"
        if p.binding
        else "every watch on its configured interval"
    )
    return (
        f"{p.platform}: quota {month}, {day} ({p.reserve:.0%} kept in reserve);"
        f" used {p.used_month:,} this month, {p.used_day:,} today;"
        f" projected {p.projected_month:,} this month, {p.projected_day:,} today;"
        f" month resets {p.month_resets_at}, day {p.day_resets_at}; {verdict}"
    )


@cli.command()
@click.option(
    "--rounds",
    type=click.IntRange(min=1),
    default=None,
    help="Run exactly N rounds, the first being the baseline (default: until Ctrl-C).",
)
@click.option("--interval", default="3s", show_default=True, help="Pause between rounds.")
@click.option("--seed", type=int, default=None, help="Seed the simulated churn.")
@click.option(
    "--keep",
    "keep",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the config and database in DIR, for `watcher events` and `status` after.",
)
def demo(rounds: int | None, interval: str, seed: int | None, keep: Path | None) -> None:
    """Show watcher end to end against built-in simulated APIs, no key or network needed.

    The simulators run with their harsh modes on (tie order that changes with every request,
    short pages, stale counts), so you see watcher repair what the pages hide; each event goes
    to a local chat receiver (printed as a Discord user would see it) and to a webhook
    receiver that verifies its signature. Runs until Ctrl-C unless --rounds is given.
    """
    from watcher.demo import run_demo

    try:
        pause = parse_duration(interval)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--interval") from None
    run_demo(rounds=rounds, pause=pause, seed=seed, keep=keep, echo=click.echo)


@cli.command()
@click.option(
    "--port",
    type=click.IntRange(1, 65534),
    default=8900,
    show_default=True,
    help="Audius listens here on 127.0.0.1, SoundCloud on the port after it.",
)
@click.option(
    "--churn-every",
    default="10s",
    show_default=True,
    help="How often an account follows or unfollows someone on each platform (0: never).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed the world and churn.")
def sim(port: int, churn_every: str, seed: int) -> None:
    """Run the simulated Audius and SoundCloud APIs until Ctrl-C, to try watcher without a key.

    Prints the config lines to paste into watcher.toml; then run `watcher once` or `watcher
    run` against it while accounts follow and unfollow each other live.
    """
    from watcher.simulate import run_sim

    try:
        every = parse_duration(churn_every)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--churn-every") from None
    run_sim(port=port, churn_every=every, seed=seed, echo=click.echo)


@cli.command("trending")
@config_option
@click.option("--window", default="7d", show_default=True, help="How far back: 7d, 36h, 90m.")
@click.option(
    "--min",
    "min_accounts",
    type=click.IntRange(1, 1000),  # trending_report.MIN_ACCOUNTS_RANGE
    default=2,
    show_default=True,
    help="Only targets at least this many watched accounts followed.",
)
@click.option("--platform", metavar="P", help="Only this platform's targets (audius, soundcloud).")
@format_option()
def trending_command(
    config_path: str | None, window: str, min_accounts: int, platform: str | None, fmt: str
) -> None:
    """Targets several watched accounts followed within the window, right now: the most
    followed first, then the earliest; with the target's followers, who followed and when."""
    from watcher import trending_report
    from watcher.platforms import registry

    seconds = _window(window)
    if platform is not None and platform not in registry.names():
        known = ", ".join(registry.names())
        raise click.BadParameter(f"{platform!r} is not one of {known}", param_hint="--platform")
    config = _config(config_path)
    with _store(config) as store:
        rows = trending_report.trending(
            config,
            store,
            SystemClock().now(),
            window=seconds,
            min_accounts=min_accounts,
            platform=platform,
        )
    if not trending_report.write_trending(rows, fmt, sys.stdout):
        click.echo(trending_report.empty_line(seconds, min_accounts, platform), err=True)


def _window(value: str) -> float:
    from watcher.trending_report import parse_window

    try:
        return parse_window(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--window") from None


# -- deliveries ---------------------------------------------------------------------------------


def _print_table(table: list[list[str]]) -> None:
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


def _print_notifiers(config: Config, rows: list[dict[str, Any]]) -> None:
    """The notifiers table and why a holding notifier is quiet, then on stderr what needs the
    operator: disabled, dead."""
    from watcher.sinks.holding import holding_line

    if not rows:
        return
    headers = ["NOTIFIER", "TYPE", "STATE", "PENDING", "HELD", "RETRYING", "DEAD", "DELIVERED"]
    table = [headers] + [
        [
            r["notifier"],
            r["type"],
            "disabled" if r["disabled_at"] else "ok",
            *(str(r[key]) for key in ("pending", "held", "retrying", "dead", "delivered")),
        ]
        for r in rows
    ]
    click.echo()
    _print_table(table)
    for r in rows:
        hold = config.notifiers[r["notifier"]].hold()
        if hold is not None:
            due = r["next_digest_at"]
            click.echo(holding_line(r["notifier"], hold, (r["held"], due) if due else None))
    for r in rows:
        if r["disabled_at"]:
            click.echo(
                f"notifier {r['notifier']} disabled since {r['disabled_at']}:"
                f" {_plain(r['disabled_reason'])}; fix the receiver, then"
                f" `watcher notify-test {r['notifier']}` re-enables it",
                err=True,
            )
    dead = sum(r["dead"] for r in rows)
    if dead:
        click.echo(
            f"{dead} dead deliver{'y' if dead == 1 else 'ies'}: see `watcher deliveries --dead`,"
            " replay with `watcher redeliver --dead`",
            err=True,
        )


@cli.command()
@config_option
@click.option("--failed", "show", flag_value="failed", help="Only those whose last attempt failed.")
@click.option("--dead", "show", flag_value="dead", help="Only dead ones (no more retries).")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    metavar="N",
    help="Only the newest N.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one delivery per line.")
def deliveries(config_path: str | None, show: str | None, limit: int, as_json: bool) -> None:
    """The outbox, oldest first: status, attempts, last error, next attempt. A delivery a
    notifier holds for a digest (its schedule, its quiet hours) is `held` until its time."""
    from watcher.sinks.holding import holding_line, waits_for_digest
    from watcher.sinks.labels import describe

    config = _config(config_path)
    now = iso(SystemClock().now())
    with _store(config) as store:
        rows = store.outbox.recent(show=show or "all", limit=limit)
        held = store.outbox.held(now)
    if as_json:
        for row in rows:
            fields = [f for f in row.__slots__ if f not in ("body", "urls_done", "batch")]
            shown = {f: getattr(row, f) for f in fields}
            shown["held_until"] = row.next_attempt_at if waits_for_digest(row, now) else None
            click.echo(_json({"what": describe([row]), **shown}))
        return
    if not rows:
        click.echo("no deliveries" if show is None else f"no {show} deliveries")
    else:
        headers = ["ID", "NOTIFIER", "WHAT", "STATE", "ATTEMPTS", "NEXT ATTEMPT", "LAST ERROR"]
        table = [headers] + [
            [
                str(row.id),
                row.notifier,
                _plain(describe([row])),
                "held" if waits_for_digest(row, now) else row.state,
                str(row.attempts),
                row.next_attempt_at if row.state == "pending" else "-",
                _plain(row.last_error or "-"),
            ]
            for row in rows
        ]
        _print_table(table)
    for name, notifier in config.notifiers.items():
        hold = notifier.hold()
        if show is None and hold is not None and name in held:
            click.echo(holding_line(name, hold, held[name]))


@cli.command()
@config_option
@click.argument("ids", nargs=-1, type=click.IntRange(min=1), metavar="[ID]...")
@click.option("--dead", "all_dead", is_flag=True, help="Re-queue every dead delivery.")
def redeliver(config_path: str | None, ids: tuple[int, ...], all_dead: bool) -> None:
    """Queue deliveries to be sent again now, with a fresh retry schedule."""
    if bool(ids) == all_dead:
        raise click.UsageError("give delivery IDs (see `watcher deliveries`) or --dead, not both")
    config = _config(config_path)
    now = iso(SystemClock().now())
    with _store(config) as store:
        if all_dead:
            count = store.outbox.requeue_dead(now)
            missing: list[int] = []
        else:
            found = store.outbox.requeue(ids, now)
            count = len(found)
            missing = [i for i in ids if i not in found]
    click.echo(
        f"re-queued {count} deliver{'y' if count == 1 else 'ies'}: `watcher once` sends them,"
        " or a running `watcher run` within seconds"
    )
    if missing:
        click.echo(f"no delivery with id {', '.join(map(str, missing))}", err=True)
        sys.exit(EXIT_FAILED)


@cli.command("notify-test")
@config_option
@click.argument("name")
def notify_test(config_path: str | None, name: str) -> None:
    """Send a test message through notifier NAME now; print each URL's outcome."""
    import asyncio

    from watcher.sinks.probe import probe

    config = _config(config_path)
    notifier = config.notifiers.get(name)
    if notifier is None:
        known = ", ".join(sorted(config.notifiers)) or "none configured"
        raise click.BadParameter(
            f"no [notifiers.{name}] in the config ({known})", param_hint="NAME"
        )
    now = SystemClock().now()
    results = asyncio.run(probe(name, notifier, now))
    for where, result in results:
        if result.ok:
            status = f" (HTTP {result.status})" if result.status else ""
            click.echo(f"{where}: ok{status}")
        else:
            click.echo(f"{where}: FAILED: {_plain(result.error or 'failed')}", err=True)
    if not all(result.ok for _, result in results):
        sys.exit(EXIT_FAILED)
    with _store(config) as store:
        if store.notifiers.enable(name):
            click.echo(
                f"notifier {name} re-enabled; `watcher redeliver --dead` replays what it missed"
            )


# Writing the output failed, not watcher: a full disk, a file too large, a closed pipe.
_OUTPUT_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EPIPE})


def _drop_stdout() -> None:
    with suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main() -> None:
    """Entry point: every error a user can cause ends as one line on stderr."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_CONFIG)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except Terminated:
        click.echo("terminated by SIGTERM; polls in flight committed nothing", err=True)
        sys.exit(EXIT_TERMINATED)
    except ConfigError as exc:
        click.echo(f"watcher: config error: {_plain(str(exc))}", err=True)
        sys.exit(EXIT_CONFIG)
    except WatcherError as exc:
        click.echo(f"watcher: {_plain(str(exc))}", err=True)
        sys.exit(EXIT_FAILED)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as exc:
        if exc.errno not in _OUTPUT_ERRORS:
            raise
        _drop_stdout()  # what is still buffered would fail again when Python exits
        if exc.errno != errno.EPIPE:  # a reader that stopped reading (`| head`) needs no line
            click.echo(f"watcher: cannot write the output: {exc.strerror}", err=True)
        sys.exit(EXIT_FAILED)
