"""Serving an aiohttp application on one address, as `watcher run` and `watcher serve` do:
bound before anything else starts, and a bind that fails is one line (`CannotListen`)."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket

from aiohttp import web

from watcher.errors import WatcherError

# Seconds open connections get to finish when the server stops: pages are quick.
SHUTDOWN_TIMEOUT = 1.0


class CannotListen(WatcherError):
    """`[http] listen` (or `--listen`) cannot be bound (exit 1: a supervisor restarts the
    daemon)."""

    def __init__(self, listen: str, exc: OSError) -> None:
        super().__init__(f"cannot listen on {listen}: {_bind_problem(exc)}")


def _bind_problem(exc: OSError) -> str:
    """`address already in use`: asyncio wraps the OS's reason in a sentence of its own."""
    if isinstance(exc, socket.gaierror) or not exc.errno or exc.errno not in errno.errorcode:
        reason = exc.strerror or str(exc)
    else:
        reason = os.strerror(exc.errno)
    return reason[:1].lower() + reason[1:]


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host` (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebServer:
    """`app` on `host:port`, from `start()` to `close()`."""

    def __init__(self, app: web.Application, host: str, port: int, listen: str) -> None:
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        self._host = host
        self._port = port
        self._listen = listen  # as the user wrote it, for the error line

    async def start(self) -> str:
        """Bind and serve; the base URL (with the real port when `port` was 0)."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise CannotListen(self._listen, exc) from None
        host, port = self._runner.addresses[0][:2]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    async def close(self) -> None:
        await self._runner.cleanup()
