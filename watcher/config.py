"""The TOML configuration, assembled: its own keys here, each platform's `[<platform>]` section
and each notifier kind's `[notifiers.NAME]` table as that kind declares it (the registries).

Every key is documented in `config.example.toml`. Strings may say `${NAME}` to take a value
(typically a secret) from the environment, so the file itself can be committed.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

# The event types are config's to name; config_fields holds them for the kinds' sections.
from watcher.config_fields import ALERT_TYPES as ALERT_TYPES
from watcher.config_fields import EVENT_TYPES as EVENT_TYPES
from watcher.config_fields import (
    Check,
    ConfirmAfter,
    FullEvery,
    Interval,
    Jitter,
    Strict,
    Timeout,
    integer,
)
from watcher.durations import shown
from watcher.errors import ConfigError
from watcher.platforms import registry as platform_registry
from watcher.platforms.kind import PlatformSettings
from watcher.signals import registry as signal_registry
from watcher.signals.kind import SignalSettings
from watcher.sinks import registry as sink_registry
from watcher.sinks.sink import NotifierSettings

DEFAULT_PATH = "watcher.toml"
ENV_PATH = "WATCHER_CONFIG"

# Jitter never exceeds this share of a watch's interval: a 30 s default jitter must not turn
# a 2 s interval into "now and then".
MAX_JITTER_SHARE = 0.1
# A config file is a few kilobytes; anything past this is not one (or is /dev/zero).
MAX_FILE_BYTES = 1 << 20
# Arrays and inline tables nested deeper than this, or dotted keys of more parts, are refused
# before tomllib sees them: it recurses (and slows to a crawl on long dotted keys) without limit.
MAX_NESTING = 32
_UTF8_BOM = b"\xef\xbb\xbf"


class Defaults(Strict):
    interval: Interval = 900.0
    jitter: Jitter = 30.0
    timeout: Timeout = 30.0
    max_passes: Annotated[int, integer(1, 20)] = 4
    # How long an account must stay missing from a list, across polls, before its absence
    # counts (longer than the platform's replicas lag behind each other).
    confirm_after: ConfirmAfter = 60.0
    # Failed polls in a row before a watch alerts its notifiers (once); 0 turns alerts off.
    alert_after: Annotated[int, integer(0, 1000)] = 3
    # "counts": skip reading an unchanged list, reading it at least every `full_every`-th poll.
    check: Check = "full"
    full_every: FullEvery = 4


# One `[notifiers.NAME]` table: the kind its `type` names picks the model (sinks/registry.py).
if TYPE_CHECKING:
    Notifier = NotifierSettings
else:
    Notifier = Annotated[sink_registry.settings_union(), Field(discriminator="type")]

# One `[[signal]]` table: the kind its `type` names picks the model (signals/registry.py).
if TYPE_CHECKING:
    Signal = SignalSettings
else:
    Signal = Annotated[signal_registry.settings_union(), Field(discriminator="type")]


class Watch(Strict):
    platform: str
    account: str = Field(min_length=1)
    relation: Literal["following", "followers"] = "following"
    interval: Interval | None = None
    jitter: Jitter | None = None
    notify: list[str] = Field(default_factory=list)
    check: Check | None = None
    full_every: FullEvery | None = None

    @field_validator("account")
    @classmethod
    def _strip(cls, value: str) -> str:
        stripped = value.strip()
        if not stripped:
            raise ValueError("account must not be empty")
        return stripped

    @property
    def key(self) -> str:
        """Stable identity of the watch in the database."""
        return f"{self.platform}:{self.account}:{self.relation}"


# A dashboard token shorter than this is too easy to guess.
MIN_TOKEN_LENGTH = 16


class HttpSettings(Strict):
    """The read-only endpoint: the dashboard, /healthz and /metrics; off unless `listen` is
    set (`watcher serve --listen` sets it too). `token`: every route but /healthz asks for it."""

    listen: str | None = None
    token: str | None = None

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parse_listen(value)
        return value.strip()

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: str | None) -> str | None:
        if value is None:
            return None
        token = value.strip()
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(
                f"must be at least {MIN_TOKEN_LENGTH} characters (got {len(token)}); make one"
                " with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        if any(ord(c) < 0x21 or ord(c) > 0x7E for c in token):
            raise ValueError("must be printable ASCII without spaces (it is sent in a header)")
        return token

    @property
    def address(self) -> tuple[str, int] | None:
        return None if self.listen is None else parse_listen(self.listen)


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT`, `[IPv6]:PORT`, or a bare `PORT` on loopback; ValueError otherwise."""
    text = value.strip()
    if text.isdigit():
        host, port_text = "127.0.0.1", text
    else:
        found = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d+)|([A-Za-z0-9.\-]+):(\d+)", text)
        if found is None:
            raise ValueError(f"{value!r} is not HOST:PORT (such as 127.0.0.1:8787)")
        host = found.group(1) or found.group(3)
        port_text = found.group(2) or found.group(4)
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"{value!r}: port {port} is out of range (0..65535)")
    return host, port


class LogSettings(Strict):
    format: Literal["text", "json"] = "text"
    level: Annotated[
        Literal["debug", "info", "warning", "error"],
        BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v),
    ] = "info"


class _Head(Strict):
    """The keys before the platform sections (pydantic reports problems in field order)."""

    database: str = "watcher.db"
    defaults: Defaults = Defaults()


def _platform_sections() -> dict[str, Any]:
    """A `[<platform>]` section for each registered platform, as its kind declares it."""
    models = {name: platform_registry.kind(name).settings for name in platform_registry.BUILTIN}
    return {name: (model, model()) for name, model in models.items()}


if TYPE_CHECKING:
    _WithPlatforms = _Head
else:
    _WithPlatforms = create_model("_WithPlatforms", __base__=_Head, **_platform_sections())

SettingsT = TypeVar("SettingsT", bound=PlatformSettings)


class Config(_WithPlatforms):
    notifiers: dict[str, Notifier] = Field(default_factory=dict)
    watch: list[Watch] = Field(default_factory=list)
    signal: list[Signal] = Field(default_factory=list)
    http: HttpSettings = HttpSettings()
    log: LogSettings = LogSettings()
    # Set by load(); relative database paths are taken relative to the config file.
    base_dir: Path = Path(".")

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        registry = platform_registry
        seen: set[str] = set()
        for index, watch in enumerate(self.watch):
            where = watch_label([w.model_dump() for w in self.watch], index)
            if watch.platform not in registry.names():
                known = ", ".join(registry.names())
                raise ValueError(
                    f"{where}: platform: unknown platform {watch.platform!r} ({known})"
                )
            for name in watch.notify:
                if name not in self.notifiers:
                    raise ValueError(f"{where}: notify: no [notifiers.{name}] is defined")
            if watch.key in seen:
                raise ValueError(f"{where}: the same watch is listed twice ({watch.key})")
            seen.add(watch.key)
            problem = self.platform_settings(watch.platform).problem_for_watches()
            if problem is not None:
                raise ValueError(problem)
        self._check_signals()
        return self

    def _check_signals(self) -> None:
        names: set[str] = set()
        raw = [{"name": s.name} for s in self.signal]
        for index, signal in enumerate(self.signal):
            where = signal_label(raw, index)
            if signal.name in names:
                raise ValueError(f"{where}: name: another [[signal]] has this name")
            names.add(signal.name)
            for name in signal.notify:
                notifier = self.notifiers.get(name)
                if notifier is None:
                    raise ValueError(f"{where}: notify: no [notifiers.{name}] is defined")
                event_type = signal_registry.kind(signal.type).event_type
                if notifier.events is not None and event_type not in notifier.events:
                    raise ValueError(
                        f"{where}: notify: [notifiers.{name}] takes only the events its"
                        f" `events` lists, which leaves out {event_type}"
                    )
            problem = signal.problem_with(self.watch)
            if problem is not None:
                raise ValueError(f"{where}: {problem}")

    def platform_settings(self, platform: str) -> PlatformSettings:
        """The `[<platform>]` section: every registered platform has one, named after it."""
        settings = getattr(self, platform, None)
        if not isinstance(settings, PlatformSettings):
            raise KeyError(f"no [{platform}] settings section")
        return settings

    def section(self, platform: str, model: type[SettingsT]) -> SettingsT:
        """`platform_settings`, typed as the model its kind declares (for its client)."""
        settings = self.platform_settings(platform)
        if not isinstance(settings, model):
            raise TypeError(f"[{platform}] is a {type(settings).__name__}, not a {model.__name__}")
        return settings

    @property
    def database_path(self) -> Path:
        path = Path(os.path.expanduser(self.database))
        return path if path.is_absolute() else self.base_dir / path

    def interval_of(self, watch: Watch) -> float:
        return watch.interval if watch.interval is not None else self.defaults.interval

    def check_of(self, watch: Watch) -> tuple[Check, int]:
        """(check, full_every) of a watch: its own keys, else `[defaults]`."""
        check = watch.check if watch.check is not None else self.defaults.check
        every = watch.full_every if watch.full_every is not None else self.defaults.full_every
        return check, every

    def jitter_of(self, watch: Watch) -> float:
        """The random delay (0..this) added to each run: as configured, at most a tenth of the
        watch's interval."""
        configured = watch.jitter if watch.jitter is not None else self.defaults.jitter
        return min(configured, MAX_JITTER_SHARE * self.interval_of(watch))


def watch_label(watches: object, index: int) -> str:
    """How a message names the watch at `index`: by its account, as the user wrote it.

    The relation (then the platform, then the position) is added only when another watch has
    the same account. A watch without a usable account is named by its position, from 1.
    """
    entries = watches if isinstance(watches, list) else []

    def key_of(i: int, key: str, default: str = "") -> str:
        entry = entries[i] if 0 <= i < len(entries) else None
        value = entry.get(key, default) if isinstance(entry, dict) else None
        return value.strip() if isinstance(value, str) else ""

    account = key_of(index, "account")
    if not account:
        return f"watch #{index + 1}"
    label = f"watch {shown(account, 60)}"
    same = [i for i in range(len(entries)) if key_of(i, "account") == account]
    details: list[str] = []
    for key, default in (("relation", "following"), ("platform", "")):
        mine = key_of(index, key, default)
        alike = [i for i in same if key_of(i, key, default) == mine]
        if len(same) > 1 and len(alike) < len(same) and mine:
            details.append(mine)
            same = alike
    if len(same) > 1:
        details.append(f"#{index + 1}")
    return f"{label} ({', '.join(details)})" if details else label


def signal_label(signals: object, index: int) -> str:
    """How a message names the `[[signal]]` at `index`: by its name, else its position."""
    entries = signals if isinstance(signals, list) else []
    entry = entries[index] if 0 <= index < len(entries) else None
    name = entry.get("name") if isinstance(entry, dict) else None
    if isinstance(name, str) and name.strip():
        return f"signal {shown(name.strip(), 60)}"
    return f"signal #{index + 1}"


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _UnsetVariable(Exception):
    def __init__(self, loc: tuple[int | str, ...], name: str) -> None:
        self.loc, self.name = loc, name


def _expand_env(node: Any, loc: tuple[int | str, ...] = ()) -> Any:
    """Replace ${NAME} in every string with the environment's value; a missing one is an error."""
    if isinstance(node, dict):
        return {key: _expand_env(value, (*loc, key)) for key, value in node.items()}
    if isinstance(node, list):
        return [_expand_env(value, (*loc, i)) for i, value in enumerate(node)]
    if isinstance(node, str):

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise _UnsetVariable(loc, name)
            return os.environ[name]

        return _ENV_REF.sub(substitute, node)
    return node


def _env_fallbacks(raw: dict[str, Any]) -> None:
    """Secrets a user may keep only in the environment, under the names each platform gives."""
    for name in platform_registry.BUILTIN:
        section = raw.setdefault(name, {})
        if not isinstance(section, dict):
            continue
        for key, env in platform_registry.kind(name).settings.ENVIRONMENT.items():
            if not section.get(key) and os.environ.get(env):
                section[key] = os.environ[env]


def resolve_path(explicit: str | Path | None) -> Path:
    """--config, else $WATCHER_CONFIG, else ./watcher.toml."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_PATH):
        return Path(os.environ[ENV_PATH])
    return Path(DEFAULT_PATH)


def parse(raw: dict[str, Any], *, source: str = "<config>", base_dir: Path = Path(".")) -> Config:
    """Validate an already-decoded TOML document."""
    try:
        expanded = _expand_env(raw)
    except _UnsetVariable as unset:
        where = _location(unset.loc, raw)
        raise ConfigError(
            f"{source}: {where}: environment variable {unset.name} is not set"
        ) from None
    _env_fallbacks(expanded)
    # Secrets are known to the log redactor before anything can echo them, errors included.
    from watcher.redaction import register_config_secrets

    register_config_secrets(expanded)
    expanded["base_dir"] = base_dir
    try:
        return Config.model_validate(expanded)
    except ValidationError as exc:
        raise ConfigError(_one_line(f"{source}: {_describe(exc, expanded)}")) from None


def load(explicit: str | Path | None = None) -> Config:
    """Read, check and validate the config file; every problem is one ConfigError line.

    Nothing is created or changed: a database whose directory is missing is an error here,
    like any other key that cannot work.
    """
    path = resolve_path(explicit)
    try:
        raw = _read_toml(path, explicit)
    except ConfigError as exc:
        raise ConfigError(_one_line(f"{path}: {exc}")) from None
    config = parse(raw, source=str(path), base_dir=path.resolve().parent)
    problem = database_problem(config.database_path)
    if problem is not None:
        raise ConfigError(_one_line(f"{path}: database: {problem}"))
    return config


def database_problem(path: Path) -> str | None:
    """Why `path` cannot be the SQLite database file (None: it can, or can be created)."""
    try:
        if path.exists() and not path.is_file():
            if path.is_dir():
                return f"{path} is a directory; name a file in it (such as {path / 'watcher.db'})"
            return f"{path} is not a regular file; name a database file"
        if not path.parent.exists():
            return f"the directory {path.parent} does not exist; create it first"
        if not path.parent.is_dir():
            return f"{path.parent} is not a directory"
    except OSError as exc:
        return f"cannot check {path}: {exc.strerror or exc}"
    return None


def _read_toml(path: Path, explicit: str | Path | None) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        hint = "" if explicit or os.environ.get(ENV_PATH) else " (use --config or WATCHER_CONFIG)"
        raise ConfigError(f"no such file{hint}") from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"larger than {MAX_FILE_BYTES >> 20} MiB: not a config file")
    text = _decode(data)
    problem = _nesting_problem(text)
    if problem is not None:
        raise ConfigError(problem)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from None
    except ValueError:  # Python's own limit on reading an integer of thousands of digits
        raise ConfigError("not valid TOML: a number far too long") from None
    except RecursionError:  # nesting the scan above missed, by way of something odd
        raise ConfigError(f"not valid TOML: nested more than {MAX_NESTING} deep") from None
    problem = _depth_problem(raw)
    if problem is not None:
        raise ConfigError(problem)
    if "base_dir" in raw:
        raise ConfigError("base_dir: unknown key")
    return raw


def _depth_problem(raw: dict[str, Any]) -> str | None:
    """Refuse a document nested deeper than any config key is, before anything recurses into
    it: the scan bounds each kind of nesting, but dotted keys inside inline tables multiply."""
    limit = 2 * MAX_NESTING
    stack: list[tuple[object, tuple[str, ...]]] = [(raw, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > limit:
            shown_path = ".".join(path[:3])
            return f"{shown_path}...: tables and arrays nested more than {limit} deep"
        if isinstance(node, dict):
            stack.extend((value, (*path, str(key))) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, (*path, f"[{i}]")) for i, value in enumerate(node))
    return None


def _decode(data: bytes) -> str:
    """UTF-8 text, a byte-order mark dropped; a NUL byte means UTF-16 (Notepad's "Unicode")."""
    start = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    nul = data.find(b"\x00", start)
    try:
        text = data[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = start + exc.start
        raise _not_utf8(data, nul if 0 <= nul < offset else offset) from None
    if nul >= 0:
        raise _not_utf8(data, nul)
    return text


def _not_utf8(data: bytes, offset: int) -> ConfigError:
    return ConfigError(
        f"not UTF-8 (byte 0x{data[offset]:02x} at offset {offset}); save the file as UTF-8"
    )


# What a cheap scan needs to see of TOML: strings and comments (skipped whole) and the
# characters that nest, separate or dot keys.
_TOKEN = re.compile(
    r'"""(?:\\.|[^\\])*?"""|\'\'\'.*?\'\'\'|"(?:\\.|[^"\\\n])*"|\'[^\'\n]*\'|#[^\n]*|[\[\]{}.,=\n]',
    re.DOTALL,
)


def _nesting_problem(text: str) -> str | None:
    """Refuse, before parsing, what would make tomllib recurse too deep or crawl."""
    depth = dots = 0
    line = 1
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token[0] in "\"'":
            line += token.count("\n")
        elif token == "\n":
            line, dots = line + 1, 0
        elif token in "[{":
            depth, dots = depth + 1, 0
            if depth > MAX_NESTING:
                return f"line {line}: arrays or inline tables nested more than {MAX_NESTING} deep"
        elif token in "]}":
            depth, dots = max(0, depth - 1), 0
        elif token == ".":
            dots += 1
            if dots >= MAX_NESTING:
                return f"line {line}: a dotted key of more than {MAX_NESTING} parts"
        elif token in ",=":
            dots = 0
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


# Pydantic's words for a type, as the config file's reader knows them.
_TYPE_WORDS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "list_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "finite_number": "a finite number",
}


def _describe(exc: ValidationError, raw: dict[str, Any]) -> str:
    """The first problem as `key.path: message`, which is what a user can act on."""
    errors = exc.errors()
    error = errors[0]
    loc = tuple(error["loc"])
    if len(loc) > 2 and loc[0] in ("notifiers", "signal"):
        loc = loc[:2] + loc[3:]  # drop the tag pydantic adds ("webhook") after the name
    kind, given, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "extra_forbidden":
        message = "unknown key"
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "value_error":
        message = error["msg"].removeprefix("Value error, ")
    elif kind == "union_tag_invalid":
        tags = " or ".join(str(ctx.get("expected_tags")).rsplit(", ", 1))
        loc, message = (*loc, "type"), f"must be {tags} (got {shown(ctx.get('tag'))})"
    elif kind == "union_tag_not_found":
        registry = signal_registry if loc[0] == "signal" else sink_registry
        kinds = " or ".join(repr(name) for name in registry.names())
        loc, message = (*loc, "type"), f"required key is missing ({kinds})"
    elif kind == "literal_error":
        message = f"must be {ctx.get('expected')} (got {shown(given)})"
    elif kind in ("too_short", "string_too_short"):
        message = "must not be empty"
    elif kind in _TYPE_WORDS:
        message = _wrong_type(loc, kind, given)
    else:
        message = error["msg"].replace("Input should be", "must be")
    extra = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    where = _location(loc, raw)
    return f"{where}: {message}{extra}" if where else f"{message}{extra}"


def _wrong_type(loc: tuple[int | str, ...], kind: str, given: object) -> str:
    if loc == ("watch",) and isinstance(given, dict):
        return "use [[watch]] (an array of tables) for each watch, not [watch]"
    if loc == ("notifiers",) and isinstance(given, list):
        return "use one [notifiers.NAME] table per notifier, not [[notifiers]]"
    if loc == ("signal",) and isinstance(given, dict):
        return "use [[signal]] (an array of tables) for each signal, not [signal]"
    if len(loc) == 1 and isinstance(given, list) and _TYPE_WORDS[kind] == "a table":
        return f"use [{loc[0]}] (a table), not [[{loc[0]}]]"
    if isinstance(given, dict | list):
        given_words = "a table" if isinstance(given, dict) else "an array"
    else:
        given_words = shown(given)
    return f"must be {_TYPE_WORDS[kind]} (got {given_words})"


def _location(loc: tuple[int | str, ...], raw: dict[str, Any]) -> str:
    """`defaults.interval`, `notifiers.crm.urls[0]`, or `watch 'deadmau5': interval`."""
    parts: tuple[int | str, ...] = loc
    prefix = ""
    if len(parts) >= 2 and parts[0] == "watch" and isinstance(parts[1], int):
        prefix, parts = watch_label(raw.get("watch"), parts[1]), parts[2:]
    elif len(parts) >= 2 and parts[0] == "signal" and isinstance(parts[1], int):
        prefix, parts = signal_label(raw.get("signal"), parts[1]), parts[2:]
    path = ".".join(f"[{part}]" if isinstance(part, int) else str(part) for part in parts)
    path = path.replace(".[", "[")
    return f"{prefix}: {path}" if prefix and path else prefix or path
