"""The dashboard, its feeds and its JSON API: read-only routes on aiohttp's web server, served
beside /healthz and /metrics (`watcher run` with `[http] listen`, or `watcher serve`).

`app.py` assembles the application from route modules, each with an `add_routes(app, reader)`:
a page is a handler (reading through the `StoreReader` of `reads.py`, which never writes) and a
template extending `base.html`. What every response shares lives in middlewares: the security
headers (`security.py`) and the token check (`auth.py`), applied to every route of the
application, the feeds' and the API's included.
"""
