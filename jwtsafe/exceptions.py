"""API errors that jwtsafe returns besides DRF's own."""

from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException


class RevocationServiceUnavailable(APIException):
    """Neither the revocation cache nor the database could be read.

    jwtsafe refuses the request rather than accept a token it cannot check.
    """

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("Authentication is temporarily unavailable. Try again later.")
    default_code = "service_unavailable"
