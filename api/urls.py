"""API URLs: jobs, one job, its notes and status, the OpenAPI schema; JSON 404 for anything else."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

import jobs.urls  # noqa: F401  (registers the job_id path converter)

from . import errors, views

app_name = "api"


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema; public, like any API's documentation."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = []


urlpatterns = [
    path("jobs/", views.JobList.as_view(), name="jobs"),
    path("jobs/<job_id:pk>/", views.JobDetail.as_view(), name="job"),
    path("jobs/<job_id:pk>/notes/", views.JobNotes.as_view(), name="notes"),
    path("jobs/<job_id:pk>/status/", views.JobStatus.as_view(), name="status"),
    path("schema/", SchemaView.as_view(), name="schema"),
    re_path(r"", errors.not_found),
]
