import logging

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger("jwtsafe")


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
        register_schema_extensions()


def register_schema_extensions() -> None:
    """Import jwtsafe's drf-spectacular extensions when drf-spectacular is installed.

    drf-spectacular finds extensions by the import of their module.
    drf-spectacular is optional, and a failure here only leaves jwtsafe out
    of the OpenAPI schema, so it is logged and never stops startup.
    """
    try:
        import drf_spectacular  # noqa: F401
    except ImportError:
        return
    except Exception:
        logger.exception(_SCHEMA_FAILURE)
        return
    try:
        from . import schema  # noqa: F401
    except Exception:
        logger.exception(_SCHEMA_FAILURE)


_SCHEMA_FAILURE = (
    "jwtsafe's drf-spectacular extensions failed to load, so the OpenAPI "
    "schema does not describe jwtsafe. Reinstall drf-spectacular>=0.27, or "
    "uninstall it if the project does not generate a schema."
)
