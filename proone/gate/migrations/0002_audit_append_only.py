"""On PostgreSQL the database itself refuses UPDATE, DELETE and TRUNCATE of the audit log."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION gate_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'gate_auditentry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER gate_audit_no_update_delete
    BEFORE UPDATE OR DELETE ON gate_auditentry
    FOR EACH ROW EXECUTE FUNCTION gate_audit_append_only();
CREATE TRIGGER gate_audit_no_truncate
    BEFORE TRUNCATE ON gate_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION gate_audit_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS gate_audit_no_truncate ON gate_auditentry;
DROP TRIGGER IF EXISTS gate_audit_no_update_delete ON gate_auditentry;
DROP FUNCTION IF EXISTS gate_audit_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):

    dependencies = [("gate", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
