import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cnperp.settings")

# What get_wsgi_application() does, with the request class that survives any Content-Type.
django.setup(set_prefix=False)

from cnperp.handlers import CharsetSafeWSGIHandler  # noqa: E402 (needs the apps set up)

application = CharsetSafeWSGIHandler()

from cnperp.runtime import settle_after_start  # noqa: E402

settle_after_start()
