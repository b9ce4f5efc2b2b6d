"""The TOML configuration: the one place that knows its keys.

Every key is documented in `config.example.toml`. Strings may say `${NAME}` to take a value
(typically a secret) from the environment, so the file itself can be committed.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from watcher.durations import parse_duration
from watcher.errors import ConfigError

DEFAULT_PATH = "watcher.toml"
ENV_PATH = "WATCHER_CONFIG"
EVENT_TYPES = ("following.added", "following.removed", "follower.added", "follower.removed")
# Failure alerts: a watch failing several polls in a row, then polling cleanly again.
ALERT_TYPES = ("watch.failing", "watch.recovered")

Seconds = Annotated[float, BeforeValidator(parse_duration)]
# Jitter never exceeds this share of a watch's interval: a 30 s default jitter must not turn
# a 2 s interval into "now and then".
MAX_JITTER_SHARE = 0.1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(_Strict):
    interval: Seconds = Field(default=900.0, gt=0)
    jitter: Seconds = Field(default=30.0, ge=0)
    timeout: Seconds = Field(default=30.0, gt=0)
    max_passes: int = Field(default=4, ge=1, le=20)
    # How long an account must stay missing from a list, across polls, before its absence
    # counts (longer than the platform's replicas lag behind each other).
    confirm_after: Seconds = Field(default=60.0, ge=0, le=86_400)
    # Failed polls in a row before a watch alerts its notifiers (once); 0 turns alerts off.
    alert_after: int = Field(default=3, ge=0)


class PlatformSettings(_Strict):
    """What every platform section has: the request budget shared by its watches."""

    requests_per_second: float = Field(default=10.0, gt=0, le=10_000)
    max_concurrent: int = Field(default=4, ge=1, le=64)

    def problem_for_watches(self) -> str | None:
        """Why watches of this platform cannot run with these settings (None: they can)."""
        return None


class AudiusSettings(PlatformSettings):
    base_url: str = "https://api.audius.co/v1"
    api_key: str = ""
    app_name: str = ""
    page_size: int = Field(default=100, ge=1, le=100)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return _require_http(value)


class SoundCloudSettings(PlatformSettings):
    base_url: str = "https://api.soundcloud.com"
    token_url: str = "https://secure.soundcloud.com/oauth/token"
    client_id: str = ""
    client_secret: str = ""
    page_size: int = Field(default=200, ge=1, le=200)
    requests_per_second: float = Field(default=5.0, gt=0, le=10_000)
    max_concurrent: int = Field(default=2, ge=1, le=64)

    @field_validator("base_url", "token_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return _require_http(value)

    def problem_for_watches(self) -> str | None:
        missing = [key for key in ("client_id", "client_secret") if not getattr(self, key)]
        if not missing:
            return None
        names = " and ".join(f"soundcloud.{key}" for key in missing)
        env = " / ".join(f"SOUNDCLOUD_{key.upper()}" for key in missing)
        return f"{names}: required by soundcloud watches (or set {env} in the environment)"


class AppriseNotifier(_Strict):
    type: Literal["apprise"]
    urls: list[str] = Field(min_length=1)
    digest: bool = True
    events: list[str] | None = None
    # The longest a delivery waits for one URL's send (every part of it), see apprise_sink.
    timeout: Seconds = Field(default=60.0, gt=0)

    @field_validator("urls")
    @classmethod
    def _usable_urls(cls, value: list[str]) -> list[str]:
        from watcher.sinks.apprise_sink import describe_urls

        for index, problem in enumerate(describe_urls(value)):
            if problem is not None:
                raise ValueError(f"[{index}] {problem}")
        return value

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str] | None) -> list[str] | None:
        return _check_event_types(value)


class WebhookNotifier(_Strict):
    type: Literal["webhook"]
    url: str
    secret: str = Field(min_length=1)
    events: list[str] | None = None
    timeout: Seconds = Field(default=15.0, gt=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return _require_http(value)

    @field_validator("secret")
    @classmethod
    def _standard_secret(cls, value: str) -> str:
        from watcher.sinks.webhook import check_secret

        problem = check_secret(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str] | None) -> list[str] | None:
        return _check_event_types(value)


Notifier = Annotated[AppriseNotifier | WebhookNotifier, Field(discriminator="type")]


class Watch(_Strict):
    platform: str
    account: str = Field(min_length=1)
    relation: Literal["following", "followers"] = "following"
    interval: Seconds | None = Field(default=None, gt=0)
    jitter: Seconds | None = Field(default=None, ge=0)
    notify: list[str] = Field(default_factory=list)

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


class HttpSettings(_Strict):
    """The daemon's read-only endpoint (/healthz, /metrics); off unless `listen` is set."""

    listen: str | None = None

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parse_listen(value)
        return value.strip()

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


class LogSettings(_Strict):
    format: Literal["text", "json"] = "text"
    level: Annotated[
        Literal["debug", "info", "warning", "error"],
        BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v),
    ] = "info"


class Config(_Strict):
    database: str = "watcher.db"
    defaults: Defaults = Defaults()
    audius: AudiusSettings = AudiusSettings()
    soundcloud: SoundCloudSettings = SoundCloudSettings()
    notifiers: dict[str, Notifier] = Field(default_factory=dict)
    watch: list[Watch] = Field(default_factory=list)
    http: HttpSettings = HttpSettings()
    log: LogSettings = LogSettings()
    # Set by load(); relative database paths are taken relative to the config file.
    base_dir: Path = Path(".")

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        from watcher.platforms import registry

        seen: set[str] = set()
        for index, watch in enumerate(self.watch):
            where = f"watch[{index}]"
            if watch.platform not in registry.names():
                known = ", ".join(registry.names())
                raise ValueError(f"{where}.platform: unknown platform {watch.platform!r} ({known})")
            for name in watch.notify:
                if name not in self.notifiers:
                    raise ValueError(f"{where}.notify: no [notifiers.{name}] is defined")
            if watch.key in seen:
                raise ValueError(f"{where}: the same watch is listed twice ({watch.key})")
            seen.add(watch.key)
            problem = self.platform_settings(watch.platform).problem_for_watches()
            if problem is not None:
                raise ValueError(problem)
        return self

    def platform_settings(self, platform: str) -> PlatformSettings:
        """The `[<platform>]` section: every registered platform has one, named after it."""
        settings = getattr(self, platform, None)
        if not isinstance(settings, PlatformSettings):
            raise KeyError(f"no [{platform}] settings section")
        return settings

    @property
    def database_path(self) -> Path:
        path = Path(os.path.expanduser(self.database))
        return path if path.is_absolute() else self.base_dir / path

    def interval_of(self, watch: Watch) -> float:
        return watch.interval if watch.interval is not None else self.defaults.interval

    def jitter_of(self, watch: Watch) -> float:
        """The random delay (0..this) added to each run: as configured, at most a tenth of the
        watch's interval."""
        configured = watch.jitter if watch.jitter is not None else self.defaults.jitter
        return min(configured, MAX_JITTER_SHARE * self.interval_of(watch))


def _require_http(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.rstrip("/")


def _check_event_types(value: list[str] | None) -> list[str] | None:
    known = (*EVENT_TYPES, *ALERT_TYPES)
    if value is not None:
        for item in value:
            if item not in known:
                raise ValueError(f"unknown event type {item!r} (known: {', '.join(known)})")
    return value


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand_env(node: Any, path: str) -> Any:
    """Replace ${NAME} in every string with the environment's value; a missing one is an error."""
    if isinstance(node, dict):
        return {
            key: _expand_env(value, f"{path}.{key}" if path else key) for key, value in node.items()
        }
    if isinstance(node, list):
        return [_expand_env(value, f"{path}[{i}]") for i, value in enumerate(node)]
    if isinstance(node, str):

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(f"{path}: environment variable {name} is not set")
            return os.environ[name]

        return _ENV_REF.sub(substitute, node)
    return node


def _env_fallbacks(raw: dict[str, Any]) -> None:
    """Secrets a user may keep only in the environment, under well-known names."""
    audius = raw.setdefault("audius", {})
    if isinstance(audius, dict) and not audius.get("api_key") and os.environ.get("AUDIUS_API_KEY"):
        audius["api_key"] = os.environ["AUDIUS_API_KEY"]
    soundcloud = raw.setdefault("soundcloud", {})
    if isinstance(soundcloud, dict):
        for key in ("client_id", "client_secret"):
            env = f"SOUNDCLOUD_{key.upper()}"
            if not soundcloud.get(key) and os.environ.get(env):
                soundcloud[key] = os.environ[env]


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
        expanded = _expand_env(raw, "")
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    _env_fallbacks(expanded)
    # Secrets are known to the log redactor before anything can echo them, errors included.
    from watcher.logs import register_config_secrets

    register_config_secrets(expanded)
    expanded["base_dir"] = base_dir
    try:
        return Config.model_validate(expanded)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc)}") from None


def load(explicit: str | Path | None = None) -> Config:
    path = resolve_path(explicit)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        hint = "" if explicit or os.environ.get(ENV_PATH) else " (use --config or WATCHER_CONFIG)"
        raise ConfigError(f"{path}: no such file{hint}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if "base_dir" in raw:
        raise ConfigError(f"{path}: base_dir: unknown key")
    return parse(raw, source=str(path), base_dir=path.resolve().parent)


def _describe(exc: ValidationError) -> str:
    """The first problem as `key.path: message`, which is what a user can act on."""
    error = exc.errors()[0]
    location = ".".join(
        _loc_part(part) for part in error["loc"] if part not in ("apprise", "webhook")
    )
    location = location.replace(".[", "[")
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    extra = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{location}: {message}{extra}" if location else f"{message}{extra}"


def _loc_part(part: int | str) -> str:
    return f"[{part}]" if isinstance(part, int) else str(part)
