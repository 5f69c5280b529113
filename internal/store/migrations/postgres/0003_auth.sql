-- Accounts, second step (package auth).
--
-- users.totp_pending holds a TOTP secret being enrolled, sealed by the
-- keyring like totp_secret and under the same dek_version, bound to
-- (org_id, 'users', 'totp_pending', id). A user replacing an authenticator
-- keeps the confirmed secret working until the new one is confirmed, so an
-- abandoned replacement never leaves an account without its second factor.
ALTER TABLE users ADD COLUMN totp_pending BYTEA;

-- Failures counted in a fixed window, for the "auth.failures" alert: one
-- alert when window_failures reaches the threshold, at most once a window.
ALTER TABLE login_throttle ADD COLUMN window_start BIGINT NOT NULL DEFAULT 0;
ALTER TABLE login_throttle ADD COLUMN window_failures BIGINT NOT NULL DEFAULT 0;

-- Re-encryption and status walk sealed tables by (scope, dek_version).
CREATE INDEX users_dek_version ON users (org_id, dek_version);
CREATE INDEX break_glass_dek_version ON break_glass (org_id, dek_version);
