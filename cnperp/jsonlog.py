"""Structured logs: one JSON object per line, carrying the request id of the request being served.

The request id comes from ``X-Request-ID`` (a proxy's or a client's) or is made
here; every line logged while a request is served carries it, so one grep on the
id finds the request line and whatever the services logged on its way.
"""

import contextvars
import json
import logging
from datetime import UTC, datetime

current_request_id = contextvars.ContextVar("cnperp_request_id", default="-")

# Attributes every LogRecord has; anything else was passed through ``extra=``.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "request_id"}


class RequestIdFilter(logging.Filter):
    """Stamp each record with the id of the request it belongs to ("-" outside a request)."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON: time, level, logger, message, request id, extras."""

    def format(self, record):
        entry = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", current_request_id.get()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))
