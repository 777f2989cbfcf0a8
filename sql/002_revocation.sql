-- 002_revocation.sql - every session revocation gets an epoch, whatever
-- path revoked it (API logout, logout-all, `tradedesk user disable|role`,
-- a psql UPDATE or DELETE), so a cache of sessions can tell that it missed
-- one.
--
-- revocation_epoch is a one-row counter, not a sequence: a revoking
-- statement bumps it while holding its row lock until commit, so epochs
-- become visible in order and without gaps.  A reader that sees epoch E
-- therefore sees every revocation numbered E or below (with a sequence, a
-- transaction holding epoch 5 could commit after one holding 6 was seen,
-- and a cache that had caught up to 6 would never learn about 5).  The
-- price is that revocations take turns on that row: keep transactions that
-- disable users short.
--
-- session_revocations is append-only and has no foreign key, so its rows
-- outlive deleted users and sessions; `tradedesk migrate` prunes the rows of
-- sessions that expired over a day ago.  Redis' td:rev_epoch says up to
-- which epoch Redis holds every tombstone (src/store/session.c).
--
-- Runs inside migrate's transaction: no BEGIN/COMMIT here.

CREATE TABLE revocation_epoch (
    one   boolean PRIMARY KEY DEFAULT true CHECK (one),
    epoch bigint  NOT NULL CHECK (epoch >= 0)
);
INSERT INTO revocation_epoch (epoch) VALUES (0);

CREATE TABLE session_revocations (
    epoch      bigint      NOT NULL,
    session_id text        NOT NULL,
    user_id    bigint      NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now(),
    -- One epoch per revoking statement: logout-all's sessions share one.
    PRIMARY KEY (epoch, session_id)
);
CREATE INDEX session_revocations_by_expiry ON session_revocations (expires_at);

-- Sessions whose revoked_at went from NULL to a time in this statement get
-- the next epoch.  SECURITY DEFINER: a role that may revoke a session need
-- not be allowed to write the counter or the log directly.
CREATE FUNCTION sessions_record_revoked() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    e bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.id = n.id
                    WHERE o.revoked_at IS NULL AND n.revoked_at IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    UPDATE revocation_epoch SET epoch = revocation_epoch.epoch + 1
        RETURNING revocation_epoch.epoch INTO e;
    INSERT INTO session_revocations (epoch, session_id, user_id, expires_at)
    SELECT e, n.id, n.user_id, n.expires_at
      FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE o.revoked_at IS NULL AND n.revoked_at IS NOT NULL;
    RETURN NULL;
END
$$;

CREATE TRIGGER sessions_record_revoked AFTER UPDATE ON sessions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sessions_record_revoked();

-- A live session that is deleted (by hand, or by the cascade of a deleted
-- user) is revoked as well: its token must stop working at once.
CREATE FUNCTION sessions_record_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    e bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM old_rows o
                    WHERE o.revoked_at IS NULL AND o.expires_at > now()) THEN
        RETURN NULL;
    END IF;
    UPDATE revocation_epoch SET epoch = revocation_epoch.epoch + 1
        RETURNING revocation_epoch.epoch INTO e;
    INSERT INTO session_revocations (epoch, session_id, user_id, expires_at)
    SELECT e, o.id, o.user_id, o.expires_at
      FROM old_rows o
     WHERE o.revoked_at IS NULL AND o.expires_at > now();
    RETURN NULL;
END
$$;

CREATE TRIGGER sessions_record_deleted AFTER DELETE ON sessions
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sessions_record_deleted();

-- Disabling a user or changing their role ends their sessions: a token's
-- role claim is then never older than the user's role.  Deleting a user
-- needs no trigger here: the cascade deletes their sessions (above).
CREATE FUNCTION users_revoke_sessions() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE sessions SET revoked_at = now()
     WHERE user_id = NEW.id AND revoked_at IS NULL AND expires_at > now();
    RETURN NULL;
END
$$;

CREATE TRIGGER users_revoke_sessions AFTER UPDATE OF disabled, role ON users
    FOR EACH ROW
    WHEN ((NEW.disabled AND NOT OLD.disabled) OR NEW.role IS DISTINCT FROM OLD.role)
    EXECUTE FUNCTION users_revoke_sessions();

-- The API's logout (p_session_id given) and logout-all (NULL): revoke and
-- return the epoch with every session it covers, so the caller can write
-- exactly that epoch's tombstones to Redis.  The epoch read after the
-- UPDATE is this transaction's own: it holds the counter's row lock.
CREATE FUNCTION revoke_sessions(p_user_id bigint, p_session_id text)
RETURNS TABLE (rev_epoch bigint, rev_session_id text, rev_ttl_s int)
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    UPDATE sessions s SET revoked_at = now()
     WHERE s.user_id = p_user_id
       AND (p_session_id IS NULL OR s.id = p_session_id)
       AND s.revoked_at IS NULL AND s.expires_at > now();
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT r.epoch, r.session_id,
           GREATEST(1, CEIL(EXTRACT(EPOCH FROM r.expires_at - now())))::int
      FROM session_revocations r
     WHERE r.epoch = (SELECT c.epoch FROM revocation_epoch c);
END
$$;
