"""Errors a user can cause. The CLI turns each into one line and an exit code."""


class WatcherError(Exception):
    """Base of every error that is the world's fault, not a bug."""


class ConfigError(WatcherError):
    """The configuration file is missing, unreadable or invalid (exit 2)."""


class PlatformError(WatcherError):
    """A platform answered in a way that makes this poll unusable (HTTP error, bad body)."""


class AccountNotFound(PlatformError):
    """The watched account does not exist (or no longer exists) on the platform."""


class AccountUnavailable(PlatformError):
    """The watched account exists but is deactivated, so its lists mean nothing."""


class UntrustworthyListing(PlatformError):
    """The listing contradicts itself (e.g. empty while the profile counts entries)."""


class DatabaseProblem(WatcherError):
    """The database file cannot be used right now: locked, full, read-only or damaged (exit 1;
    a supervisor may try again, unlike a configuration error)."""
