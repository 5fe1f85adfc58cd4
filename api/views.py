"""The JSON API: the jobs a token's user may see, one job, its notes; errors as JSON.

Each view runs inside `acting_for_token` (api/authentication.py), the request's scope, and
reads through the scoped managers, so the rule is the portal's: out of scope and missing are
the same 404. The list reuses the list page's filter form, its filters and its keyset pages.
"""

from django.http import QueryDict
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from divisions.visibility.writes import may_change_status
from jobs.forms import JobFilterForm, NoteForm, StatusForm
from jobs.models import Job, JobNote
from jobs.pagination import NEWEST, ORDERS, Cursor, page_of
from jobs.status import StatusChanged, status_conflict
from jobs.views import filtered_jobs

from .authentication import acting_for_token
from .idempotency import HEADER, idempotent
from .serializers import (
    BadParametersSerializer,
    ErrorSerializer,
    JobPageSerializer,
    JobSerializer,
    NoteInputSerializer,
    NoteSerializer,
    StatusChangeSerializer,
    StatusConflictSerializer,
    StatusInputSerializer,
)

BAD_STATUS = "Send one of: " + ", ".join(value for value, _ in Job.Status.choices) + "."
BAD_CURSOR = "Use the cursor of a `next` or `previous` link, with the same sort."
ERRORS = {401: ErrorSerializer, 404: ErrorSerializer, 429: ErrorSerializer}
JOB_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The job's id.")
IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    description=(
        "Optional; 1 to 255 printable ASCII characters, e.g. a UUID in quotes. The same key "
        "with the same request within 24 hours gets the first answer again (status and body, "
        "with `Idempotent-Replayed: true`) and writes nothing more; with a different request, "
        "422; while the first request is still in flight, 409. Keys are per user."
    ),
)
WRITE_ERRORS = {
    **ERRORS,
    400: BadParametersSerializer,
    422: ErrorSerializer,
}


def _errors(form):
    return {name: list(messages) for name, messages in form.errors.items()}


class TokenView(APIView):
    """An API view run inside the scope of its bearer token's user."""

    def dispatch(self, request, *args, **kwargs):
        with acting_for_token(request):
            return super().dispatch(request, *args, **kwargs)


def visible_job(pk):
    """The job, if the acting user may see it; else the 404 a missing job gets."""
    try:
        return Job.objects.with_related("division").get(pk=pk)
    except Job.DoesNotExist:
        raise NotFound from None


class JobList(TokenView):
    """The jobs the token's user may see: the list page's filters and sorts, keyset pages."""

    @extend_schema(
        operation_id="jobs_list",
        summary="The jobs the token's user may see, one keyset page at a time.",
        parameters=[
            OpenApiParameter("q", str, description="Title contains (at most 200 characters)."),
            OpenApiParameter("status", str, enum=[value for value, _ in Job.Status.choices]),
            OpenApiParameter("division", int, description="One of the divisions you may see."),
            OpenApiParameter("sort", str, enum=list(ORDERS), description="Default newest."),
            OpenApiParameter("cursor", str, description="From a `next` or `previous` link."),
        ],
        responses={200: JobPageSerializer, 400: BadParametersSerializer, **ERRORS},
    )
    def get(self, request):
        form = JobFilterForm(request.query_params, user=request.user)
        if not form.is_valid():
            raise ValidationError(_errors(form))
        filters = form.cleaned_data
        cursor = None
        if request.query_params.get("cursor"):
            cursor = Cursor.parse(request.query_params["cursor"])
            if cursor is None or not cursor.fits(filters["sort"]):
                raise ValidationError({"cursor": [BAD_CURSOR]})
        page = page_of(filtered_jobs(filters), cursor, filters["sort"])
        return Response(
            {
                "results": JobSerializer(page.jobs, many=True).data,
                "next": page.older and self._link(request, filters, page.older),
                "previous": page.newer and self._link(request, filters, page.newer),
            }
        )

    def _link(self, request, filters, cursor):
        query = QueryDict(mutable=True)
        for name in ("q", "status", "division"):
            if filters.get(name):
                query[name] = filters[name]
        if filters["sort"] != NEWEST:
            query["sort"] = filters["sort"]
        # Page 1 has no cursor: a cursor names pages 2 and up (jobs/pagination.py).
        if cursor.number > 1:
            query["cursor"] = str(cursor)
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


class JobDetail(TokenView):
    """One job the token's user may see."""

    @extend_schema(
        operation_id="jobs_retrieve",
        summary="One job; out of scope and missing are the same 404.",
        parameters=[JOB_ID],
        responses={200: JobSerializer, **ERRORS},
    )
    def get(self, request, pk):
        return Response(JobSerializer(visible_job(pk)).data)


class JobNotes(TokenView):
    """A job's notes: whoever may see the job reads them and may add one."""

    @extend_schema(
        operation_id="jobs_notes_list",
        summary="The job's notes, oldest first.",
        parameters=[JOB_ID],
        responses={200: NoteSerializer(many=True), **ERRORS},
    )
    def get(self, request, pk):
        job = visible_job(pk)
        return Response(NoteSerializer(job.notes.all(), many=True).data)

    @extend_schema(
        operation_id="jobs_notes_create",
        summary="Add a note to the job (whoever may see it may add one).",
        parameters=[JOB_ID, IDEMPOTENCY_KEY],
        request=NoteInputSerializer,
        responses={201: NoteSerializer, **WRITE_ERRORS, 409: ErrorSerializer},
    )
    @idempotent
    def post(self, request, pk):
        job = visible_job(pk)
        body = request.data.get("body") if isinstance(request.data, dict) else None
        if body is not None and not isinstance(body, str):
            raise ValidationError({"body": ["Send the note as a JSON string."]})
        if body is not None and not _encodable(body):
            raise ValidationError({"body": ["The note contains characters that are not text."]})
        # The page's form: the same required text and length limit.
        form = NoteForm({"body": body or ""})
        if not form.is_valid():
            raise ValidationError(_errors(form))
        note = JobNote.objects.create(job=job, author=request.user, body=form.cleaned_data["body"])
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)


class StaleStatus(APIException):
    """409: the job's status is no longer the one the change was made from."""

    status_code = 409
    default_code = "stale_status"

    def __init__(self, conflict):
        detail = {"detail": conflict.message, "status": conflict.status}
        if conflict.by:
            detail["changed_by"] = conflict.by
        if conflict.at:
            detail["changed_at"] = conflict.at.isoformat()
        super().__init__(detail)


class JobStatus(TokenView):
    """A job's status, changed by tenant admins and members of the job's own division from
    the status they last saw (a compare-and-set; a stale change is a 409)."""

    @extend_schema(
        operation_id="jobs_status_change",
        summary=(
            "Change the job's status from `from` to `status`, recorded as a note; 409 when "
            "its status is no longer `from`. Others get the 404 of a job they cannot see."
        ),
        parameters=[JOB_ID, IDEMPOTENCY_KEY],
        request=StatusInputSerializer,
        responses={200: StatusChangeSerializer, **WRITE_ERRORS, 409: StatusConflictSerializer},
    )
    @idempotent
    def post(self, request, pk):
        job = visible_job(pk)
        if not may_change_status(request.user, job):
            raise NotFound
        data = request.data if isinstance(request.data, dict) else {}
        form = StatusForm({"status": data.get("status"), "seen": data.get("from")})
        if not form.is_valid():
            raise ValidationError(
                {"from" if name == "seen" else name: [BAD_STATUS] for name in form.errors}
            )
        try:
            note = job.change_status(
                form.cleaned_data["status"], by=request.user, seen=form.cleaned_data["seen"]
            )
        except StatusChanged:
            raise StaleStatus(status_conflict(visible_job(pk))) from None
        return Response(
            {
                "job": JobSerializer(job).data,
                "note": NoteSerializer(note).data if note is not None else None,
            }
        )


def _encodable(text):
    """False for a string with lone surrogates (JSON allows "\\ud800"; no database stores it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
