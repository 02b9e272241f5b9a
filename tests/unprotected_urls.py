"""A URL configuration whose every view the audit command must flag."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from tests.testapp import views

router = SimpleRouter()
router.register("tasks", views.UnprotectedTaskViewSet, basename="unprotected-task")
router.register("member-tasks", views.ReadersWriteViewSet, basename="member-task")

urlpatterns = [
    *router.urls,
    path("plain/<int:pk>/", views.PlainTaskView.as_view()),
    re_path(r"^positional/([0-9]+)/$", views.PlainTaskView.as_view()),
]
