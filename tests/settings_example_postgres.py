"""The example project's settings on PostgreSQL, for ``tests/test_load.py``.

``EXAMPLE_DATABASE_URL`` names the PostgreSQL database, which the load test
creates and drops. ``REDIS_URL``, ``JWTSAFE_SIGNING_KEY`` and everything else
keep their meaning from ``example_project.settings``.
"""

from __future__ import annotations

import os

import dj_database_url

from example_project.settings import *  # noqa: F403

DATABASES = {
    "default": {
        **dj_database_url.parse(os.environ["EXAMPLE_DATABASE_URL"]),
        # Persistent connections, as production servers use them; otherwise
        # every request under load would open a new PostgreSQL connection.
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
}
