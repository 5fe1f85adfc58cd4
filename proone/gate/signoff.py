"""Recording a reviewer's sign-off: identity, permission, not the author, acknowledgements."""

import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from . import GateError, audit, keys, signing, vcs
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
    """The reviewer `username` after checking password, activity and permission; else GateError.
    `password` may be a function that asks for it: it is asked only once the reviewer exists."""
    reviewer = _find_reviewer(alias, username)
    if callable(password):
        password = password()
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


def check_authors(reviewer, migrations):
    """{label: author text} of each migration's file; GateError naming those `reviewer` wrote."""
    identities = reviewer_identities(reviewer)
    authors, own = {}, []
    for migration in migrations:
        label = f"{migration.app_label}.{migration.name}"
        author, author_ids = author_of(migration_file(migration))
        authors[label] = author
        if author_ids & identities:
            own.append(f"{label} ({author})")
    if own:
        plural = "s" if len(own) > 1 else ""
        raise GateError(
            f"{reviewer.get_username()!r} is an author of {', '.join(own)} and cannot sign off "
            f"their own migration{plural}. Ask another reviewer; nothing was signed."
        )
    return authors


def new_signoff(migration, sha256, reviewer, author, key, *, kind, acknowledged, note):
    """An unsaved sign-off of `migration` as its file is now (`sha256`), signed with `key`."""
    signoff = SignOff(
        app_label=migration.app_label,
        migration_name=migration.name,
        kind=kind,
        sha256=sha256,
        reviewer=reviewer,
        reviewer_username=reviewer.get_username(),
        author=author,
        acknowledged=acknowledged,
        note=note or "",
    )
    signoff.signature = signing.sign(signoff, key)
    return signoff


def save_signoffs(alias, signoffs, started, context=""):
    """Save `signoffs` all together or none, then audit each one; return them."""
    with transaction.atomic(using=alias):
        for signoff in signoffs:
            signoff.save(using=alias)
    # Audited after the commit: the anchor outside the database never names a rolled-back row.
    for signoff in signoffs:
        audit.record(
            alias,
            "signoff",
            "ok",
            started,
            app_label=signoff.app_label,
            migration_name=signoff.migration_name,
            sha256=signoff.sha256,
            signoff_id_ref=signoff.pk,
            reviewer=signoff.reviewer_username,
            acknowledged=signoff.acknowledged,
            detail=f"kind={signoff.kind}; author={signoff.author}; {context}note={signoff.note}",
        )
    return signoffs


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
    require_gate_tables(alias)
    key = keys.current_key(alias)
    loader, migration = find_migration(alias, app_label, migration_name)
    label = f"{migration.app_label}.{migration.name}"
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
        author = check_authors(reviewer, [migration])[label]
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
        signoff = new_signoff(
            migration, sha, reviewer, author, key, kind=kind, acknowledged=acknowledged, note=note
        )
    return save_signoffs(alias, [signoff], started)[0]
