"""Request types for the type checker."""

from __future__ import annotations

from django.http import HttpRequest

from medoffice.core.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """The request a view behind `login_required` receives: its user is signed in.

    Only an annotation: Django passes its own HttpRequest, whose `user` the authentication
    middleware set and `login_required` checked.
    """

    user: User
