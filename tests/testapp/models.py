"""Models for the authorization tests: projects with tasks, and documents."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Project(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="member_projects"
    )
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    """A task owned through its project: the owner path is project__owner."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.title


class Document(models.Model):
    """A document whose access comes from per-object permissions."""

    title = models.CharField(max_length=100)
    editors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True)

    def __str__(self) -> str:
        return self.title


class UsernameOwned(models.Model):
    """Owned through a foreign key to the username, not to the primary key."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, to_field="username"
    )

    def __str__(self) -> str:
        return str(self.pk)
