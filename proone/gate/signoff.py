"""Recording a reviewer's sign-off: identity, permission, not the author, acknowledgements."""

import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connections
from django.db.models import Q
from django.utils import timezone

from . import GateError, audit, signing, vcs
from .fingerprint import is_project_file, migration_file, migration_sha256, package_of
from .lint import codes_needing_ack, lint_migration
from .models import SignOff
from .plan import find_migration, require_gate_tables

PERMISSION = "gate.signoff_migration"
DECLARED_AUTHOR = re.compile(r"^#\s*author:\s*(.+)$", re.IGNORECASE | re.MULTILINE)


def author_of(path):
    """(author text, identities) of a migration file: from git when committed, else declared."""
    if not is_project_file(path):
        # Installed packages' migrations are pinned by the package version, not by our git.
        return f"installed package ({path.parent.parent.name})", set()
    if vcs.is_committed(path):
        found = vcs.authors(path)
        text = ", ".join(f"{name} <{email}>" for name, email in found)
        identities = set()
        for name, email in found:
            identities |= {name.lower(), email.lower(), email.split("@")[0].lower()}
        return text, identities - {""}
    if getattr(settings, "MIGRATIONS_REQUIRE_SIGNOFF", False):
        raise GateError(
            f"{path.name} is not committed (or has uncommitted changes), so its author is "
            "unknown. Commit it, then sign it off."
        )
    match = DECLARED_AUTHOR.search(path.read_text(errors="replace"))
    if match:
        declared = match.group(1).strip()
        return f"{declared} (declared, not committed)", {declared.lower()}
    return "unknown (not committed, no '# author:' line)", set()


def reviewer_identities(user):
    """The names a user may appear under as a git author."""
    names = {user.get_username().lower(), user.get_full_name().strip().lower()}
    if user.email:
        names |= {user.email.lower()}
    return names - {""}


def holds_permission(user, alias):
    """True when `user` may sign off, read from database `alias` (directly or via a group)."""
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    app_label, codename = PERMISSION.split(".")
    granted = Permission.objects.using(alias).filter(
        content_type__app_label=app_label, codename=codename
    )
    return granted.filter(Q(user=user) | Q(group__user=user)).exists()


def _find_reviewer(alias, username):
    User = get_user_model()
    try:
        return User._default_manager.db_manager(alias).get(**{User.USERNAME_FIELD: username})
    except User.DoesNotExist:
        raise GateError(
            f"There is no user named {username!r}. Check the spelling of --reviewer; the "
            "reviewer needs an account with the 'Can sign off a migration' permission."
        ) from None


def check_reviewer(alias, username, password, what):
    """The reviewer `username` after checking password, activity and permission; else GateError."""
    reviewer = _find_reviewer(alias, username)
    if not reviewer.check_password(password or ""):
        raise GateError(
            f"Wrong password for reviewer {username!r}. Nothing signed; run the command again."
        )
    if not reviewer.is_active:
        raise GateError(f"Reviewer {username!r} is inactive and cannot sign off {what}.")
    if not holds_permission(reviewer, alias):
        raise GateError(
            f"Reviewer {username!r} lacks the permission 'Can sign off a migration' "
            f"({PERMISSION}); ask an administrator to grant it, or ask a reviewer who has it "
            f"to sign off {what}."
        )
    return reviewer


def sign_off(
    alias,
    app_label,
    migration_name,
    reviewer_username,
    password,
    *,
    kind=SignOff.Kind.APPLY,
    acknowledge_findings=False,
    note="",
):
    """Check the reviewer and record a signed sign-off of the migration's current file content."""
    started = timezone.now()
    key = signing.gate_key()
    require_gate_tables(alias)
    loader, migration = find_migration(alias, app_label, migration_name)
    label = f"{migration.app_label}.{migration.name}"
    path = migration_file(migration)
    sha = migration_sha256(migration)
    package = package_of(migration)
    if package and kind == SignOff.Kind.APPLY:
        raise GateError(
            f"{label} comes from the installed package {package}: review the migrations of "
            "installed packages as one set with `manage.py signoff_packages --reviewer USERNAME`."
        )
    refused = audit.refusals(
        alias,
        "signoff",
        started,
        app_label=migration.app_label,
        migration_name=migration.name,
        sha256=sha,
        reviewer=reviewer_username,
    )
    with refused:
        reviewer = check_reviewer(alias, reviewer_username, password, label)
        author, author_ids = author_of(path)
        if author_ids & reviewer_identities(reviewer):
            raise GateError(
                f"{reviewer_username!r} is an author of {label} ({author}) and cannot sign off "
                "their own migration. Ask another reviewer."
            )
        findings = lint_migration(loader, migration, connections[alias].vendor)
        acknowledged = []
        if kind == SignOff.Kind.APPLY:
            needed = codes_needing_ack(findings)
            if needed and not acknowledge_findings:
                listing = "\n".join(f"  {f}" for f in findings if f.needs_ack)
                raise GateError(
                    f"{label} has findings that need acknowledgement:\n{listing}\nRead them; if "
                    "the data loss or risk is intended, run again with --acknowledge-findings."
                )
            if acknowledge_findings:
                acknowledged = sorted({f.code for f in findings})
        signoff = SignOff(
            app_label=migration.app_label,
            migration_name=migration.name,
            kind=kind,
            sha256=sha,
            reviewer=reviewer,
            reviewer_username=reviewer.get_username(),
            author=author,
            acknowledged=acknowledged,
            note=note or "",
        )
        signoff.signature = signing.sign(signoff, key)
        signoff.save(using=alias)
    audit.record(
        alias,
        "signoff",
        "ok",
        started,
        app_label=migration.app_label,
        migration_name=migration.name,
        sha256=sha,
        signoff_id_ref=signoff.pk,
        reviewer=signoff.reviewer_username,
        acknowledged=acknowledged,
        detail=f"kind={kind}; author={author}; note={note or ''}",
    )
    return signoff
