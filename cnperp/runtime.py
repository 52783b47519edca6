"""What a server process does once its code is loaded, before its first request."""

import gc

from django.urls import get_resolver


def settle_after_start():
    """Import every view now, then put what start-up built out of the garbage collector's walks.

    A worker holds a few hundred thousand objects from start-up (modules,
    classes, the URL patterns, the schema's metadata) that live as long as it
    does. Python's collector walks all of them on each collection of its oldest
    generation, which a report's rows set off about once in 25 requests: 60 to
    90 ms added to that request (measured with ``gc.callbacks`` in the report
    benchmark). ``gc.freeze()`` moves them to a generation that is never
    walked; collections then walk only what requests have built since. The
    garbage start-up left is collected first, so nothing collectable is frozen.
    """
    # The URL patterns import the views, and the views the rest: loaded here, not by the first request.
    get_resolver().url_patterns  # noqa: B018 (the import is the point)
    gc.collect()
    gc.freeze()
