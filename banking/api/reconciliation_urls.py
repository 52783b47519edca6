"""Reconciliation routes under ``/api/v1/banking/``, no trailing slash.

Included before the banking router, so ``reconciliation/...`` and
``statement-lines/<id>/create-transaction`` are never taken for detail routes.
"""

from django.urls import path, re_path

from banking.api import reconciliation_views as views
from cnperp.api import KEY_LOOKUP_REGEX

urlpatterns = [
    path("reconciliation", views.ReconciliationView.as_view(), name="reconciliation"),
    path("reconciliation/run", views.ReconciliationRunView.as_view(), name="reconciliation-run"),
    path(
        "reconciliation/finalize", views.ReconciliationFinalizeView.as_view(), name="reconciliation-finalize"
    ),
    path("reconciliation/matches", views.MatchListView.as_view(), name="reconciliation-matches"),
    re_path(
        rf"^reconciliation/matches/(?P<pk>{KEY_LOOKUP_REGEX})/accept$",
        views.MatchAcceptView.as_view(),
        name="reconciliation-match-accept",
    ),
    re_path(
        rf"^reconciliation/matches/(?P<pk>{KEY_LOOKUP_REGEX})/reject$",
        views.MatchRejectView.as_view(),
        name="reconciliation-match-reject",
    ),
    path("reconciliation/match", views.ManualMatchView.as_view(), name="reconciliation-match"),
    path("reconciliation/unmatch", views.UnmatchView.as_view(), name="reconciliation-unmatch"),
    re_path(
        rf"^statement-lines/(?P<pk>{KEY_LOOKUP_REGEX})/create-transaction$",
        views.StatementLineCreateTransactionView.as_view(),
        name="statement-line-create-transaction",
    ),
]
