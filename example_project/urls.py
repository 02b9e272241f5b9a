"""URLs of the example notes API.

- ``auth/``: jwtsafe's login, refresh, logout and logout-all endpoints.
- ``api/``: the notes, the current user and the password change.
- ``admin/``: Django's admin, with session authentication for staff users.
"""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("auth/", include("jwtsafe.urls")),
    path("api/", include("example_project.accounts.urls")),
    path("api/", include("example_project.notes.urls")),
]
