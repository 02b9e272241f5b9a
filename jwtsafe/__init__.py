"""Strict, revocable JWT authentication for Django REST framework."""

__version__ = "0.1.0"
