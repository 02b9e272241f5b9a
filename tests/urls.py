from django.contrib import admin
from django.urls import include, path

from tests.testapp import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("auth/", include("jwtsafe.urls")),
    path("whoami/", views.WhoAmIView.as_view(), name="whoami"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("basic-or-token/", views.BasicOrTokenView.as_view(), name="basic-or-token"),
    path("password/", views.PasswordChangeView.as_view(), name="password-change"),
    path("privileges/", views.PrivilegesView.as_view(), name="privileges"),
]
