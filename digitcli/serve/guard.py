"""Who may use the collecting and fine-tuning API.

- A request from another origin is refused (a page elsewhere in the user's browser must not keep
  samples or switch models): its Origin must name the host it was sent to, and a browser's
  Sec-Fetch-Site must not say cross-site.
- Bound to loopback, the Host must be a loopback name (a DNS-rebinding page cannot pass as local).
- Bound off loopback, every request needs the token: `Authorization: Bearer TOKEN`, or ?token=TOKEN
  for the links the page shows (a drawing, the CSV download)."""

import hmac
import secrets
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
MAX_JSON_BYTES = 4096


def new_token():
    return secrets.token_urlsafe(18)


def _host_name(host):
    """The name part of a Host header: 'localhost' of 'localhost:8000', '[::1]' of '[::1]:8000'."""
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def refusal(request, token=None, loopback=True):
    """(status, message) when the request may not use the API, else None."""
    host = request.headers.get("host", "")
    origin = request.headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        if parts.netloc.lower() != host.lower():
            return 403, f"requests from {origin} are refused; use the page this server serves"
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return 403, "cross-site requests are refused; use the page this server serves"
    if loopback and _host_name(host.lower()) not in LOOPBACK_NAMES:
        return 403, f"Host {host!r} is not this machine's loopback name; open the page at http://127.0.0.1:PORT/"
    if token is not None:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        given = given or request.query_params.get("token", "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            return 401, "this server is reachable from other machines: add ?token=TOKEN, the token printed at start-up"
    return None


async def bounded_body(request, limit):
    """The body, or None when it is larger than `limit` (checked before reading when declared)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
