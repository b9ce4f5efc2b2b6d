"""The dashboard, its feeds and its JSON API: read-only routes on aiohttp's web server."""
