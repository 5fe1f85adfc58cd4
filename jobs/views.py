"""The portal pages: the jobs the signed-in user may see."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_safe

from .forms import JobFilterForm
from .models import Job
from .pagination import COUNT_CAP, capped_count, page_of


def _list_url(filters, cursor=None):
    """The list's query string for these filters and this page (the first page has none)."""
    query = QueryDict(mutable=True)
    for name in ("q", "status", "division"):
        if filters.get(name):
            query[name] = filters[name]
    if cursor is not None and cursor.number > 1:
        query["page"] = str(cursor)
    return f"?{query.urlencode()}" if query else "?"


@require_safe
@login_required
def job_list(request):
    """Newest first, filtered by `q`, `status` and `division`, one keyset page at a time."""
    form = JobFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        # Say what was wrong rather than guess; nothing is listed for a request we refused.
        return render(request, "jobs/job_list.html", {"form": form, "nav": "jobs"}, status=400)
    filters = form.cleaned_data
    jobs = Job.objects.select_related("division")
    if filters["q"]:
        jobs = jobs.filter(title__icontains=filters["q"])
    if filters["status"]:
        jobs = jobs.filter(status=filters["status"])
    if filters["division"]:
        jobs = jobs.filter(division_id=int(filters["division"]))
    page = page_of(jobs, filters["page"])
    total = capped_count(jobs)
    context = {
        "nav": "jobs",
        "form": form,
        "page": page,
        "total": total,
        "total_capped": total > COUNT_CAP,
        "count_cap": COUNT_CAP,
        "clear_url": _list_url({}),
        "newer_url": page.newer and _list_url(filters, page.newer),
        "older_url": page.older and _list_url(filters, page.older),
        # Why the list is empty: nothing shared with this user, or nothing matching.
        "has_any_jobs": total > 0 or (form.is_filtered and Job.objects.exists()),
    }
    return render(request, "jobs/job_list.html", context)


@require_safe
@login_required
def job_detail(request, pk):
    """One job. Out of scope and missing are the same 404: the scoped manager sees neither."""
    try:
        job = Job.objects.select_related("tenant", "division").get(pk=pk)
    except Job.DoesNotExist:
        raise Http404 from None
    return render(request, "jobs/job_detail.html", {"job": job, "nav": "jobs"})
