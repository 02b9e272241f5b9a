"""DRF permission classes for object-level authorization.

A valid token proves who the caller is, not what they may touch. These
classes read current database state on every request, never roles or
permissions from the token, so a permission taken from a user stops working
on the user's next request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import (
    SAFE_METHODS,
    BasePermission,
    DjangoObjectPermissions,
)
from rest_framework.request import Request

from . import ownership
from .tokens import Claims


class IsOwner(BasePermission):
    """Allow the owner every method on an object, and its readers safe methods.

    The view names the owner with ``owner_field`` (``"owner"``, or a path
    such as ``"project__owner"``) and may name readers with ``reader_field``
    (such as ``"shared_with"``). A view without ``owner_field`` raises
    ``ImproperlyConfigured`` at its first request. Lists are not objects:
    pair this class with ``jwtsafe.filters.OwnerFilter`` so that lists hold
    only the user's objects and other users' ids get 404.
    """

    message = _("Only the owner may change this object.")

    def has_permission(self, request: Request, view: Any) -> bool:
        owner = ownership.owner_field(view)
        reader = ownership.reader_field(view)
        model = _view_model(view)
        if model is not None:
            ownership.check_user_path(model, owner, "owner_field")
            if reader is not None:
                ownership.check_user_path(model, reader, "reader_field")
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(
        self, request: Request, view: Any, obj: models.Model
    ) -> bool:
        owner = ownership.owner_field(view)
        reader = ownership.reader_field(view)
        ownership.check_user_path(type(obj), owner, "owner_field")
        user_pk = request.user.pk
        if ownership.same_user(ownership.owner_id(obj, owner), user_pk):
            return True
        if reader is not None:
            ownership.check_user_path(type(obj), reader, "reader_field")
            # One indexed query, whatever the path: the reader relation may
            # be many-to-many.
            manager = type(obj)._default_manager
            if manager.filter(pk=obj.pk, **{reader: user_pk}).exists():
                # A reader knows the object exists, so a write gets 403.
                return request.method in SAFE_METHODS
        # Anyone else gets the 404 of an id that does not exist, even on a
        # view without OwnerFilter.
        raise not_found(type(obj))


class ObjectPermissions(DjangoObjectPermissions):
    """Ask ``user.has_perm(perm, obj)`` for each object, as DRF's class does.

    Unlike DRF's ``DjangoObjectPermissions``, it requires no model-wide
    permission before the object check, because backends such as
    django-guardian and django-rules grant permissions per object. Reading
    needs the ``view`` permission. Creating needs the model-wide ``add``
    permission, because there is no object yet.

    Django's own ``ModelBackend`` grants no permission on an object, so
    without such a backend every object is denied. Lists are not objects:
    pair this class with a filter that scopes the queryset.
    """

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        if request.method != "POST":
            return True
        model = self._queryset(view).model
        perms = self.get_required_permissions(request.method, model)
        return bool(request.user.has_perms(perms))

    def has_object_permission(
        self, request: Request, view: Any, obj: models.Model
    ) -> bool:
        try:
            return bool(super().has_object_permission(request, view, obj))
        except Http404:
            # DRF raises a bare Http404, whose body differs from that of an
            # id that does not exist.
            raise not_found(type(obj)) from None


class HasScope(BasePermission):
    """Allow a request only when the access token carries the view's scopes.

    The view sets ``required_scopes``: a list for every method, or a dict
    from method to list, in which a missing method is denied. Scopes limit
    what a token may be used for, such as a read-only token for a report
    script. This is a coarse gate on whole views: it never replaces the
    object checks of ``IsOwner`` or ``ObjectPermissions``.
    """

    message = _("The access token lacks a scope that this request needs.")

    def has_permission(self, request: Request, view: Any) -> bool:
        required = _required_scopes(view, request.method or "")
        claims = request.auth
        if required is None or not isinstance(claims, Claims):
            return False
        return required <= claims.scopes


def not_found(model: type[models.Model]) -> Http404:
    """Return the 404 that ``get_object()`` raises for an id that does not exist.

    Not translated: Django's ``get_object_or_404`` (5.2) sends this English
    text in every language, so a translated body here would tell the caller
    that the object exists.
    """
    return Http404(f"No {model._meta.object_name} matches the given query.")


def _view_model(view: Any) -> type[models.Model] | None:
    """Return the model of the view's queryset, or None for a view without one."""
    queryset = getattr(view, "queryset", None)
    if queryset is None and hasattr(view, "get_queryset"):
        try:
            queryset = view.get_queryset()
        except (AssertionError, AttributeError, KeyError):
            return None
    model = getattr(queryset, "model", None)
    return model if isinstance(model, type) else None


def _required_scopes(view: Any, method: str) -> frozenset[str] | None:
    """Return the scopes the view needs for ``method``, None to deny it."""
    configured = getattr(view, "required_scopes", None)
    if isinstance(configured, Mapping):
        scopes = configured.get(method)
        if scopes is None and method == "HEAD":
            # DRF serves HEAD with the GET handler.
            scopes = configured.get("GET")
        return None if scopes is None else _scope_set(view, scopes)
    if configured is None:
        raise ImproperlyConfigured(
            f"{type(view).__name__} uses HasScope but sets no required_scopes. "
            "Set it to a list such as ['notes:read'], or to a dict from HTTP "
            "method to list."
        )
    return _scope_set(view, configured)


def _scope_set(view: Any, scopes: Any) -> frozenset[str]:
    is_list = isinstance(scopes, (list, tuple, set, frozenset))
    if not is_list or not all(isinstance(scope, str) for scope in scopes):
        raise ImproperlyConfigured(
            f"{type(view).__name__}.required_scopes must hold lists of scope "
            "names, not strings."
        )
    return frozenset(scopes)
