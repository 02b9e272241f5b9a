from __future__ import annotations

from django.contrib.auth.models import AbstractUser

from jwtsafe.models import SessionVersionMixin


class User(SessionVersionMixin, AbstractUser):
    """The example's user: Django's standard user plus jwtsafe's session version.

    ``SessionVersionMixin`` adds the ``session_version`` column. jwtsafe
    raises it to end every session of the user at once, for example when the
    password changes through ``save()``.
    """
