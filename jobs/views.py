"""The portal pages: the jobs the signed-in user may see, their notes and status."""

import csv
import io

from django.contrib.auth.decorators import login_required
from django.db import DEFAULT_DB_ALIAS, transaction
from django.http import Http404, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from divisions.models import Division
from divisions.spreadsheet import spreadsheet_safe
from divisions.visibility.why import why_visible_case
from divisions.visibility.writes import may_change_status
from submits import once, tokens

from .forms import SORT_LABELS, JobFilterForm, NoteForm, StatusForm
from .models import Job, JobNote
from .pagination import COUNT_CAP, NEWEST, ordering, page_of, page_total
from .status import StatusChanged, status_conflict

EXPORT_COLUMNS = ("id", "title", "status", "division", "created_at", "updated_at")
EXPORT_CHUNK = 2000
# What a form's submit is told when its one-use token does not let it write.
UNUSABLE_FORM = (
    "This form is more than a day old or was not sent from its page; nothing was changed. "
    "Send it again from this page."
)
ALREADY_SENT = (
    "This form was already sent once, with other content; that first submit was kept and "
    "nothing was changed now. Send it again from this page to make this change too."
)


def _list_url(filters, cursor=None):
    """The list's query string for these filters and this page (the first page has none)."""
    query = QueryDict(mutable=True)
    for name in ("q", "status", "division"):
        if filters.get(name):
            query[name] = filters[name]
    if filters.get("sort", NEWEST) != NEWEST:
        query["sort"] = filters["sort"]
    if cursor is not None and cursor.number > 1:
        query["page"] = str(cursor)
    return f"?{query.urlencode()}" if query else "?"


def filtered_jobs(filters):
    """The acting user's jobs that match the list's filters (any order)."""
    jobs = Job.objects.with_related("division")
    division_id = int(filters["division"]) if filters["division"] else None
    if filters["q"]:
        return jobs.search(filters["q"], filters["status"], division_id)
    if filters["status"]:
        jobs = jobs.filter(status=filters["status"])
    if division_id is not None:
        jobs = jobs.filter(division_id=division_id)
    return jobs


@require_safe
@login_required
def job_list(request):
    """Filtered by `q`, `status` and `division`, in the `sort` order (newest first by default),
    one keyset page at a time."""
    form = JobFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        # Say what was wrong rather than guess; nothing is listed for a request we refused.
        return render(request, "jobs/job_list.html", {"form": form, "nav": "jobs"}, status=400)
    filters = form.cleaned_data
    jobs = filtered_jobs(filters)
    page = page_of(jobs, filters["page"], filters["sort"])
    total = page_total(page, jobs)
    context = {
        "nav": "jobs",
        "form": form,
        "page": page,
        "total": total,
        "total_capped": total > COUNT_CAP,
        "count_cap": COUNT_CAP,
        "clear_url": _list_url({}),
        "export_url": reverse("jobs:export") + _list_url(filters),
        "sort_label": SORT_LABELS[filters["sort"]],
        "newer_url": page.newer and _list_url(filters, page.newer),
        "older_url": page.older and _list_url(filters, page.older),
        # Why the list is empty: nothing shared with this user, or nothing matching.
        "has_any_jobs": total > 0 or (form.is_filtered and Job.objects.exists()),
    }
    return render(request, "jobs/job_list.html", context)


def _visible_job(request, pk):
    """The job, if the acting user may see it, with `why` (which case of the rule applies);
    else the 404 a missing job gets."""
    try:
        return (
            Job.objects.with_related("tenant", "division")
            .annotate(why=why_visible_case(request.user))
            .get(pk=pk)
        )
    except Job.DoesNotExist:
        raise Http404 from None


def _detail(
    request, job, *, note_form=None, status_form=None, problem=None, problem_of=None, status=200
):
    """The job's page; `problem` is said beside the form named by `problem_of` ("note" or
    "status"). Each form carries a one-use token of its own."""
    may_change = may_change_status(request.user, job)
    context = {
        "job": job,
        "nav": "jobs",
        "why": job.why,
        "notes": job.notes.all(),
        "note_form": note_form or NoteForm(),
        "note_token": tokens.issue(request.user),
        "status_form": (
            status_form or StatusForm(initial={"status": job.status, "seen": job.status})
        )
        if may_change
        else None,
        "status_token": tokens.issue(request.user),
        "token_field": tokens.FIELD,
        "note_problem": problem if problem_of == "note" else None,
        "status_problem": problem if problem_of == "status" else None,
    }
    return render(request, "jobs/job_detail.html", context, status=status)


@require_safe
@login_required
def job_detail(request, pk):
    """One job. Out of scope and missing are the same 404: the scoped manager sees neither."""
    return _detail(request, _visible_job(request, pk))


def _spent(request, request_digest, write):
    """Spend the request's form token on `write()` (run once, in the transaction that spends
    it); the earlier Submit when the token was already spent (nothing is written), else None.
    Raises ValueError for a token that is not the user's or is more than a day old."""
    key = tokens.key_of(request.user, request.POST.get(tokens.FIELD))
    if key is None:
        raise ValueError(UNUSABLE_FORM)
    with transaction.atomic():
        earlier = once.record(request.user, key, request_digest, 302, request.path)
        if earlier is None:
            write()
    return earlier


@require_POST
@login_required
def add_note(request, pk):
    """Whoever may see the job adds a note to it, once per form: a repeat of the same form
    (double click, reload, three at once) gets the same redirect and writes nothing."""
    job = _visible_job(request, pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _detail(request, job, note_form=form, status=400)
    body = form.cleaned_data["body"]
    request_digest = once.digest("note", job.pk, body)
    try:
        earlier = _spent(
            request,
            request_digest,
            lambda: JobNote.objects.create(job=job, author=request.user, body=body),
        )
    except ValueError as error:
        return _detail(
            request, job, note_form=form, problem=str(error), problem_of="note", status=400
        )
    if earlier is not None and earlier.request != request_digest:
        form = NoteForm(initial={"body": body})
        return _detail(
            request, job, note_form=form, problem=ALREADY_SENT, problem_of="note", status=409
        )
    return redirect(f"{job.get_absolute_url()}#notes")


@require_POST
@login_required
def change_status(request, pk):
    """Tenant admins and the owning division's members change the status, from the status
    they saw: if it changed meanwhile, nothing is written and the page says who changed it
    (409). A repeat of the same form writes nothing and gets the same redirect. For anyone
    else the job does not exist here (the same 404 as a job they cannot see)."""
    job = _visible_job(request, pk)
    if not may_change_status(request.user, job):
        raise Http404
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _detail(request, job, status_form=form, status=400)
    new, seen = form.cleaned_data["status"], form.cleaned_data["seen"]
    request_digest = once.digest("status", job.pk, seen, new)
    try:
        earlier = _spent(
            request,
            request_digest,
            lambda: job.change_status(new, by=request.user, seen=seen),
        )
    except ValueError as error:
        return _detail(
            request, job, status_form=form, problem=str(error), problem_of="status", status=400
        )
    except StatusChanged:
        job = _visible_job(request, pk)
        form = StatusForm(initial={"status": new, "seen": job.status})
        problem = status_conflict(job).message
        return _detail(
            request, job, status_form=form, problem=problem, problem_of="status", status=409
        )
    if earlier is not None and earlier.request != request_digest:
        job = _visible_job(request, pk)
        form = StatusForm(initial={"status": new, "seen": job.status})
        return _detail(
            request, job, status_form=form, problem=ALREADY_SENT, problem_of="status", status=409
        )
    return redirect(f"{job.get_absolute_url()}#notes")


def _cell(value):
    """A CSV cell a spreadsheet shows as text: a leading formula character gets a quote."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return spreadsheet_safe(value)


def _csv_chunks(rows):
    """The CSV text of `rows`, one string per EXPORT_CHUNK rows (the header first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for n, row in enumerate(rows, 1):
        writer.writerow([_cell(value) for value in row])
        if n % EXPORT_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@require_safe
@login_required
def export_csv(request):
    """The list's jobs across all its pages, with its filters and sort, as a streamed CSV.

    The rows are read in chunks while the response streams, after the request's scope has
    ended: the queryset re-enters the scope it was made in (ScopedQuerySet._iterator).
    """
    form = JobFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        errors = "; ".join(f"{name}: {' '.join(e)}" for name, e in form.errors.items())
        return HttpResponse(
            f"These filters could not be used ({errors}).\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    filters = form.cleaned_data
    rows = (
        filtered_jobs(filters)
        # The primary: only there does the queryset re-enter its scope once the request's
        # transaction has ended (ScopedQuerySet._database_scope).
        .using(DEFAULT_DB_ALIAS)
        .order_by(*ordering(filters["sort"]))
        .values_list("pk", "title", "status", "division_id", "created_at", "updated_at")
        .iterator(chunk_size=EXPORT_CHUNK)
    )
    # The division's name by its id, read now, within the request's scope: a join of jobs to
    # divisions is no query a Citus cluster runs.
    names = dict(Division.objects.values_list("pk", "name"))
    rows = (
        (pk, title, status, names.get(division), *rest)
        for pk, title, status, division, *rest in rows
    )
    response = StreamingHttpResponse(_csv_chunks(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="jobs.csv"'
    response["Cache-Control"] = "no-store"
    return response
