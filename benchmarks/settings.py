"""Settings for the request-path benchmark: the test settings plus the
authentication classes it compares."""

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework.authtoken"]  # noqa: F405
ROOT_URLCONF = "benchmarks.urls"
DEBUG = False

SIMPLE_JWT = {
    "SIGNING_KEY": JWTSAFE["SIGNING_KEY"],  # noqa: F405
    "ISSUER": JWTSAFE["ISSUER"],  # noqa: F405
    "AUDIENCE": JWTSAFE["AUDIENCE"],  # noqa: F405
}
