"""The JSON API: the jobs a token's user may see, one job, its notes; errors as JSON.

Each view runs inside `acting_for_token` (api/authentication.py), the request's scope, and
reads through the scoped managers, so the rule is the portal's: out of scope and missing are
the same 404. The list reuses the list page's filter form, its filters and its keyset pages.
"""

from django.http import QueryDict
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.forms import JobFilterForm, NoteForm
from jobs.models import Job, JobNote
from jobs.pagination import NEWEST, ORDERS, Cursor, page_of
from jobs.views import filtered_jobs

from .authentication import acting_for_token
from .serializers import (
    BadParametersSerializer,
    ErrorSerializer,
    JobPageSerializer,
    JobSerializer,
    NoteInputSerializer,
    NoteSerializer,
)

BAD_CURSOR = "Use the cursor of a `next` or `previous` link, with the same sort."
ERRORS = {401: ErrorSerializer, 404: ErrorSerializer, 429: ErrorSerializer}
JOB_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The job's id.")


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
        return Job.objects.select_related("division").get(pk=pk)
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
        parameters=[JOB_ID],
        request=NoteInputSerializer,
        responses={201: NoteSerializer, 400: BadParametersSerializer, **ERRORS},
    )
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


def _encodable(text):
    """False for a string with lone surrogates (JSON allows "\\ud800"; no database stores it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
