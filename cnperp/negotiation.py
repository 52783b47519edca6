"""Which format an answer is in: DRF's choice, with a clear 400 for a format the endpoint does not give.

Kept out of ``cnperp.api``: DRF reads this class from the settings while it defines
``APIView``, before the modules that build on it can be imported.
"""

from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation


class FormatNegotiation(DefaultContentNegotiation):
    """A ``?format=`` the endpoint does not render is a 400 naming the parameter and the formats it offers.

    DRF answers it 404, which on a detail route says that a record which exists does not
    (``transactions/bt-1?format=csv``). ``api``, the browsable API's pages for people, is
    left out of the formats named; it is no format a client reads.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        wanted = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        if wanted and wanted not in {renderer.format for renderer in renderers}:
            offered = ", ".join(dict.fromkeys(r.format for r in renderers if r.format != "api"))
            raise ValidationError({"format": [f'Unknown format "{wanted}"; use one of: {offered}.']})
        return super().select_renderer(request, renderers, format_suffix)
