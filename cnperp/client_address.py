"""The address a request came from, as the rate limits, the lockout and the audit trail see it.

Without a proxy in front (``DJANGO_TRUSTED_PROXIES=0``, the default) it is the
connection's own address, ``REMOTE_ADDR``, and ``X-Forwarded-For`` is ignored:
anyone can write that header, so trusting it let a caller dodge the anonymous
rate limit with a made-up address on each request and write any address into
the audit trail. Behind ``n`` proxies that each append the address they saw
(nginx's ``$proxy_add_x_forwarded_for``), the client is the ``n``-th address
from the right of the header; what the client wrote itself stays to its left.
"""

from django.conf import settings


def client_address(request):
    """Return the client's address for ``request`` ("" when the server gave none)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = getattr(settings, "TRUSTED_PROXIES", 0)
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if forwarded:
            return forwarded[-min(proxies, len(forwarded))]
    return remote
