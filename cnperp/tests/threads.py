"""Run a request or a service call on a thread of its own, with its own database connection."""

import threading

from django.db import connection


def started(action):
    """Start ``action`` on its own thread; return ``(thread, outcome)``.

    Once the thread is joined, ``outcome["result"]`` holds what ``action`` returned, or the
    exception it raised (for the test to judge). The thread's connection is closed after it.
    """
    outcome = {}

    def run():
        try:
            outcome["result"] = action()
        except Exception as exc:  # judged by the test
            outcome["result"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome
