"""Portal URLs: the job list and its CSV export, one job, its notes and its status."""

from django.urls import path, register_converter

from . import views


class JobIdConverter:
    """A positive id that fits the database's bigint; anything else is simply not found."""

    regex = "[0-9]{1,19}"

    def to_python(self, value):
        pk = int(value)
        if not 1 <= pk <= 2**63 - 1:
            raise ValueError(value)
        return pk

    def to_url(self, value):
        return str(value)


register_converter(JobIdConverter, "job_id")

app_name = "jobs"

urlpatterns = [
    path("", views.job_list, name="list"),
    path("export.csv", views.export_csv, name="export"),
    path("<job_id:pk>/", views.job_detail, name="detail"),
    path("<job_id:pk>/notes/", views.add_note, name="add_note"),
    path("<job_id:pk>/status/", views.change_status, name="change_status"),
]
