"""
The DataScope page's preview: who would gain or lose sight of the division's jobs, before saving.

With JavaScript, static/proone/scope_preview.js posts the form's values to the preview URL
as boxes are ticked and shows the answer (divisions/scope_preview.py) next to them. Without
it, the page's `_preview_first` field makes a save that changes who sees the jobs stop on a
confirm step: the same form, bound to what was posted, with the preview and a Confirm button.
The script withdraws that field once it has shown the preview for the current values. The
confirm step posts the page's `loaded_as` fingerprint again, so a stale page is still refused.
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db import transaction
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html

from .scope_preview import preview

PREVIEW_FIRST = "_preview_first"
# The form fields that decide who sees the division's jobs.
SIGHT_FIELDS = ("is_everyone", "listed_divisions")


class ShowsPreviewFirst:
    """Form half: a change of who sees the jobs, posted with `_preview_first`, is not saved
    but previewed (`self.preview`); the page then asks to confirm."""

    asks_preview = False
    preview_of = None
    preview = None

    def is_valid(self):
        if not super().is_valid():
            return False
        if self.asks_preview and set(SIGHT_FIELDS) & set(self.changed_data):
            self.preview = self.preview_of(
                self.instance,
                self.cleaned_data["is_everyone"],
                self.cleaned_data["listed_divisions"],
            )
            return False
        return True


class PreviewsScopeChanges:
    """ModelAdmin half: the preview URL, the box that shows it, and the confirm step."""

    change_form_template = "admin/divisions/datascope/change_form_preview.html"
    # count_jobs(division): how many jobs a preview's users gain or lose (jobs/admin.py).
    count_jobs = None

    def get_urls(self):
        opts = self.model._meta
        view = self.admin_site.admin_view(self.preview_view)

        def preview_or_404(request, object_id):
            # Same 404 as for a scope that is not theirs: no sign-in page for an endpoint.
            if not self.admin_site.has_permission(request):
                raise Http404("No such object.")
            return view(request, object_id)

        return [
            path(
                "<path:object_id>/preview/",
                preview_or_404,
                name=f"{opts.app_label}_{opts.model_name}_preview",
            ),
            *super().get_urls(),
        ]

    def scope_preview(self, scope, is_everyone, divisions):
        """What saving `scope` with these values would change (nothing is kept)."""
        return preview(scope, is_everyone, divisions, count_jobs=self.count_jobs)

    def preview_view(self, request, object_id):
        """POST the change form's values: JSON of who would gain and lose sight, and how many
        jobs that is. 404 for a scope the user may not change, as for one that does not exist."""
        with transaction.atomic():
            obj = self.get_object(request, unquote(object_id))
            if obj is None or not self.has_change_permission(request, obj):
                raise Http404("No such object.")
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            form = self.get_form(request, obj, change=True)(request.POST, instance=obj)
            errors = {name: form.errors[name] for name in SIGHT_FIELDS if name in form.errors}
            if errors:
                return JsonResponse({"errors": errors}, status=400)
            result = self.scope_preview(
                obj, form.cleaned_data["is_everyone"], form.cleaned_data["listed_divisions"]
            )
        return JsonResponse(result.as_json())

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            return form
        attributes = {
            "asks_preview": request.method == "POST" and PREVIEW_FIRST in request.POST,
            "preview_of": staticmethod(self.scope_preview),
        }
        return type(form.__name__, (ShowsPreviewFirst, form), attributes)

    @admin.display(description="if saved now")
    def sight_preview(self, obj):
        opts = self.model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_preview", args=[obj.pk])
        return format_html(
            '<div class="scope-preview" data-preview-url="{}" aria-live="polite">{}</div>',
            url,
            "Saving a change first shows who would gain or lose sight of these jobs; nothing "
            "is saved until you confirm.",
        )
