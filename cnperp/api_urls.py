"""Every API route under ``/api/v1/``; each app contributes its own router."""

from django.urls import include, path

urlpatterns = [
    path("dimensions/", include("dimensions.api.urls")),
    path("accounting/", include("accounting.api.urls")),
    path("banking/", include("banking.api.urls")),
]
