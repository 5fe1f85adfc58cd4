"""
The access matrix and the recorded access reviews in the admin.

Tenant admins see their tenant's whole matrix and record a review of it; a division manager
sees the columns of the divisions whose DataScopes they manage (the scope of division D
governs column D: who sees D's jobs), every row; nobody else sees a matrix (the same 404).
The matrix is divisions.visibility.matrix; job counts come from the jobs app, which replaces
this registration (jobs/admin.py): the organisation knows no jobs.
"""

import csv
import hashlib
import json

from django.conf import settings
from django.contrib import admin, messages
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .admin_policy import TenantOwnedAdmin
from .admin_scope_history import changes_since
from .admin_site import DIVISION_MANAGER, TENANT_ADMIN, managed_scopes, request_role
from .models import AccessReview
from .spreadsheet import spreadsheet_safe
from .visibility.cases import EVERYONE, LISTED, OWN_DIVISION
from .visibility.matrix import access_matrix

# What a cell says, for people (the case names of the rule; no case: no sight).
CELL_WORDS = {OWN_DIVISION: "own division", EVERYONE: "everyone", LISTED: "listed", None: ""}
# Each cell's HTML, made once: a matrix of a hundred divisions has ten thousand cells, which
# the template language, or format_html cell by cell, would take most of the page's time to
# draw.
CELL_HTML = {
    case: format_html('<td class="{}">{}</td>', "sees" if word else "no-sight", word)
    for case, word in CELL_WORDS.items()
}


def table_html(matrix):
    """The matrix's body: a row per division of members, its user count, then a cell per
    division of jobs."""
    return format_html_join(
        "\n",
        "<tr><th>{}</th><td>{}</td>{}</tr>",
        (
            (
                row.name,
                row.counts["users"],
                # Safe: each piece is one of CELL_HTML's, escaped when it was made.
                SafeString("".join(CELL_HTML[matrix.case(row, c)] for c in matrix.columns)),
            )
            for row in matrix.rows
        ),
    )


def matrix_columns(request):
    """The columns `request.user` may see (None: every one), or Http404 for nobody's."""
    role = request_role(request)
    if role == TENANT_ADMIN:
        return None
    if role == DIVISION_MANAGER:
        return managed_scopes(request.user).values_list("target_division", flat=True)
    raise Http404("No access matrix here.")


def fingerprint(data):
    """A short digest of a matrix's data: a review names the matrix its page showed."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def review_age(tenant_id, now=None):
    """(last review or None, its age in days or None, True when a review is due)."""
    last = AccessReview.objects.filter(tenant_id=tenant_id).first()
    if last is None:
        return None, None, True
    age = ((now or timezone.now()) - last.reviewed_at).days
    return last, age, age > settings.ACCESS_REVIEW_MAX_AGE_DAYS


@admin.register(AccessReview)
class AccessReviewAdmin(TenantOwnedAdmin):
    """Recorded reviews (read-only), the matrix page, its CSV, and recording a review."""

    list_display = ["reviewed_at", "reviewed_by_name"]
    fields = ["reviewed_at", "reviewed_by_name", "matrix"]
    readonly_fields = ["reviewed_at", "reviewed_by_name", "matrix"]

    def column_counts(self, request):
        """{name: (division id, count) rows}: what each column counts besides its name."""
        return {}

    def matrix(self, request):
        columns = matrix_columns(request)
        return access_matrix(request.user.tenant_id, columns, self.column_counts(request))

    # Reviews are read by the roles that may read them, whatever the model permissions say;
    # recorded on the matrix page and never edited (row-level security agrees).
    def has_module_permission(self, request):
        return self.role_may(request)

    def has_view_permission(self, request, obj=None):
        return self.role_may(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("matrix/", view(self.matrix_view), name="divisions_access_matrix"),
            path("matrix.csv", view(self.csv_view), name="divisions_access_matrix_csv"),
            path("review/", view(self.review_view), name="divisions_access_review"),
            *super().get_urls(),
        ]

    def matrix_view(self, request):
        matrix = self.matrix(request)
        is_admin = request_role(request) == TENANT_ADMIN
        last, age, due = review_age(request.user.tenant_id) if is_admin else (None, None, False)
        context = {
            **self.admin_site.each_context(request),
            "title": "Who sees which division's jobs",
            "opts": self.model._meta,
            "matrix": matrix,
            "table": table_html(matrix),
            "count_rows": [
                (name, [column.counts[name] for column in matrix.columns])
                for name in self.column_counts(request)
            ],
            "may_review": is_admin,
            "fingerprint": fingerprint(matrix.as_data()),
            "last_review": last,
            "review_age": age,
            "review_due": due,
            "max_age": settings.ACCESS_REVIEW_MAX_AGE_DAYS,
        }
        if is_admin:
            context["scope_changes"], context["scope_changes_total"] = changes_since(
                request.user.tenant_id, last.reviewed_at if last else None
            )
        return TemplateResponse(request, "admin/divisions/access_matrix.html", context)

    def csv_view(self, request):
        matrix = self.matrix(request)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="access-matrix.csv"'
        writer = csv.writer(response)
        names = list(self.column_counts(request))
        writer.writerow(
            ["members of \\ jobs of", "users", *(spreadsheet_safe(c.name) for c in matrix.columns)]
        )
        for name in names:
            writer.writerow([name, "", *(c.counts[name] for c in matrix.columns)])
        for row in matrix.rows:
            cells = [CELL_WORDS[matrix.case(row, column)] for column in matrix.columns]
            writer.writerow([spreadsheet_safe(row.name), row.counts["users"], *cells])
        return response

    def review_view(self, request):
        if request_role(request) != TENANT_ADMIN:
            raise Http404("No access matrix here.")
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        matrix_url = reverse("admin:divisions_access_matrix")
        data = self.matrix(request).as_data()
        if request.POST.get("fingerprint") != fingerprint(data):
            # Access changed after the page was opened: what they saw is not what is.
            self.message_user(
                request,
                "Access changed since this page was opened; review the matrix as it is now.",
                messages.ERROR,
            )
            return HttpResponseRedirect(matrix_url)
        AccessReview.objects.create(
            tenant_id=request.user.tenant_id,
            reviewed_by=request.user,
            reviewed_by_name=request.user.username,
            matrix=data,
        )
        self.message_user(request, "Access review recorded.", messages.SUCCESS)
        return HttpResponseRedirect(matrix_url)


def review_notice(request):
    """For the admin index: the matrix's link, and for a tenant admin the last review's age
    and whether one is due; None for roles without a matrix."""
    role = request_role(request)
    if role not in (TENANT_ADMIN, DIVISION_MANAGER):
        return None
    notice = {"url": reverse("admin:divisions_access_matrix"), "is_admin": role == TENANT_ADMIN}
    if notice["is_admin"]:
        last, age, due = review_age(request.user.tenant_id)
        notice.update(last=last, age=age, due=due, max_age=settings.ACCESS_REVIEW_MAX_AGE_DAYS)
    return notice
