from accounting.api import views
from cnperp.api import api_router

router = api_router()
router.register("gl-accounts", views.GLAccountViewSet, basename="gl-account")
router.register("periods", views.AccountingPeriodViewSet, basename="accounting-period")
router.register("journal-entries", views.JournalEntryViewSet, basename="journal-entry")

urlpatterns = router.urls
