"""The access review: who may sign off migrations, who is superuser or staff, the project's own
privileged roles (GATE_ACCESS_REVIEW), the database roles that can do more than the app, and
the accounts among all of these that are inactive or unused."""

import csv
import datetime
import hashlib
import io
import json
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connections
from django.utils import timezone

from .connection import same_credentials_as_app
from .project import access_review_sections, system_scope
from .signoff import PERMISSION

COLUMNS = ("section", "who", "what", "last_login")

# Database roles worth a reviewer's look: any that can sign in, bypass row-level security,
# create roles, or owns the project's tables (the owner can switch row-level security off).
DATABASE_ROLES = """
SELECT r.rolname,
       array_remove(ARRAY[
           CASE WHEN r.rolcanlogin THEN 'LOGIN' END,
           CASE WHEN r.rolsuper THEN 'SUPERUSER' END,
           CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END,
           CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END,
           CASE WHEN EXISTS (
               SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relowner = r.oid AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                 AND n.nspname NOT LIKE 'pg\\_%%' AND c.relkind IN ('r', 'p')
           ) THEN 'owns tables' END
       ], NULL)
FROM pg_roles r
WHERE r.rolname NOT LIKE 'pg\\_%%'
ORDER BY r.rolname
"""


@dataclass
class Section:
    """One list of the review: a title, its key in csv/json, and (who, what) rows."""

    key: str
    title: str
    rows: list = field(default_factory=list)
    users: bool = True  # rows name user accounts (their last sign-in is shown)


@dataclass
class Report:
    database: str
    sections: list
    notes: list

    def data(self):
        """The report as JSON values: what the digest covers (no timestamp)."""
        return {
            "database": self.database,
            "sections": {s.key: s.rows for s in self.sections},
            "notes": self.notes,
        }

    def digest(self):
        text = json.dumps(self.data(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def signers(alias):
    """Users holding the sign-off permission, directly or through a group, and superusers."""
    app_label, codename = PERMISSION.split(".")
    permission = Permission.objects.using(alias).filter(
        content_type__app_label=app_label, codename=codename
    )
    rows = [
        {"who": u, "what": "granted directly"}
        for u in _names(alias, user_permissions__in=permission)
    ]
    for group in permission.values_list("group__name", flat=True):
        if group:
            rows += [
                {"who": u, "what": f"through group {group!r}"}
                for u in _names(alias, groups__name=group)
            ]
    rows += [{"who": u, "what": "superuser"} for u in _names(alias, is_superuser=True)]
    return rows


def _names(alias, **where):
    User = get_user_model()
    users = User._default_manager.db_manager(alias).filter(**where)
    return sorted(set(users.values_list(User.USERNAME_FIELD, flat=True)))


def database_roles(alias):
    """Rows for the PostgreSQL roles with LOGIN, SUPERUSER, BYPASSRLS, CREATEROLE or tables."""
    with connections[alias].cursor() as cursor:
        cursor.execute(DATABASE_ROLES)
        return [{"who": name, "what": ", ".join(flags)} for name, flags in cursor if flags]


def _with_last_login(alias, sections, unused_days):
    """Fill each user row's last sign-in; the section of privileged accounts not in use."""
    User = get_user_model()
    names = {row["who"] for s in sections if s.users for row in s.rows}
    users = User._default_manager.db_manager(alias).filter(**{f"{User.USERNAME_FIELD}__in": names})
    by_name = {u.get_username(): u for u in users}
    cutoff = timezone.now() - datetime.timedelta(days=unused_days)
    for section in sections:
        for row in section.rows:
            if section.users:
                user = by_name.get(row["who"])
                last = user.last_login if user else None
                row["last_login"] = last.astimezone(datetime.UTC).isoformat() if last else ""
            else:
                row["last_login"] = ""
    stale = []
    for name in sorted(by_name):
        user = by_name[name]
        if not user.is_active:
            why = "inactive"
        elif user.last_login is None:
            why = "never signed in"
        elif user.last_login < cutoff:
            why = f"no sign-in for {(timezone.now() - user.last_login).days} days"
        else:
            continue
        held = sorted({s.title for s in sections if s.users for r in s.rows if r["who"] == name})
        last = user.last_login.astimezone(datetime.UTC).isoformat() if user.last_login else ""
        stale.append({"who": name, "what": f"{why}; holds: {', '.join(held)}", "last_login": last})
    return Section("unused", f"Inactive or unused for {unused_days}+ days, still privileged", stale)


def build(alias, *, unused_days):
    """The access review of database `alias` (read as system work)."""
    notes = []
    # On the owner's connection the app's connection needs no transaction (as the gate's runs).
    with system_scope("access review", database=alias == "default"):
        sections = [
            Section("signers", "May sign off migrations", signers(alias)),
            Section(
                "superusers",
                "Superusers",
                [{"who": u, "what": "superuser"} for u in _names(alias, is_superuser=True)],
            ),
            Section(
                "staff",
                "Staff",
                [{"who": u, "what": "staff"} for u in _names(alias, is_staff=True)],
            ),
        ]
        vendor = connections[alias].vendor
        catalog = vendor == "postgresql" and not same_credentials_as_app(alias)
        project = access_review_sections()(alias, catalog=catalog)
        sections += [Section(key, title, rows) for key, title, rows, users in project if users]
        sections.append(_with_last_login(alias, sections, unused_days))
        if vendor == "postgresql" and not catalog:
            notes.append(
                "Without the owner's connection (DATABASE_MIGRATE_URL unset or the app's role) "
                "the database roles and the app role's privileges are not listed."
            )
        if catalog:
            database = [("database_roles", "Database roles", database_roles(alias), False)]
            for key, title, rows, _ in database + [p for p in project if not p[3]]:
                rows = [{**row, "last_login": ""} for row in rows]
                sections.append(Section(key, title, rows, users=False))
    return Report(str(connections.settings[alias]["NAME"]), sections, notes)


def as_text(report):
    lines = [f"Access review of {report.database}", ""]
    for section in report.sections:
        lines.append(f"{section.title} ({len(section.rows)}):")
        for row in section.rows or [{"who": "(none)", "what": "", "last_login": ""}]:
            last = (
                f"  last sign-in {row['last_login'] or 'never'}"
                if section.users and row["who"] != "(none)"
                else ""
            )
            lines.append(f"  {row['who']}  {row['what']}{last}".rstrip())
        lines.append("")
    lines += report.notes
    lines.append(f"Digest: {report.digest()}")
    return "\n".join(lines)


def as_csv(report):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for section in report.sections:
        for row in section.rows:
            writer.writerow([section.key, row["who"], row["what"], row["last_login"]])
    return out.getvalue().rstrip("\n")


def as_json(report):
    return json.dumps({**report.data(), "digest": report.digest()}, indent=2, sort_keys=True)


FORMATS = {"text": as_text, "csv": as_csv, "json": as_json}
