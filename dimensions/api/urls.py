from cnperp.api import api_router
from dimensions.api import views

router = api_router()
router.register("cost-centers", views.CostCenterViewSet, basename="cost-center")
router.register("projects", views.ProjectViewSet, basename="project")
router.register("departments", views.DepartmentViewSet, basename="department")
router.register("branches", views.BranchViewSet, basename="branch")

urlpatterns = router.urls
