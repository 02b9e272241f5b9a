"""Login throttles built on DRF's ``SimpleRateThrottle``.

Rates come from ``JWTSAFE["LOGIN_THROTTLE_RATES"]`` so a project can change
them without defining DRF throttle scopes. A rate of ``None`` turns one off.

The attempt counts live in the cache. When it cannot be read, login returns
503: letting attempts through uncounted would switch the throttle off for as
long as the cache is down.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from rest_framework.exceptions import APIException
from rest_framework.throttling import SimpleRateThrottle

from .conf import jwtsafe_settings
from .exceptions import RevocationServiceUnavailable

logger = logging.getLogger("jwtsafe")


class LoginRateThrottle(SimpleRateThrottle):
    rate_name = ""

    def get_rate(self) -> str | None:
        return jwtsafe_settings.login_throttle_rates.get(self.rate_name)

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return bool(super().allow_request(request, view))
        except APIException:
            # The username throttle reads the body, so a body that fails to
            # parse raises DRF's 400 or 415 here. That is the client's error,
            # not the cache's.
            raise
        except Exception as error:
            logger.error("Login throttle cache unavailable: %s", type(error).__name__)
            raise RevocationServiceUnavailable() from error


class LoginIPRateThrottle(LoginRateThrottle):
    """Limit login attempts per client IP address."""

    scope = "jwtsafe_login_ip"
    rate_name = "ip"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {
            "scope": self.scope,
            "ident": self.get_ident(request),
        }


class LoginUsernameRateThrottle(LoginRateThrottle):
    """Limit login attempts per username, whatever address they come from."""

    scope = "jwtsafe_login_username"
    rate_name = "username"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        data = request.data
        username = data.get("username") if hasattr(data, "get") else None
        if not isinstance(username, str) or not username:
            return None
        # Hashing keeps arbitrary user input out of cache key syntax.
        ident = hashlib.sha256(
            username.casefold().encode("utf-8", "surrogatepass")
        ).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}
