"""URLs of the example notes API.

- ``/``: a web page for the notes, which logs in with cookies.
- ``auth/``: jwtsafe's login, refresh, logout and logout-all endpoints, with
  tokens in JSON bodies and the ``Authorization`` header.
- ``web/auth/``: the same endpoints in cookie mode, for the web page.
- ``api/``: the notes, the current user and the password change.
- ``api/schema/``: the OpenAPI schema, YAML by default, JSON with
  ``?format=json``.
- ``admin/``: Django's admin, with session authentication for staff users.
"""

from django.contrib import admin
from django.urls import include, path
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("admin/", admin.site.urls),
    # The page sets Django's CSRF cookie, which its script sends back.
    path(
        "",
        ensure_csrf_cookie(TemplateView.as_view(template_name="notes/index.html")),
        name="home",
    ),
    path("auth/", include("jwtsafe.urls")),
    path("web/auth/", include("jwtsafe.cookie_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/", include("example_project.accounts.urls")),
    path("api/", include("example_project.notes.urls")),
]
