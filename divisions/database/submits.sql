-- Spent form tokens and API Idempotency-Keys (submits_submit): each principal reads and
-- writes only its own; system work (manage.py clearsubmits) reads and deletes expired ones.
-- Forced, so the owner role reads them through these policies too.

-- submits_submit
ALTER TABLE submits_submit ENABLE ROW LEVEL SECURITY;

ALTER TABLE submits_submit FORCE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON submits_submit
    FOR DELETE
    USING ((user_id = (SELECT proone_principal())) OR (SELECT proone_acting_system()));

CREATE POLICY proone_insert ON submits_submit
    FOR INSERT
    WITH CHECK (user_id = (SELECT proone_principal()));

CREATE POLICY proone_read ON submits_submit
    FOR SELECT
    USING ((user_id = (SELECT proone_principal())) OR (SELECT proone_acting_system()));

CREATE POLICY proone_update ON submits_submit
    FOR UPDATE
    USING (user_id = (SELECT proone_principal()))
    WITH CHECK (user_id = (SELECT proone_principal()));
