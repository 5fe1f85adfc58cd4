-- axes_accessattempt
ALTER TABLE axes_accessattempt ENABLE ROW LEVEL SECURITY;

ALTER TABLE axes_accessattempt FORCE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON axes_accessattempt
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR ((username)::text = (SELECT proone_login_name()))
        OR ((username)::text = ANY ((SELECT proone_admin_usernames())::text[]))
    );

CREATE POLICY proone_insert ON axes_accessattempt
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR ((username)::text = (SELECT proone_login_name()))
    );

CREATE POLICY proone_read ON axes_accessattempt
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR ((username)::text = (SELECT proone_login_name()))
        OR ((username)::text = ANY ((SELECT proone_admin_usernames())::text[]))
    );

CREATE POLICY proone_update ON axes_accessattempt
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR ((username)::text = (SELECT proone_login_name()))
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR ((username)::text = (SELECT proone_login_name()))
    );

-- axes_accessattemptexpiration
ALTER TABLE axes_accessattemptexpiration ENABLE ROW LEVEL SECURITY;

ALTER TABLE axes_accessattemptexpiration FORCE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON axes_accessattemptexpiration
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (EXISTS ( SELECT 1 FROM axes_accessattempt a WHERE (a.id = axes_accessattemptexpiration.access_attempt_id)))
    );

CREATE POLICY proone_insert ON axes_accessattemptexpiration
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (EXISTS ( SELECT 1 FROM axes_accessattempt a WHERE ((a.id = axes_accessattemptexpiration.access_attempt_id) AND ((a.username)::text = (SELECT proone_login_name())))))
    );

CREATE POLICY proone_read ON axes_accessattemptexpiration
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (EXISTS ( SELECT 1 FROM axes_accessattempt a WHERE (a.id = axes_accessattemptexpiration.access_attempt_id)))
    );

CREATE POLICY proone_update ON axes_accessattemptexpiration
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (EXISTS ( SELECT 1 FROM axes_accessattempt a WHERE ((a.id = axes_accessattemptexpiration.access_attempt_id) AND ((a.username)::text = (SELECT proone_login_name())))))
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (EXISTS ( SELECT 1 FROM axes_accessattempt a WHERE ((a.id = axes_accessattemptexpiration.access_attempt_id) AND ((a.username)::text = (SELECT proone_login_name())))))
    );

-- axes_accessfailurelog
ALTER TABLE axes_accessfailurelog ENABLE ROW LEVEL SECURITY;

ALTER TABLE axes_accessfailurelog FORCE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON axes_accessfailurelog
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR ((username)::text = (SELECT proone_login_name()))
    );

CREATE POLICY proone_insert ON axes_accessfailurelog
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR ((username)::text = (SELECT proone_login_name()))
    );

CREATE POLICY proone_read ON axes_accessfailurelog
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR ((username)::text = (SELECT proone_login_name()))
        OR ((username)::text = ANY ((SELECT proone_admin_usernames())::text[]))
    );

CREATE POLICY proone_update ON axes_accessfailurelog
    FOR UPDATE
    USING ((SELECT proone_acting_system()))
    WITH CHECK ((SELECT proone_acting_system()));

-- axes_accesslog
ALTER TABLE axes_accesslog ENABLE ROW LEVEL SECURITY;

ALTER TABLE axes_accesslog FORCE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON axes_accesslog
    FOR DELETE
    USING ((SELECT proone_acting_system()));

CREATE POLICY proone_insert ON axes_accesslog
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR ((username)::text = (SELECT proone_login_name()))
    );

CREATE POLICY proone_read ON axes_accesslog
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR ((username)::text = (SELECT proone_login_name()))
        OR ((username)::text = ANY ((SELECT proone_admin_usernames())::text[]))
    );

CREATE POLICY proone_update ON axes_accesslog
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR ((username)::text = (SELECT proone_login_name()))
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR ((username)::text = (SELECT proone_login_name()))
    );

-- auth_group
ALTER TABLE auth_group ENABLE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON auth_group
    FOR DELETE
    USING ((SELECT proone_acting_system()));

CREATE POLICY proone_insert ON auth_group
    FOR INSERT
    WITH CHECK ((SELECT proone_acting_system()));

CREATE POLICY proone_read ON auth_group
    FOR SELECT
    USING (true);

CREATE POLICY proone_update ON auth_group
    FOR UPDATE
    USING ((SELECT proone_acting_system()))
    WITH CHECK ((SELECT proone_acting_system()));

-- auth_group_permissions
ALTER TABLE auth_group_permissions ENABLE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON auth_group_permissions
    FOR DELETE
    USING ((SELECT proone_acting_system()));

CREATE POLICY proone_insert ON auth_group_permissions
    FOR INSERT
    WITH CHECK ((SELECT proone_acting_system()));

CREATE POLICY proone_read ON auth_group_permissions
    FOR SELECT
    USING (true);

CREATE POLICY proone_update ON auth_group_permissions
    FOR UPDATE
    USING ((SELECT proone_acting_system()))
    WITH CHECK ((SELECT proone_acting_system()));

-- divisions_accessreview
-- A tenant admin records a review of the tenant's access in their own name (their id and
-- username) and at the time it is made; the tenant's admins read the reviews (a review keeps
-- the whole matrix, counts of every division's jobs and users); a review is never edited or
-- deleted except by system work.
ALTER TABLE divisions_accessreview ENABLE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON divisions_accessreview
    FOR DELETE
    USING ((SELECT proone_acting_system()));

CREATE POLICY proone_insert ON divisions_accessreview
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (SELECT proone_acting_tenant_admin())
            AND (reviewed_by_id = (SELECT proone_principal()))
            AND (reviewed_by_name = (
                SELECT u.username FROM divisions_user u WHERE u.id = (SELECT proone_principal())
            ))
            AND (reviewed_at BETWEEN now() - interval '5 minutes'
                AND clock_timestamp() + interval '5 minutes')
        )
    );

CREATE POLICY proone_read ON divisions_accessreview
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (SELECT proone_acting_tenant_admin())
        )
    );

CREATE POLICY proone_update ON divisions_accessreview
    FOR UPDATE
    USING ((SELECT proone_acting_system()))
    WITH CHECK ((SELECT proone_acting_system()));

-- divisions_datascope
ALTER TABLE divisions_datascope ENABLE ROW LEVEL SECURITY;

ALTER TABLE divisions_datascope FORCE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON divisions_datascope
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    );

CREATE POLICY proone_insert ON divisions_datascope
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    );

CREATE POLICY proone_owner_reads ON divisions_datascope
    FOR SELECT
    TO CURRENT_USER
    USING (true);

CREATE POLICY proone_read ON divisions_datascope
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (tenant_id = (SELECT proone_acting_tenant()))
    );

CREATE POLICY proone_update ON divisions_datascope
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    );

-- divisions_datascopechange
ALTER TABLE divisions_datascopechange ENABLE ROW LEVEL SECURITY;

ALTER TABLE divisions_datascopechange FORCE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON divisions_datascopechange
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (datascope_id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    );

CREATE POLICY proone_insert ON divisions_datascopechange
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (datascope_id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    );

CREATE POLICY proone_read ON divisions_datascopechange
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (tenant_id = (SELECT proone_acting_tenant()))
    );

CREATE POLICY proone_update ON divisions_datascopechange
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (datascope_id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (datascope_id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    );

-- divisions_datascopedivision
ALTER TABLE divisions_datascopedivision ENABLE ROW LEVEL SECURITY;

ALTER TABLE divisions_datascopedivision FORCE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON divisions_datascopedivision
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (datascope_id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    );

CREATE POLICY proone_insert ON divisions_datascopedivision
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (datascope_id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    );

CREATE POLICY proone_owner_reads ON divisions_datascopedivision
    FOR SELECT
    TO CURRENT_USER
    USING (true);

CREATE POLICY proone_read ON divisions_datascopedivision
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (tenant_id = (SELECT proone_acting_tenant()))
    );

CREATE POLICY proone_update ON divisions_datascopedivision
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (datascope_id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (datascope_id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    );

-- divisions_division
ALTER TABLE divisions_division ENABLE ROW LEVEL SECURITY;

ALTER TABLE divisions_division FORCE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON divisions_division
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (SELECT proone_acting_tenant_admin())
        )
    );

CREATE POLICY proone_insert ON divisions_division
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (SELECT proone_acting_tenant_admin())
        )
    );

CREATE POLICY proone_owner_reads ON divisions_division
    FOR SELECT
    TO CURRENT_USER
    USING (true);

CREATE POLICY proone_read ON divisions_division
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (tenant_id = (SELECT proone_acting_tenant()))
    );

CREATE POLICY proone_update ON divisions_division
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (SELECT proone_acting_tenant_admin())
        )
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (SELECT proone_acting_tenant_admin())
        )
    );

-- divisions_tenant
ALTER TABLE divisions_tenant ENABLE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON divisions_tenant
    FOR DELETE
    USING ((SELECT proone_acting_system()));

CREATE POLICY proone_insert ON divisions_tenant
    FOR INSERT
    WITH CHECK ((SELECT proone_acting_system()));

CREATE POLICY proone_read ON divisions_tenant
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (id = (SELECT proone_acting_tenant()))
    );

CREATE POLICY proone_update ON divisions_tenant
    FOR UPDATE
    USING ((SELECT proone_acting_system()))
    WITH CHECK ((SELECT proone_acting_system()));

-- divisions_user
ALTER TABLE divisions_user ENABLE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON divisions_user
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (SELECT proone_acting_tenant_admin())
            AND (NOT is_superuser)
        )
    );

CREATE POLICY proone_insert ON divisions_user
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (SELECT proone_acting_tenant_admin())
            AND (NOT is_superuser)
        )
    );

CREATE POLICY proone_read ON divisions_user
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (id = (SELECT proone_principal()))
        OR ((username)::text = (SELECT proone_login_name()))
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (cardinality((SELECT proone_managed_scopes())) > 0)
            )
        )
    );

CREATE POLICY proone_update ON divisions_user
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (SELECT proone_acting_tenant_admin())
            AND (NOT is_superuser)
        )
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (SELECT proone_acting_tenant_admin())
            AND (NOT is_superuser)
        )
    );

CREATE POLICY proone_update_self ON divisions_user
    FOR UPDATE
    USING (id = (SELECT proone_principal()))
    WITH CHECK (
        (id = (SELECT proone_principal()))
        AND (proone_user_guard(tenant_id, division_id, is_active, is_staff, is_superuser, is_tenant_admin) = (SELECT proone_stored_user_guard()))
    );

-- divisions_user_groups
ALTER TABLE divisions_user_groups ENABLE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON divisions_user_groups
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
            AND (group_id = ( SELECT g.id FROM auth_group g WHERE ((g.name)::text = 'Tenant admins'::text)))
        )
    );

CREATE POLICY proone_insert ON divisions_user_groups
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
            AND (group_id = ( SELECT g.id FROM auth_group g WHERE ((g.name)::text = 'Tenant admins'::text)))
        )
    );

CREATE POLICY proone_read ON divisions_user_groups
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (user_id = (SELECT proone_principal()))
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
        )
    );

CREATE POLICY proone_update ON divisions_user_groups
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
            AND (group_id = ( SELECT g.id FROM auth_group g WHERE ((g.name)::text = 'Tenant admins'::text)))
        )
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
            AND (group_id = ( SELECT g.id FROM auth_group g WHERE ((g.name)::text = 'Tenant admins'::text)))
        )
    );

-- divisions_user_user_permissions
ALTER TABLE divisions_user_user_permissions ENABLE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON divisions_user_user_permissions
    FOR DELETE
    USING ((SELECT proone_acting_system()));

CREATE POLICY proone_insert ON divisions_user_user_permissions
    FOR INSERT
    WITH CHECK ((SELECT proone_acting_system()));

CREATE POLICY proone_read ON divisions_user_user_permissions
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (user_id = (SELECT proone_principal()))
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
        )
    );

CREATE POLICY proone_update ON divisions_user_user_permissions
    FOR UPDATE
    USING ((SELECT proone_acting_system()))
    WITH CHECK ((SELECT proone_acting_system()));

-- django_admin_log
ALTER TABLE django_admin_log ENABLE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON django_admin_log
    FOR DELETE
    USING ((SELECT proone_acting_system()));

CREATE POLICY proone_insert ON django_admin_log
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (user_id = (SELECT proone_principal()))
    );

CREATE POLICY proone_read ON django_admin_log
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (user_id = (SELECT proone_principal()))
                OR (SELECT proone_acting_tenant_admin())
            )
        )
    );

CREATE POLICY proone_update ON django_admin_log
    FOR UPDATE
    USING ((SELECT proone_acting_system()))
    WITH CHECK ((SELECT proone_acting_system()));

-- django_session
ALTER TABLE django_session ENABLE ROW LEVEL SECURITY;

-- guardian_groupobjectpermission
ALTER TABLE guardian_groupobjectpermission ENABLE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON guardian_groupobjectpermission
    FOR DELETE
    USING ((SELECT proone_acting_system()));

CREATE POLICY proone_insert ON guardian_groupobjectpermission
    FOR INSERT
    WITH CHECK ((SELECT proone_acting_system()));

CREATE POLICY proone_read ON guardian_groupobjectpermission
    FOR SELECT
    USING ((SELECT proone_acting_system()));

CREATE POLICY proone_update ON guardian_groupobjectpermission
    FOR UPDATE
    USING ((SELECT proone_acting_system()))
    WITH CHECK ((SELECT proone_acting_system()));

-- guardian_userobjectpermission
ALTER TABLE guardian_userobjectpermission ENABLE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON guardian_userobjectpermission
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
            AND (content_type_id = ( SELECT ct.id FROM django_content_type ct WHERE (((ct.app_label)::text = 'divisions'::text) AND ((ct.model)::text = 'datascope'::text))))
            AND (EXISTS ( SELECT 1 FROM divisions_datascope s WHERE ((s.id)::text = (guardian_userobjectpermission.object_pk)::text)))
        )
    );

CREATE POLICY proone_insert ON guardian_userobjectpermission
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
            AND (content_type_id = ( SELECT ct.id FROM django_content_type ct WHERE (((ct.app_label)::text = 'divisions'::text) AND ((ct.model)::text = 'datascope'::text))))
            AND (EXISTS ( SELECT 1 FROM divisions_datascope s WHERE ((s.id)::text = (guardian_userobjectpermission.object_pk)::text)))
        )
    );

CREATE POLICY proone_read ON guardian_userobjectpermission
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (user_id = (SELECT proone_principal()))
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
        )
    );

CREATE POLICY proone_update ON guardian_userobjectpermission
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
            AND (content_type_id = ( SELECT ct.id FROM django_content_type ct WHERE (((ct.app_label)::text = 'divisions'::text) AND ((ct.model)::text = 'datascope'::text))))
            AND (EXISTS ( SELECT 1 FROM divisions_datascope s WHERE ((s.id)::text = (guardian_userobjectpermission.object_pk)::text)))
        )
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
            AND (content_type_id = ( SELECT ct.id FROM django_content_type ct WHERE (((ct.app_label)::text = 'divisions'::text) AND ((ct.model)::text = 'datascope'::text))))
            AND (EXISTS ( SELECT 1 FROM divisions_datascope s WHERE ((s.id)::text = (guardian_userobjectpermission.object_pk)::text)))
        )
    );

-- jobs_job
-- Reading follows the visibility rule; writing follows the write rule (SPEC): tenant admins
-- create, edit and delete their tenant's jobs; members of a job's own division change its
-- status and updated_at, nothing else; nobody else writes a job.
ALTER TABLE jobs_job ENABLE ROW LEVEL SECURITY;

ALTER TABLE jobs_job FORCE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON jobs_job
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (tenant_id = (SELECT proone_admin_tenant()))
    );

CREATE POLICY proone_insert ON jobs_job
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (tenant_id = (SELECT proone_admin_tenant()))
    );

CREATE POLICY proone_owner_search ON jobs_job
    FOR SELECT
    TO CURRENT_USER
    USING (true);

CREATE POLICY proone_read ON jobs_job
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (division_id = ANY ((SELECT proone_visible_divisions())::bigint[]))
        OR (tenant_id = (SELECT proone_admin_tenant()))
    );

CREATE POLICY proone_update ON jobs_job
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (tenant_id = (SELECT proone_admin_tenant()))
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (tenant_id = (SELECT proone_admin_tenant()))
    );

-- The acting user's division is in the acting user's tenant, and a job's division in the
-- job's tenant (foreign keys user_division_same_tenant, job_division_same_tenant): the
-- division alone decides.
CREATE POLICY proone_update_status ON jobs_job
    FOR UPDATE
    USING ((division_id = (SELECT proone_acting_division())))
    WITH CHECK (
        (division_id = (SELECT proone_acting_division()))
        AND proone_job_kept(id, tenant_id, division_id, (title)::text, description, created_at)
    );

-- jobs_jobnote
-- Whoever may see a job reads its notes and adds one in their own name; a note is never
-- edited (a tenant admin only clears the author of a deleted user); only a tenant admin
-- deletes one.
ALTER TABLE jobs_jobnote ENABLE ROW LEVEL SECURITY;

ALTER TABLE jobs_jobnote FORCE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON jobs_jobnote
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (tenant_id = (SELECT proone_admin_tenant()))
    );

CREATE POLICY proone_insert ON jobs_jobnote
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (EXISTS ( SELECT 1 FROM jobs_job j WHERE (j.id = jobs_jobnote.job_id)))
            AND (author_id = (SELECT proone_principal()))
            AND ((author_name)::text = (( SELECT u.username FROM divisions_user u WHERE (u.id = (SELECT proone_principal()))))::text)
        )
    );

CREATE POLICY proone_read ON jobs_jobnote
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (EXISTS ( SELECT 1 FROM jobs_job j WHERE (j.id = jobs_jobnote.job_id)))
    );

CREATE POLICY proone_update ON jobs_jobnote
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (tenant_id = (SELECT proone_admin_tenant()))
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (author_id IS NULL)
            AND proone_note_kept(id, tenant_id, job_id, (author_name)::text, body, created_at)
        )
    );
