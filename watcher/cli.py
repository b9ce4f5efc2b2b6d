"""The `watcher` command: parse, call, print.

Errors a user can cause are one line on stderr and an exit code, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import timedelta
from typing import Any, TypeVar

import click

from watcher import __version__, health, logs, progress
from watcher.clock import SystemClock, iso, parse_iso
from watcher.config import EVENT_TYPES, Config, load
from watcher.durations import format_duration, parse_duration
from watcher.errors import ConfigError, WatcherError
from watcher.poll import Engine
from watcher.store import Store

F = TypeVar("F", bound=Callable[..., Any])
EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


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
    ctx = click.get_current_context()
    root = ctx.find_root().obj or {}
    return load(config_path or root.get("config_path"))


@contextmanager
def _store(config: Config) -> Iterator[Store]:
    store = Store.open(config.database_path)
    try:
        yield store
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
def once(config_path: str | None, log_format: str | None) -> None:
    """Poll every watch once and exit (0: all clean, 1: some failed, 2: config error)."""
    config = _config(config_path)
    _require_watches(config)
    as_json = (log_format or config.log.format) == "json"
    logs.setup("json" if as_json else "text", "info" if as_json else "warning")
    with _store(config) as store, progress.showing(sys.stderr) if not as_json else nullcontext():
        reports = asyncio.run(_poll_once(config, store))
    for report in reports:
        if as_json:
            _log_report(report)
            continue
        click.echo(logs.redact(report.line()), err=not report.ok)
        for event in report.events:
            click.echo(f"  {event.type} {_plain(event.target.name)} (@{event.target.handle})")
    if not all(report.ok for report in reports):
        sys.exit(EXIT_FAILED)


def _log_report(report: Any) -> None:
    log = logging.getLogger("watcher")
    (log.info if report.ok else log.warning)(report.line(), extra=report.fields())
    for event in report.events:
        log.info(
            "event %s %s -> %s",
            event.type,
            event.account.handle,
            event.target.handle,
            extra={"event_id": event.id, "type": event.type, "target_id": event.target.id},
        )


async def _poll_once(config: Config, store: Store) -> list[Any]:
    engine = Engine(config, store)
    try:
        return await engine.poll_all()
    finally:
        await engine.aclose()


@cli.command()
@config_option
@log_format_option
def run(config_path: str | None, log_format: str | None) -> None:
    """Run as a daemon: poll each watch on its interval until SIGTERM or Ctrl-C; SIGHUP reloads."""
    from watcher.scheduler import Daemon

    config = _config(config_path)
    _require_watches(config)
    logs.setup("json" if (log_format or config.log.format) == "json" else "text", config.log.level)

    def reload() -> Config:
        return _config(config_path)

    async def main() -> None:
        with _store(config) as store:
            engine = Engine(config, store)
            try:
                await Daemon(config, engine, load_config=reload).run()
            finally:
                await engine.aclose()

    asyncio.run(main())
    click.echo("watcher stopped", err=True)


_SINCE_HELP = "ISO date/time (2026-11-01, 2026-11-01T12:00:00Z) or an age such as 2h or 7d."


def _since(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        age = parse_duration(value)
    except ValueError:
        pass
    else:
        return iso(SystemClock().now() - timedelta(seconds=age))
    try:
        text = value if "T" in value else f"{value}T00:00:00Z"
        return iso(parse_iso(text))
    except ValueError:
        raise click.BadParameter(f"{value!r}: {_SINCE_HELP}", param_hint="--since") from None


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
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one event envelope per line.")
@click.option("--account", metavar="A", help="Only events of this watched account (handle or id).")
@click.option(
    "--type",
    "type_",
    metavar="T",
    help="following.added, follower.removed, ... or following/follower.",
)
@click.option("--since", metavar="WHEN", help=_SINCE_HELP)
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Only the newest N events.")
def events(
    config_path: str | None,
    as_json: bool,
    account: str | None,
    type_: str | None,
    since: str | None,
    limit: int | None,
) -> None:
    """Recorded events, oldest first."""
    config = _config(config_path)
    type_prefix, since_at = _event_type(type_), _since(since)
    with _store(config) as store:
        rows = store.events(account=account, type_prefix=type_prefix, since=since_at, limit=limit)
    for row in rows:
        if as_json:
            click.echo(row.body)
            continue
        target = row.envelope()["data"]["target"]
        click.echo(
            f"{row.timestamp}  {row.type:<18} @{_plain(row.account_handle)} -> "
            f"{_plain(target['name'])} (@{_plain(target['handle'])})  {row.id}"
        )


def _plain(text: str) -> str:
    """Display names come from strangers: no control characters reach the terminal."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", "?", text)


@cli.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per watch.")
def status(config_path: str | None, as_json: bool) -> None:
    """One row per watch: size, last poll (time, outcome, passes, duration), next poll."""
    config = _config(config_path)
    with _store(config) as store:
        rows = [_status_row(config, store, watch) for watch in config.watch]
        keys = {watch.key for watch in config.watch}
        click.echo(health.summary_line(store, keys, SystemClock().now()), err=True)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
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
        "NEXT POLL",
    ]
    table = [headers] + [
        [
            r["platform"],
            _plain(r["account"]),
            r["relation"],
            "-" if r["size"] is None else str(r["size"]),
            r["last_poll_at"] or "never",
            r["outcome"] or "-",
            "-" if r["passes"] is None else str(r["passes"]),
            "-" if r["duration_ms"] is None else format_duration(r["duration_ms"] / 1000),
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
            error = logs.redact(str(r["error"]))
            click.echo(f"{r['platform']} {_plain(r['account'])}: {_plain(error)}", err=True)


def _status_row(config: Config, store: Store, watch: Any) -> dict[str, Any]:
    row = store.watch(watch.key)
    next_poll = "at start"
    if row is not None and row.last_poll_at:
        due = parse_iso(row.last_poll_at) + timedelta(seconds=config.interval_of(watch))
        next_poll = "due" if due <= SystemClock().now() else iso(due)
    return {
        "platform": watch.platform,
        "account": watch.account,
        "relation": watch.relation,
        "account_id": row.account_id if row else None,
        "size": row.size if row else None,
        "last_poll_at": row.last_poll_at if row else None,
        "outcome": row.last_outcome if row else None,
        "error": row.last_error if row else None,
        "passes": row.last_passes if row else None,
        "duration_ms": row.last_duration_ms if row else None,
        "consecutive_failures": row.consecutive_failures if row else 0,
        "baseline_at": row.baseline_at if row else None,
        "next_poll_at": next_poll,
    }


@cli.command()
@click.option("--rounds", type=click.IntRange(min=1), default=None, help="Stop after N rounds.")
@click.option("--interval", default="3s", show_default=True, help="Pause between rounds.")
@click.option("--seed", type=int, default=None, help="Seed the simulated churn.")
def demo(rounds: int | None, interval: str, seed: int | None) -> None:
    """Run the real pipeline against the built-in simulated API, printing events live."""
    from watcher.demo import run_demo

    try:
        pause = parse_duration(interval)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--interval") from None
    run_demo(rounds=rounds, pause=pause, seed=seed, echo=click.echo)


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
    except ConfigError as exc:
        click.echo(f"watcher: config error: {logs.redact(str(exc))}", err=True)
        sys.exit(EXIT_CONFIG)
    except WatcherError as exc:
        click.echo(f"watcher: {logs.redact(str(exc))}", err=True)
        sys.exit(EXIT_FAILED)
    except KeyboardInterrupt:
        sys.exit(130)
