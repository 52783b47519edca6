"""API rate limits: DRF's anonymous and per-user throttles, rates read at request time.

DRF reads ``DEFAULT_THROTTLE_RATES`` once, when it is imported; these read it on
every request, so the test suite can switch the limits off and one test can
switch them on (``DJANGO_API_THROTTLE_USER``/``_ANON`` in production). This
module imports no DRF view: the settings name it, and DRF's views import it.
"""

from rest_framework import throttling
from rest_framework.settings import api_settings

from cnperp.client_address import client_address


class _RatesFromSettings:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        # DRF's own reading trusts any X-Forwarded-For a client sends (cnperp.client_address).
        return client_address(request)


class AnonRateThrottle(_RatesFromSettings, throttling.AnonRateThrottle):
    """Requests without credentials, per address."""


class UserRateThrottle(_RatesFromSettings, throttling.UserRateThrottle):
    """Requests of one signed-in user, wherever they come from."""
