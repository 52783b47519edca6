"""A progress bar for long management commands: drawn on a terminal, silent in cron.

    with Progress(total=len(ids), label="Posting") as bar:
        for batch in batches:
            ...
            bar.advance(len(batch))

The bar goes to standard error, so a command's standard output (its summary,
its ``--json``) stays clean for scripts, and it is drawn only when standard
error is a terminal: under cron, a pipe or a CI log nothing is written at all.
``CNPERP_PROGRESS=0`` turns it off on a terminal too, ``CNPERP_PROGRESS=1``
forces it on (to see it through ``tee``). Redraws are throttled to about ten
a second, so a loop over millions of rows does not spend its time drawing.
"""

import os
import sys
import time

WIDTH = 30
REDRAW_SECONDS = 0.1


def enabled_for(stream):
    """Return whether to draw on ``stream``: ``CNPERP_PROGRESS`` if set, else whether it is a terminal."""
    forced = os.environ.get("CNPERP_PROGRESS", "").strip().lower()
    if forced in ("0", "false", "no", "off"):
        return False
    if forced in ("1", "true", "yes", "on"):
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class Progress:
    """A one-line bar: ``label [#####-----] done/total pct% elapsed``; a no-op without a terminal."""

    def __init__(self, *, total, label, stream=None, enabled=None, unit=""):
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled_for(self.stream) if enabled is None else enabled
        self.total = max(int(total or 0), 0)
        self.label = label
        self.unit = f" {unit}" if unit else ""
        self.done = 0
        self.started = time.monotonic()
        self._drawn_at = 0.0
        self._closed = False

    def __enter__(self):
        self._draw(force=True)
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def advance(self, step=1):
        """Count ``step`` more items done."""
        self.update(self.done + step)

    def update(self, done, total=None):
        """Set the items done (and the total, when it becomes known late)."""
        if total is not None:
            self.total = max(int(total), 0)
        self.done = max(int(done), 0)
        self._draw(force=self.total and self.done >= self.total)

    def callback(self, done, total):
        """``update`` with the ``(done, total)`` signature that services take as ``progress=``."""
        self.update(done, total)

    def close(self):
        """Draw the final state and end the line; nothing when disabled."""
        if self._closed:
            return
        self._closed = True
        if self.enabled:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()

    def render(self):
        """Return the bar's text (without the carriage return)."""
        elapsed = time.monotonic() - self.started
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            filled = int(WIDTH * fraction)
            bar = "#" * filled + "-" * (WIDTH - filled)
            counts = f"{self.done:,}/{self.total:,}{self.unit} {fraction * 100:3.0f}%"
        else:
            # Unknown total: a bar that moves, so a stuck command looks stuck.
            position = self.done % WIDTH
            bar = "-" * position + "#" + "-" * (WIDTH - position - 1)
            counts = f"{self.done:,}{self.unit}"
        return f"{self.label} [{bar}] {counts} {elapsed:5.1f}s"

    def _draw(self, *, force=False):
        if not self.enabled or self._closed:
            return
        now = time.monotonic()
        if not force and now - self._drawn_at < REDRAW_SECONDS:
            return
        self._drawn_at = now
        # \r and erase-to-end-of-line: a shorter line leaves no tail of the last one.
        self.stream.write(f"\r{self.render()}\x1b[K")
        self.stream.flush()
