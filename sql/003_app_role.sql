-- 003_app_role.sql - what the application role may do: read and write rows,
-- nothing else.
--
-- tradedesk runs under two PostgreSQL roles (docs/running.md, "Database
-- roles"): the owner (tradedesk_owner in the local stack), which owns the
-- tables and runs `tradedesk migrate` and `seed demo`, and tradedesk_app,
-- which tradedesk-api (and later the engine and the stream) log in as.  The
-- app role must exist before this migration runs (CREATE ROLE tradedesk_app
-- LOGIN, by whoever administers the server); it is never superuser, owns
-- nothing, and may not create, alter or drop anything: a bug or an injected
-- statement in a program can change rows, never the schema.
--
-- Runs as the owner inside migrate's transaction, like every migration.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tradedesk_app') THEN
        RAISE EXCEPTION 'role tradedesk_app does not exist: create it first '
                        '(CREATE ROLE tradedesk_app LOGIN; see docs/running.md)';
    END IF;
    IF current_user = 'tradedesk_app' THEN
        RAISE EXCEPTION 'run migrations as the owner role, not as tradedesk_app';
    END IF;
END
$$;

-- Nobody but the owner creates objects in the schema (PostgreSQL 15 already
-- says so for new databases; older ones granted CREATE to PUBLIC).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO tradedesk_app;

-- Rows of every table there is now ...
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO tradedesk_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO tradedesk_app;

-- ... and of every table a later migration creates (migrations run as the
-- role running this one, which is whose default privileges these are).
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tradedesk_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE ON SEQUENCES TO tradedesk_app;

-- Which migrations ran is the CLI's business only.
REVOKE ALL ON schema_migrations FROM tradedesk_app;
