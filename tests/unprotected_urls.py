"""A URL configuration with one view that the audit command must flag."""

from rest_framework.routers import SimpleRouter

from tests.testapp import views

router = SimpleRouter()
router.register("tasks", views.UnprotectedTaskViewSet, basename="unprotected-task")

urlpatterns = router.urls
