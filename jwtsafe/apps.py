from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JWTSafeConfig(AppConfig):
    name = "jwtsafe"
    verbose_name = _("JWT sessions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, signals

        signals.connect_user_signals()
        # Django runs system checks for management commands only, so a WSGI
        # or ASGI server would otherwise serve with a weak key.
        checks.enforce_startup_checks()
