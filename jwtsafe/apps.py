from django.apps import AppConfig


class JWTSafeConfig(AppConfig):
    name = "jwtsafe"
    verbose_name = "JWT sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals

        signals.connect_user_signals()
