"""HTTP for platforms, OAuth and webhooks, in one place.

* `transport`: the seam. A request leaves through a `Transport`; production's is aiohttp's
  (`aiohttp_transport`, with its fast path inside), tests may pass any httpx transport.
* `client`: `DirectClient`, one deadline and one body cap around the transport.
* `layers` and `json_client`: metrics and the request budget composed around each attempt,
  and one retry policy (`retry`) deciding what is tried again (`statuses`).
* `identity`: the one User-Agent and TLS context every request carries.

Nothing is imported here: `watcher.http.retry` and `watcher.http.statuses` are read by
commands that must not load aiohttp (see tests/test_fast_start.py).
"""
