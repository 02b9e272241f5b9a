from django.contrib import admin
from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tests.testapp import views

router = SimpleRouter()
router.register(
    r"projects/(?P<project_pk>[0-9]{1,9})/tasks",
    views.ProjectTaskViewSet,
    basename="task",
)
router.register("documents", views.DocumentViewSet, basename="document")
router.register("unowned-tasks", views.MissingOwnerFieldViewSet, basename="unowned")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("auth/", include("jwtsafe.urls")),
    path("web/auth/", include("jwtsafe.cookie_urls")),
    path("cookie-whoami/", views.CookieWhoAmIView.as_view(), name="cookie-whoami"),
    path("public/", views.PublicView.as_view(), name="public"),
    path("whoami/", views.WhoAmIView.as_view(), name="whoami"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("basic-or-token/", views.BasicOrTokenView.as_view(), name="basic-or-token"),
    path("password/", views.PasswordChangeView.as_view(), name="password-change"),
    path("privileges/", views.PrivilegesView.as_view(), name="privileges"),
    path("scoped/", views.ScopedView.as_view(), name="scoped"),
    path("task-detail/<int:pk>/", views.TaskDetailView.as_view(), name="task-detail"),
    path("api/", include("example_project.notes.urls")),
    path("plain/whoami/", views.plain_whoami),
    path("plain/profile/", views.plain_profile),
    path("plain/async-whoami/", views.async_whoami),
    path("plain/async-profile/", views.async_profile),
    path("plain/cookie-whoami/", views.plain_cookie_whoami),
    path("plain/async-cookie-whoami/", views.async_cookie_whoami),
    path("plain/scoped/", views.plain_scoped),
    path("plain/open/", views.plain_open),
    path("plain/open-profile/", views.plain_open_profile),
    path("plain/async-open/", views.async_open),
    path("", include(router.urls)),
]
