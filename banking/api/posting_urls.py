"""Posting routes under ``/api/v1/banking/``: ``<documents>/<id>/<verb>``, no trailing slash.

Included before the banking router, so these verbs are never taken for a
detail route. Ids may contain dots (``KEY_LOOKUP_REGEX``).
"""

from django.urls import re_path

from banking.api import posting_views as views
from cnperp.api import KEY_LOOKUP_REGEX


def _route(documents, verb, view, name):
    return re_path(rf"^{documents}/(?P<pk>{KEY_LOOKUP_REGEX})/{verb}$", view.as_view(), name=name)


urlpatterns = [
    _route("transactions", "post-accounting", views.TransactionPostView, "bank-transaction-post"),
    _route("transactions", "reverse", views.TransactionReverseView, "bank-transaction-reverse"),
    _route("transactions", "correct", views.TransactionCorrectView, "bank-transaction-correct"),
    _route("cash-submissions", "post-accounting", views.CashSubmissionPostView, "cash-submission-post"),
    _route("cash-submissions", "reverse", views.CashSubmissionReverseView, "cash-submission-reverse"),
    _route("cash-submissions", "record-deposit", views.CashSubmissionDepositView, "cash-submission-deposit"),
    _route("float-allocations", "post-accounting", views.FloatAllocationPostView, "float-allocation-post"),
    _route("float-allocations", "post-return", views.FloatReturnPostView, "float-return-post"),
    _route("float-allocations", "reverse", views.FloatAllocationReverseView, "float-allocation-reverse"),
    _route("float-returns", "reverse", views.FloatReturnReverseView, "float-return-reverse"),
]
