"""Every API route under ``/api/v1/``; each app contributes its own routes.

Routes have no trailing slash, as the deployment guide writes them
(``/api/v1/banking/transactions/{id}/post-accounting``).
"""

from django.urls import include, path

from cnperp.api import ApiRootView
from cnperp.security import TokenView

urlpatterns = [
    path("", ApiRootView.as_view(), name="api-v1-root"),
    path("auth/token", TokenView.as_view(), name="api-token"),
    path("dimensions/", include("dimensions.api.urls")),
    path("accounting/", include("accounting.api.urls")),
    path("banking/", include("banking.api.posting_urls")),
    path("banking/", include("banking.api.statement_urls")),
    path("banking/", include("banking.api.reconciliation_urls")),
    path("banking/", include("banking.api.report_urls")),
    path("banking/", include("banking.api.urls")),
]
