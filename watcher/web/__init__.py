"""The dashboard: read-only pages over the database, served by aiohttp beside /healthz and
/metrics (`watcher run` with `[http] listen`, or `watcher serve`).

`app.py` assembles the application from route modules, each with an `add_routes(app)`: a page
is a handler (reading through `StoreReader`, which never writes) and a template extending
`base.html`. What every response shares lives in middlewares: the security headers
(`security.py`) and the token check (`auth.py`), applied to every route of the application.
"""
