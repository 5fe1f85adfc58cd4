"""The signed-in user's personal access tokens: list, create (shown once), revoke."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from . import tokens
from .forms import NewTokenForm
from .models import AccessToken

# A user's live tokens; more than this is a forgotten integration, not a need.
MAX_LIVE_TOKENS = 50


def _page(request, form, new_token=None, status=200):
    context = {
        "nav": "tokens",
        "form": form,
        "new_token": new_token,
        "tokens": AccessToken.objects.filter(user=request.user),
    }
    return render(request, "api/tokens.html", context, status=status)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def token_list(request):
    """The user's tokens; a POST creates one and shows it, this once."""
    if request.method != "POST":
        return _page(request, NewTokenForm())
    form = NewTokenForm(request.POST)
    if form.is_valid():
        live = [t for t in AccessToken.objects.filter(user=request.user) if t.is_usable]
        if len(live) >= MAX_LIVE_TOKENS:
            form.add_error(None, f"You have {MAX_LIVE_TOKENS} live tokens: revoke one first.")
    if not form.is_valid():
        return _page(request, form, status=400)
    _, token = tokens.mint(request.user, form.cleaned_data["name"], form.expires_at)
    return _page(request, NewTokenForm(), new_token=token, status=201)


@require_POST
@login_required
def revoke(request, pk):
    """Revoke one of the user's tokens; anyone else's does not exist here."""
    try:
        stored = AccessToken.objects.get(pk=pk, user=request.user)
    except AccessToken.DoesNotExist:
        raise Http404 from None
    tokens.revoke(stored)
    return redirect("tokens:list")
