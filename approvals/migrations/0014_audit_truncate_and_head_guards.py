"""On PostgreSQL: refuse TRUNCATE of the audit trail and its chain head (the row-level
append-only trigger never sees a TRUNCATE), and refuse moving the head backwards or
deleting it — so emptying or shortening the trail takes disabling triggers, which a
signed checkpoint outside the database then exposes (``audit_verify --checkpoint``)."""

from django.db import migrations

GUARDS_SQL = """
CREATE OR REPLACE FUNCTION approvals_audit_refuse_truncate() RETURNS trigger AS $$
BEGIN
    -- Only a maintenance session that says so (the test suite's flush between tests).
    IF current_setting('controltower.audit_maintenance', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit trail cannot be truncated (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER approvals_auditevent_no_truncate
    BEFORE TRUNCATE ON approvals_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION approvals_audit_refuse_truncate();
CREATE TRIGGER approvals_auditchainhead_no_truncate
    BEFORE TRUNCATE ON approvals_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION approvals_audit_refuse_truncate();

CREATE OR REPLACE FUNCTION approvals_auditchainhead_forward_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the audit chain head cannot be deleted';
    END IF;
    IF NEW.seq < OLD.seq OR (NEW.seq = OLD.seq AND NEW.hash <> OLD.hash) THEN
        RAISE EXCEPTION 'the audit chain head only moves forward (% to % refused)',
            OLD.seq, NEW.seq;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER approvals_auditchainhead_forward_only
    BEFORE UPDATE OR DELETE ON approvals_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION approvals_auditchainhead_forward_only();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS approvals_auditevent_no_truncate ON approvals_auditevent;
DROP TRIGGER IF EXISTS approvals_auditchainhead_no_truncate ON approvals_auditchainhead;
DROP TRIGGER IF EXISTS approvals_auditchainhead_forward_only ON approvals_auditchainhead;
DROP FUNCTION IF EXISTS approvals_audit_refuse_truncate();
DROP FUNCTION IF EXISTS approvals_auditchainhead_forward_only();
"""


def guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARDS_SQL, params=None)


def drop_guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0013_approval_links")]

    operations = [migrations.RunPython(guards, drop_guards)]
