"""Banking master data and documents. Included after the posting, statement,
reconciliation and report modules, whose ``transactions/<id>/<verb>`` routes the
anchored detail route here (``^transactions/<id>$``) does not shadow."""

from banking.api import views
from cnperp.api import api_router

router = api_router()
router.register("bank-accounts", views.BankAccountViewSet, basename="bank-account")
router.register("transactions", views.BankTransactionViewSet, basename="bank-transaction")
router.register("cash-submissions", views.CashSubmissionViewSet, basename="cash-submission")
router.register("float-allocations", views.FloatAllocationViewSet, basename="float-allocation")
router.register("transfers", views.BankTransferViewSet, basename="bank-transfer")
router.register("posting-rules", views.PostingRuleViewSet, basename="posting-rule")
router.register("csv-profiles", views.StatementCsvProfileViewSet, basename="csv-profile")
router.register("reconciliations", views.BankReconciliationViewSet, basename="bank-reconciliation")

urlpatterns = router.urls
