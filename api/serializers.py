"""The JSON shapes of jobs, notes and errors (and so the OpenAPI schema's components)."""

from rest_framework import serializers

from jobs.models import NOTE_MAX_LENGTH, Job, JobNote


class JobSerializer(serializers.ModelSerializer):
    """A job as the API shows it."""

    division = serializers.IntegerField(source="division_id", allow_null=True, read_only=True)
    division_name = serializers.CharField(source="division.name", allow_null=True, read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "title",
            "description",
            "status",
            "division",
            "division_name",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class JobPageSerializer(serializers.Serializer):
    """One keyset page of jobs, with the URLs of the pages either side (null at the ends)."""

    results = JobSerializer(many=True)
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class NoteSerializer(serializers.ModelSerializer):
    """A note on a job; `author` is the author's username as written."""

    job = serializers.IntegerField(source="job_id", read_only=True)
    author = serializers.CharField(source="author_name", read_only=True)

    class Meta:
        model = JobNote
        fields = ["id", "job", "author", "body", "created_at"]
        read_only_fields = fields


class NoteInputSerializer(serializers.Serializer):
    """A new note: plain text, at most NOTE_MAX_LENGTH characters (the page's limit)."""

    body = serializers.CharField(max_length=NOTE_MAX_LENGTH)


class StatusInputSerializer(serializers.Serializer):
    """A status change: the new status, and the status it is made from (the one last seen)."""

    status = serializers.ChoiceField(choices=Job.Status.choices)
    # "from" is a Python keyword: the field is declared under it below.


StatusInputSerializer._declared_fields["from"] = serializers.ChoiceField(
    choices=Job.Status.choices,
    help_text="The status you last saw; the change is made only from that one (else 409).",
)


class StatusChangeSerializer(serializers.Serializer):
    """The job after the change, and the note recording it (null when `status` was `from`)."""

    job = JobSerializer()
    note = NoteSerializer(allow_null=True)


class ErrorSerializer(serializers.Serializer):
    """Every error's body."""

    detail = serializers.CharField()


class BadParametersSerializer(ErrorSerializer):
    """A 400: what was wrong, per parameter."""

    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class StatusConflictSerializer(ErrorSerializer):
    """A 409 for a stale status change: the status now and, when known, who set it and when."""

    status = serializers.ChoiceField(choices=Job.Status.choices)
    changed_by = serializers.CharField(required=False)
    changed_at = serializers.DateTimeField(required=False)
