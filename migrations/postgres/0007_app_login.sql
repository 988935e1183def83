-- The app pool logs in as grc_app itself (decision 0002, revised): a session that starts as
-- grc_app has no other role to `RESET ROLE` back to. The role is cluster-wide and other
-- databases on the cluster migrate concurrently, so the change is serialized and made once.
SELECT pg_advisory_xact_lock(hashtext('grc.grc_app-role'));
DO $$
BEGIN
    IF NOT (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'grc_app') THEN
        ALTER ROLE grc_app LOGIN;
    END IF;
END
$$;
