from django.apps import AppConfig


class JWTSafeConfig(AppConfig):
    name = "jwtsafe"
    verbose_name = "JWT sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, signals

        signals.connect_user_signals()
        # Django runs system checks for management commands only, so a WSGI
        # or ASGI server would otherwise serve with a weak key.
        checks.enforce_startup_checks()
