"""Account URLs: the signed-in user's personal access tokens."""

from django.urls import path

from . import pages

app_name = "tokens"

urlpatterns = [
    path("", pages.token_list, name="list"),
    path("<int:pk>/revoke/", pages.revoke, name="revoke"),
]
