from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from cnperp.health import health, prometheus_metrics, ready

# Answers under /api/ are JSON, even for a URL that matches no route.
handler400 = "cnperp.exceptions.bad_request"
handler404 = "cnperp.exceptions.page_not_found"
handler500 = "cnperp.exceptions.server_error"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("cnperp.api_urls")),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api-auth/", include("rest_framework.urls")),
    path("health", health, name="health"),
    path("ready", ready, name="ready"),
    path("metrics", prometheus_metrics, name="metrics"),
]
