"""The WSGI entry point's request: a Content-Type Django cannot even read becomes a 415, not a 500.

Django parses the Content-Type header while it builds the request, before any
middleware runs, and catches only an unknown charset there. A parameter in
RFC 2231 form can make that parsing itself fail: ``charset*=utf-7''%2B2AA-``
decodes the charset's own name into a lone surrogate (UnicodeEncodeError), and
``charset*=utf-8''utf-8%00`` names a codec with a NUL in it (ValueError). The
exception escaped the handler, so the server answered a bare 500: no JSON, no
log line, no request id. Here such a header leaves a charset no codec has, and
``cnperp.middleware.RequestCharsetMiddleware`` answers it with its 415, logged
and counted like every other refusal.
"""

from django.core.handlers.wsgi import WSGIHandler, WSGIRequest

# No codec has this name, so the charset middleware refuses it as unknown.
UNREADABLE_CHARSET = "(unreadable charset parameter)"


class CharsetSafeWSGIRequest(WSGIRequest):
    def _set_content_type_params(self, meta):
        try:
            super()._set_content_type_params(meta)
        except ValueError:  # UnicodeError included
            self.content_type = ""
            self.content_params = {"charset": UNREADABLE_CHARSET}


class CharsetSafeWSGIHandler(WSGIHandler):
    request_class = CharsetSafeWSGIRequest
