"""Sign-in pages: login (with lockout), logout, TOTP two-factor setup and verification."""

from __future__ import annotations

import base64
import io

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from medoffice.core import audit
from medoffice.core.models import AuditAction, TOTPAuthenticator
from medoffice.core.selectors import practice_or_none


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        practice = practice_or_none()
        context["two_factor_off"] = practice is not None and not practice.require_two_factor
        context["expired"] = self.request.GET.get("expired") == "1"
        return context


class LogoutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]


def _safe_next(request: HttpRequest, default: str = settings.LOGIN_REDIRECT_URL) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    from django.urls import reverse

    return reverse(default)


def _qr_data_uri(url: str) -> str:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=5, border=2)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator the first time; afterwards, ask for its current code."""
    user = request.user
    confirmed = TOTPAuthenticator.objects.filter(user=user, confirmed=True).first()
    device = confirmed or TOTPAuthenticator.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPAuthenticator.objects.create(user=user, name="authenticator", confirmed=False)
    error = ""
    if request.method == "POST":
        token = "".join(ch for ch in request.POST.get("token", "") if ch.isdigit())
        if len(token) != 6:
            error = "Enter the 6-digit code your authenticator shows."
        elif device.verify_token(token):
            if not device.confirmed:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                audit.record(
                    AuditAction.SECURITY, obj=user, changes={"two_factor": "authenticator added"}
                )
            otp_login(request, device)
            messages.success(request, "Two-factor check passed.")
            return redirect(_safe_next(request))
        else:
            error = "That code is not valid (or has expired). Try the code shown now."
            audit.record(AuditAction.LOGIN_FAILED, obj=user, changes={"two_factor": "wrong code"})
    context = {
        "setup": not device.confirmed,
        "error": error,
        "next": request.GET.get("next", ""),
    }
    if not device.confirmed:
        context["qr"] = _qr_data_uri(device.config_url)
        context["secret"] = base64.b32encode(device.bin_key).decode()
    return render(request, "core/two_factor.html", context)
