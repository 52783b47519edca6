"""Report routes under ``/api/v1/banking/``, no trailing slash, as the deployment guide calls them."""

from django.urls import path

from banking.api import report_views as views

urlpatterns = [
    path("cash-position", views.CashPositionView.as_view(), name="cash-position"),
    path("dimensional-analysis", views.DimensionalAnalysisView.as_view(), name="dimensional-analysis"),
    path("variance-report", views.VarianceReportView.as_view(), name="variance-report"),
    path("transfer-tracking", views.TransferTrackingView.as_view(), name="transfer-tracking"),
]
