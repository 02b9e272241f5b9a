import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models

from jwtsafe.models import SessionVersionMixin


class User(SessionVersionMixin, AbstractUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
