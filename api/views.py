"""The personal access tokens page: create (the token is shown once), list, revoke."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from api.forms import TokenCreateForm
from api.models import ApiToken
from api.services.tokens import (
    TokenRefused,
    api_token_create,
    api_token_revoke,
    user_may_hold_token,
)
from reporting.models import AuditSource

# The new secret waits in the session for the one page that shows it (post, redirect, get),
# so reloading that page neither shows it again nor creates another token.
CREATED_SECRET = "api_token_created"


@never_cache
@login_required
def token_list(request):
    if not user_may_hold_token(request.user):
        raise PermissionDenied(_("Your account has no survey role yet."))
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _token, secret = api_token_create(
                user=request.user, name=form.cleaned_data["name"], scope=form.cleaned_data["scope"],
                expires_at=timezone.now() + dt.timedelta(days=form.cleaned_data["expires_in_days"]),
                actor=request.user, source=AuditSource.WEB,
            )
        except TokenRefused as refused:
            form.add_error(None, str(refused))
        else:
            request.session[CREATED_SECRET] = secret
            return redirect("api_tokens:list")
    tokens = ApiToken.objects.filter(user=request.user).order_by("-created_at", "-id")
    return render(request, "api/tokens.html", {
        "form": form, "tokens": tokens, "created_secret": request.session.pop(CREATED_SECRET, None),
        "now": timezone.now(),
    })


@login_required
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    api_token_revoke(token=token, actor=request.user, source=AuditSource.WEB)
    messages.success(request, _("Token “%(name)s” revoked: it no longer works.") % {"name": token.name})
    return redirect("api_tokens:list")
