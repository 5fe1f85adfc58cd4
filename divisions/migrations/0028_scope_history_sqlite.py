"""The DataScope history on SQLite: triggers that record every change as PostgreSQL's do
(divisions/database/history.sql).

SQLite has no principal of its own: the triggers ask `proone_principal()`, a function the app
registers on each of its SQLite connections (divisions/scope_history.py) that returns the
user the ORM acts for. A write to these tables from outside the app (the sqlite3 shell) has
no such function and is refused.
"""

from django.db import migrations

from divisions.database.operations import SQLiteSQL

EVENT = """
    INSERT INTO divisions_datascopeevent
        (tenant_id, datascope_id, what, division_id, division_name, actor_id, actor_name,
         recorded_at)
    VALUES ({tenant}, {scope}, {what}, {division},
        coalesce((SELECT d.name FROM divisions_division d WHERE d.id = {division}), ''),
        proone_principal(),
        coalesce((SELECT u.username FROM divisions_user u WHERE u.id = proone_principal()), ''),
        strftime('%Y-%m-%d %H:%M:%f', 'now'));
"""

TRIGGERS = {
    "proone_record_everyone_born": (
        "AFTER INSERT ON divisions_datascope WHEN NEW.is_everyone",
        EVENT.format(tenant="NEW.tenant_id", scope="NEW.id", what="'everyone_on'", division="NULL"),
    ),
    "proone_record_everyone": (
        "AFTER UPDATE OF is_everyone ON divisions_datascope "
        "WHEN NEW.is_everyone IS NOT OLD.is_everyone",
        EVENT.format(
            tenant="NEW.tenant_id",
            scope="NEW.id",
            what="CASE WHEN NEW.is_everyone THEN 'everyone_on' ELSE 'everyone_off' END",
            division="NULL",
        ),
    ),
    "proone_record_division_added": (
        "AFTER INSERT ON divisions_datascopedivision",
        EVENT.format(
            tenant="NEW.tenant_id", scope="NEW.datascope_id", what="'added'", division="NEW.division_id"
        ),
    ),
    # Not while its tenant is being deleted: the tenant's history goes with it (below), and a
    # flush, which deletes table by table in any order, must leave no event behind.
    "proone_record_division_removed": (
        "AFTER DELETE ON divisions_datascopedivision "
        "WHEN EXISTS (SELECT 1 FROM divisions_tenant WHERE id = OLD.tenant_id)",
        EVENT.format(
            tenant="OLD.tenant_id", scope="OLD.datascope_id", what="'removed'", division="OLD.division_id"
        ),
    ),
    "proone_record_division_moved": (
        "AFTER UPDATE OF datascope_id, division_id ON divisions_datascopedivision "
        "WHEN NEW.datascope_id IS NOT OLD.datascope_id OR NEW.division_id IS NOT OLD.division_id",
        EVENT.format(
            tenant="OLD.tenant_id", scope="OLD.datascope_id", what="'removed'", division="OLD.division_id"
        )
        + EVENT.format(
            tenant="NEW.tenant_id", scope="NEW.datascope_id", what="'added'", division="NEW.division_id"
        ),
    ),
    # A tenant deleted takes its history along, the events its deletion's cascade recorded too.
    "proone_forget_scope_history": (
        "AFTER DELETE ON divisions_tenant",
        "DELETE FROM divisions_datascopeevent WHERE tenant_id = OLD.id;",
    ),
}


class Migration(migrations.Migration):
    dependencies = [("divisions", "0027_scope_history")]

    operations = [
        SQLiteSQL(
            [f"CREATE TRIGGER {name} {when} BEGIN {body} END" for name, (when, body) in TRIGGERS.items()],
            [f"DROP TRIGGER {name}" for name in TRIGGERS],
        )
    ]
