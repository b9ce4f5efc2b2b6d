"""Security headers on every response the application gives, errors and static files
included: a Content-Security-Policy that allows no inline script or style and nothing from
another host, no MIME sniffing, no referrer, no framing.

The pages need none of what the policy forbids: styles are classes in our own CSS file, and
charts are SVG images drawn on the server (`charts.py`). A chart is its own small document
whose inline styles are pygal's; its response carries a policy of its own
(`CHART_POLICY`), which forbids scripts there altogether.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
# An SVG chart shown by an <img>: its own inline styles, nothing else (no script at all).
CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"

HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """HEADERS on the response, unless the handler set one of them itself (a chart's policy);
    and `Cache-Control: no-store` on whatever did not say how long it may be kept."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _protect(exc)
        raise
    _protect(response)
    return response


def _protect(response: web.StreamResponse) -> None:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
