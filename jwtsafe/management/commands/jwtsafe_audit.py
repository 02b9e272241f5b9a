"""List the DRF views that authenticate with jwtsafe but check no object access."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AND, NOT, OR, BasePermission, OperandHolder
from rest_framework.views import APIView

from jwtsafe.authentication import JWTAuthentication

# The format suffix parameter of DRF's routers names a renderer, not an object.
FORMAT_PARAMETER = "format"


@dataclass(frozen=True)
class Finding:
    """One view under one URL pattern, and whether it checks object access."""

    status: str
    view: str
    pattern: str
    authentication: str
    permissions: str


class Command(BaseCommand):
    help = (
        "List every DRF view that authenticates with jwtsafe, and exit with "
        "status 1 when one serves objects with no object-level permission "
        "class and no queryset-scoping filter."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--urlconf", help="URL configuration module; ROOT_URLCONF by default."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        resolver = get_resolver(options["urlconf"])
        findings = [
            finding
            for route, parameters, callback in walk(resolver.url_patterns)
            if (finding := audit_view(route, parameters, callback)) is not None
        ]
        self._print_table(findings)
        unprotected = [f for f in findings if f.status == "UNPROTECTED"]
        if unprotected:
            raise CommandError(
                f"{len(unprotected)} view(s) serve objects with no object-level "
                "check. Add jwtsafe.filters.OwnerFilter with "
                "jwtsafe.permissions.IsOwner, or ObjectPermissions with a scoping "
                "filter, or set jwtsafe_audit_exempt = '<reason>' on the view.",
                returncode=1,
            )
        self.stdout.write(f"{len(findings)} view(s) audited, none unprotected.")

    def _print_table(self, findings: list[Finding]) -> None:
        header = Finding("STATUS", "VIEW", "PATTERN", "AUTHENTICATION", "PERMISSIONS")
        rows = [header, *findings]
        widths = [
            max(len(getattr(row, name)) for row in rows)
            for name in ("status", "view", "pattern", "authentication")
        ]
        for row in rows:
            cells = [row.status, row.view, row.pattern, row.authentication]
            line = "  ".join(
                cell.ljust(width) for cell, width in zip(cells, widths, strict=True)
            )
            self.stdout.write(f"{line}  {row.permissions}")


def walk(
    patterns: list[Any], prefix: str = "", parameters: int = 0
) -> Iterator[tuple[str, int, Any]]:
    """Yield each URL pattern's full route, its path parameters and its view.

    Parameters are counted along the whole route, include() prefixes too,
    without DRF's format suffix.
    """
    for entry in patterns:
        found = parameters + _parameter_count(entry.pattern)
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, route, found)
        elif isinstance(entry, URLPattern):
            yield route, found, entry.callback


def _parameter_count(pattern: Any) -> int:
    regex = pattern.regex
    named = set(regex.groupindex) - {FORMAT_PARAMETER}
    unnamed = regex.groups - len(regex.groupindex)
    return int(len(named) + unnamed)


def audit_view(pattern: str, parameters: int, callback: Any) -> Finding | None:
    """Return the finding for one DRF view, or None for other views."""
    view_class = getattr(callback, "cls", None)
    if not isinstance(view_class, type) or not issubclass(view_class, APIView):
        return None
    initkwargs = getattr(callback, "initkwargs", {}) or {}

    def attribute(name: str, default: Any = ()) -> Any:
        return initkwargs.get(name, getattr(view_class, name, default))

    authentication = list(attribute("authentication_classes"))
    if not any(
        isinstance(cls, type) and issubclass(cls, JWTAuthentication)
        for cls in authentication
    ):
        return None
    permissions = list(attribute("permission_classes"))
    filters = list(attribute("filter_backends"))
    actions = getattr(callback, "actions", None) or {}

    generic = issubclass(view_class, GenericAPIView)
    serves_objects = generic or parameters > 0
    serves_lists = "list" in actions.values() or (
        not actions and hasattr(view_class, "list")
    )
    # Only GenericAPIView applies filter backends and calls
    # has_object_permission, in get_queryset() users and get_object().
    scoped = generic and any(
        getattr(backend, "scopes_queryset", False) for backend in filters
    )
    checked = generic and any(_checks_objects(p) for p in permissions)
    # OwnerFilter lets readers see an object, so without an object-level
    # check they could also change it.
    readers_can_write = attribute("reader_field", None) is not None and not checked

    if attribute("jwtsafe_audit_exempt", None):
        status = "EXEMPT"
    elif not serves_objects:
        status = "NO OBJECTS"
    elif readers_can_write:
        status = "UNPROTECTED"
    elif scoped or (checked and not serves_lists):
        status = "OK"
    else:
        status = "UNPROTECTED"
    return Finding(
        status=status,
        view=_view_name(view_class, callback),
        pattern=pattern or "/",
        authentication=", ".join(_name(cls) for cls in authentication),
        permissions=", ".join(_name(cls) for cls in permissions + filters),
    )


def _checks_objects(permission: Any) -> bool:
    """Return whether a permission class, or composition, checks each object."""
    if isinstance(permission, OperandHolder):
        operator: Any = permission.operator_class
        first = _checks_objects(permission.op1_class)
        second = _checks_objects(permission.op2_class)
        if operator is AND:
            return first or second
        if operator is OR:
            return first and second
        return False
    if getattr(permission, "operator_class", None) is NOT:
        return False
    if not isinstance(permission, type) or not issubclass(permission, BasePermission):
        return False
    return permission.has_object_permission is not BasePermission.has_object_permission


def _view_name(view_class: type, callback: Any) -> str:
    # @api_view wraps a function in a class named WrappedAPIView.
    if view_class.__name__ == "WrappedAPIView":
        return f"{callback.__module__}.{callback.__name__}"
    return f"{view_class.__module__}.{view_class.__qualname__}"


def _name(cls: Any) -> str:
    if isinstance(cls, OperandHolder):
        operator: Any = cls.operator_class
        return f"({_name(cls.op1_class)} {operator.__name__} {_name(cls.op2_class)})"
    return str(getattr(cls, "__name__", repr(cls)))
