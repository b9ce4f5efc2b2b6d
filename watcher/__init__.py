"""watcher: follow/unfollow events from Audius and SoundCloud, kept in SQLite."""

__version__ = "0.1.0"
