"""URL map: the portal, sign-in, the JSON API and its tokens, and the admin; the 500 handler."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from .views import SignInForm, SignOutView

urlpatterns = [
    path("", RedirectView.as_view(url="/jobs/", permanent=False)),
    # Only sign-in and sign-out: the portal has no self-service password reset.
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=SignInForm
        ),
        name="login",
    ),
    path("accounts/logout/", SignOutView.as_view(), name="logout"),
    path("jobs/", include("jobs.urls")),
    path("account/tokens/", include("api.token_urls")),
    path("api/", include("api.urls")),
    path("admin/", admin.site.urls),
]

# JSON under /api/ (a 503 when the database is unreachable), templates/500.html elsewhere.
handler500 = "proone.views.server_error"
