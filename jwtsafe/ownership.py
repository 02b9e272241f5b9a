"""Owner and reader paths, shared by the permission classes and the filter.

A view names who owns its objects with ``owner_field``, a field name or a
path of related fields such as ``"project__owner"``, and may name users who
may read them with ``reader_field``, such as ``"shared_with"``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models

LOOKUP_SEPARATOR = "__"


def owner_field(view: Any) -> str:
    """Return the view's ``owner_field``, raising when it is missing.

    A view that uses ownership checks without naming the owner must fail
    at its first request, never allow every caller.
    """
    path = getattr(view, "owner_field", None)
    if not isinstance(path, str) or not path:
        raise ImproperlyConfigured(
            f"{type(view).__name__} uses jwtsafe's ownership checks but sets no "
            "owner_field. Set owner_field to the field that holds the owner, "
            "such as owner_field = 'owner' or 'project__owner'."
        )
    return path


def reader_field(view: Any) -> str | None:
    """Return the view's ``reader_field``, or None when it sets none."""
    path = getattr(view, "reader_field", None)
    if path is None:
        return None
    if not isinstance(path, str) or not path:
        raise ImproperlyConfigured(
            f"{type(view).__name__}.reader_field must be a field path such as "
            "'shared_with', or None."
        )
    return path


def check_user_path(model: type[models.Model], path: str, setting: str) -> None:
    """Raise ``ImproperlyConfigured`` unless ``path`` leads to the user's pk.

    Every step must be a relation, and the last must point at the user
    model's primary key: a foreign key with ``to_field="username"`` would
    compare a username with the caller's primary key. ``owner_field`` must
    also be a chain of forward foreign keys, so each object has one owner.
    """
    current: type[models.Model] = model
    field: Any = None
    for name in path.split(LOOKUP_SEPARATOR):
        try:
            field = current._meta.get_field(name)
        except FieldDoesNotExist:
            raise ImproperlyConfigured(
                f"{setting} {path!r} does not name a field path of "
                f"{model.__name__}: {current.__name__} has no field {name!r}."
            ) from None
        related = field.related_model
        if related is None or isinstance(related, str):
            raise ImproperlyConfigured(
                f"{setting} {path!r} on {model.__name__} must end at a relation "
                f"to the user model, but {name!r} is not a relation."
            )
        if setting == "owner_field" and not (
            field.concrete and (field.many_to_one or field.one_to_one)
        ):
            raise ImproperlyConfigured(
                f"owner_field {path!r} on {model.__name__} must follow foreign "
                f"keys, so that an object has one owner, but {name!r} is not "
                "a foreign key. Use reader_field for many users."
            )
        current = related
    user_model = get_user_model()
    if current is not user_model:
        raise ImproperlyConfigured(
            f"{setting} {path!r} on {model.__name__} leads to "
            f"{current.__name__}, not to the user model."
        )
    target = getattr(field, "target_field", None)
    if field.concrete and target is not None and target != user_model._meta.pk:
        raise ImproperlyConfigured(
            f"{setting} {path!r} on {model.__name__} points at the user's "
            f"{target.name!r}, not at the primary key that tokens carry."
        )


def owner_id(obj: models.Model, path: str) -> Any:
    """Return the primary key of the user at ``path`` on ``obj``, or None.

    The last step reads the foreign key column, so ``"owner"`` costs no
    query, and each related object before it is loaded as Django loads it.
    """
    *steps, last = path.split(LOOKUP_SEPARATOR)
    current: Any = obj
    for name in steps:
        current = getattr(current, name)
        if current is None:
            return None
    field = current._meta.get_field(last)
    return getattr(current, field.attname)


def same_user(first: Any, second: Any) -> bool:
    """Compare two user primary keys in the user model's own type.

    The token gives an int or a UUID and a foreign key column gives the
    same type, but a string from elsewhere compares equal only after this.
    """
    if first is None or second is None:
        return False
    to_python = get_user_model()._meta.pk.to_python
    return bool(to_python(first) == to_python(second))
