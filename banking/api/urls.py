"""Banking master data and documents. Included after the posting, statement,
reconciliation and report modules, whose ``transactions/<id>/<verb>`` routes the
anchored detail route here (``^transactions/<id>$``) does not shadow."""

from banking.api import views
from cnperp.api import api_router

# The routes of the other banking modules, so the browsable API's banking page reaches them all.
router = api_router(
    extra_links={
        "statements": "bank-statement-list",
        "statements/import": "statement-import",
        "reconciliation": "reconciliation",
        "reconciliation/matches": "reconciliation-matches",
        "cash-position": "cash-position",
        "dimensional-analysis": "dimensional-analysis",
        "variance-report": "variance-report",
        "transfer-tracking": "transfer-tracking",
    }
)
router.register("bank-accounts", views.BankAccountViewSet, basename="bank-account")
router.register("transactions", views.BankTransactionViewSet, basename="bank-transaction")
router.register("cash-submissions", views.CashSubmissionViewSet, basename="cash-submission")
router.register("float-allocations", views.FloatAllocationViewSet, basename="float-allocation")
router.register("transfers", views.BankTransferViewSet, basename="bank-transfer")
router.register("posting-rules", views.PostingRuleViewSet, basename="posting-rule")
router.register("csv-profiles", views.StatementCsvProfileViewSet, basename="csv-profile")
router.register("reconciliations", views.BankReconciliationViewSet, basename="bank-reconciliation")

urlpatterns = router.urls
