"""A DRF filter backend that limits querysets to what the user may see."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q, QuerySet
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

from . import ownership


class OwnerFilter(BaseFilterBackend):
    """Limit list and detail querysets to the user's objects and shared ones.

    The view names the owner with ``owner_field`` and, optionally, readers
    with ``reader_field``. DRF applies filter backends in ``get_object()``
    too, so another user's object id gets 404, the same as an id that does
    not exist: the response does not reveal which ids exist.
    """

    # Read by ``jwtsafe_audit``: this backend limits the queryset per user.
    scopes_queryset = True

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Any], view: Any
    ) -> QuerySet[Any]:
        owner = ownership.owner_field(view)
        reader = ownership.reader_field(view)
        model: type[models.Model] = queryset.model
        ownership.check_user_path(model, owner, "owner_field")
        if reader is not None:
            ownership.check_user_path(model, reader, "reader_field")

        user = request.user
        if not user or not user.is_authenticated:
            return queryset.none()
        condition = Q(**{owner: user.pk})
        if reader is None:
            return queryset.filter(condition)
        # A many-to-many reader path joins one row per reader, so the
        # result needs distinct().
        return queryset.filter(condition | Q(**{reader: user.pk})).distinct()
