"""Statement routes under ``/api/v1/banking/``, no trailing slash.

``statements/import`` comes before the router so it is never read as the
detail route of a statement whose id is "import".
"""

from django.urls import path

from banking.api import statement_views as views
from cnperp.api import api_router

router = api_router()
# The banking router (banking.api.urls) owns the API root of /api/v1/banking/.
router.include_root_view = False
router.register("statements", views.BankStatementViewSet, basename="bank-statement")

urlpatterns = [
    path("statements/import", views.StatementImportView.as_view(), name="statement-import"),
    *router.urls,
]
