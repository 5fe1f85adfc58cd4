"""An access review's attestation: a row of the audit chain, signed with the gate key, naming
the report's digest, the reviewer (who holds the sign-off permission) and when."""

from django.utils import timezone

from . import audit, keys, signing
from .models import AuditEntry
from .plan import require_gate_tables
from .signoff import check_reviewer

WHAT = "the access review"


def attest(alias, report, username, password):
    """Check the reviewer as a sign-off does, then append the signed attestation; its row."""
    started = timezone.now()
    require_gate_tables(alias)
    key = keys.current_key(alias)
    digest = report.digest()
    with audit.refusals(alias, audit.ATTESTATION, started, sha256=digest, reviewer=username):
        reviewer = check_reviewer(alias, username, password, WHAT)
    # The row's own fields are what the signature covers: sign them as the row will hold them.
    unsaved = AuditEntry(sha256=digest, reviewer=username, started_at=started)
    signature = signing.mac(
        signing.ATTESTATION_CONTEXT, signing.attestation_fields(unsaved, reviewer.pk), key
    )
    counts = ", ".join(f"{s.key} {len(s.rows)}" for s in report.sections)
    return audit.record(
        alias,
        audit.ATTESTATION,
        "ok",
        started,
        sha256=digest,
        reviewer=username,
        detail=f"reviewer_id={reviewer.pk}; signature={signature}; listed: {counts}",
    )


def last_attestation(alias):
    """The newest attestation row of database `alias`, or None."""
    rows = AuditEntry.objects.using(alias).filter(event=audit.ATTESTATION, outcome="ok")
    return rows.order_by("-id").first()
