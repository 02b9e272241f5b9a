"""The login, refresh and logout URLs in cookie mode, under their own namespace.

Include them beside ``jwtsafe.urls`` when browsers use cookies and other
clients use the header: ``path("web/auth/", include("jwtsafe.cookie_urls"))``
gives ``jwtsafe_cookie:login`` and the rest.
"""

from django.urls import path

from . import views

app_name = "jwtsafe_cookie"

urlpatterns = [
    path("login/", views.LoginView.as_view(transport="cookie"), name="login"),
    path("refresh/", views.RefreshView.as_view(transport="cookie"), name="refresh"),
    path("logout/", views.LogoutView.as_view(transport="cookie"), name="logout"),
    path(
        "logout-all/",
        views.LogoutAllView.as_view(transport="cookie"),
        name="logout-all",
    ),
]
