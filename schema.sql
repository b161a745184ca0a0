-- authlite database schema: the current version, and the one place DDL is written.
-- New databases are created from the whole file. A database at version N is upgraded by
-- running the sections after "-- @version N" in order (src/store/migrate.rs), so a new
-- version appends a section; tests/migrations.rs proves both paths give the same schema.
-- Times are integer milliseconds since the Unix epoch (UTC).

-- @version 1

-- Engine-wide values, e.g. the master key that derived keys come from.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) STRICT, WITHOUT ROWID;

-- Access-token signing keys. Sign with the newest live key (highest id), verify with any
-- key not retired.
CREATE TABLE signing_keys (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kid        TEXT NOT NULL UNIQUE,
    alg        TEXT NOT NULL CHECK (alg IN ('HS256', 'EdDSA')),
    secret     BLOB NOT NULL,           -- HS256 key, or Ed25519 seed
    public_key BLOB,                    -- Ed25519 public key; NULL for HS256
    created_at INTEGER NOT NULL,
    retired_at INTEGER
) STRICT;

-- AUTOINCREMENT: ids of deleted users and sessions are never handed out again, so an old
-- token can never name a newer user or session.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL,        -- as typed (NFKC)
    username_key  TEXT NOT NULL UNIQUE, -- NFKC + case fold: the uniqueness key
    email         TEXT,
    email_key     TEXT UNIQUE,
    password_hash TEXT NOT NULL,        -- PHC string
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    token_version INTEGER NOT NULL DEFAULT 0, -- bumped to kill every outstanding access token
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    last_login_at INTEGER
) STRICT;

CREATE TABLE sessions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id           INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at        INTEGER NOT NULL,
    last_refreshed_at INTEGER NOT NULL,
    idle_expires_at   INTEGER NOT NULL, -- slides on refresh, never past expires_at
    expires_at        INTEGER NOT NULL, -- absolute end; never moves
    revoked_at        INTEGER,
    revoke_reason     TEXT,
    ip                TEXT,
    user_agent        TEXT
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id, revoked_at);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- Opaque refresh tokens "<selector>.<secret>": only SHA-256 of the secret is kept.
-- Spent rows stay until their session is purged, so a replay is recognised as reuse.
CREATE TABLE refresh_tokens (
    selector    TEXT PRIMARY KEY NOT NULL,
    session_id  INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    secret_hash BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    spent_at    INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);
-- One live refresh token per session.
CREATE UNIQUE INDEX refresh_tokens_one_live ON refresh_tokens (session_id) WHERE spent_at IS NULL;

-- Individually revoked access tokens (by jti), kept until the token would have expired.
CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- @version 2

-- Login throttling: one row per account ("user:<id>"; wrong second-factor codes apart as
-- "mfa:<id>"), per unknown login name
-- ("name:<key>", so lockouts do not reveal which accounts exist) and per client address
-- ("ip:<address or IPv6 /64>").
CREATE TABLE login_throttle (
    key          TEXT PRIMARY KEY NOT NULL,
    failures     INTEGER NOT NULL DEFAULT 0, -- accounts: consecutive; addresses: in the window
    window_start INTEGER NOT NULL,
    locked_until INTEGER,
    lockouts     INTEGER NOT NULL DEFAULT 0  -- lockouts since the last success (delay grows)
) STRICT, WITHOUT ROWID;

-- The audit trail. Each row's MAC covers its content and the previous row's MAC (a hash
-- chain keyed with a key derived from the master key), so edits, deletions and insertions
-- made behind the engine's back are detected by Auth::verify_audit_chain.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,      -- consecutive; a gap is a deleted row
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    user_id    INTEGER,                  -- no foreign key: history outlives users
    session_id INTEGER,
    ip         TEXT,
    user_agent TEXT,
    detail     TEXT,
    mac        BLOB NOT NULL
) STRICT;
CREATE INDEX audit_log_by_user ON audit_log (user_id);
CREATE INDEX audit_log_by_time ON audit_log (at);

CREATE TABLE roles (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
) STRICT;

-- Permissions are (resource, action) pairs; "*" in either place matches anything.
CREATE TABLE role_permissions (
    role_id  INTEGER NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    resource TEXT NOT NULL,
    action   TEXT NOT NULL,
    PRIMARY KEY (role_id, resource, action)
) STRICT, WITHOUT ROWID;

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id INTEGER NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX user_roles_by_role ON user_roles (role_id);

-- @version 3

-- The UTS #39 confusable skeleton of the username: two names with one skeleton look alike,
-- and only one may exist ("аdmin" with a Cyrillic "а" beside "admin"). Written by the engine;
-- the upgrade to this version fills it for existing rows (src/store/migrate.rs). Not a
-- UNIQUE index, so a file that already holds look-alikes still upgrades.
ALTER TABLE users ADD COLUMN username_skeleton TEXT;
CREATE INDEX users_by_skeleton ON users (username_skeleton);

-- Denials of one principal, resource and action are audited once per window; repeats in
-- the window are only counted here, so a flood of denials cannot grow the trail.
CREATE TABLE denials (
    key          TEXT PRIMARY KEY NOT NULL,  -- "user:<id> <what was denied>"
    window_start INTEGER NOT NULL,
    repeats      INTEGER NOT NULL DEFAULT 0  -- denials after the audited one, this window
) STRICT, WITHOUT ROWID;

-- @version 4

-- Service accounts ("service") have no password and no interactive login; their password
-- hash is a placeholder no password matches.
ALTER TABLE users ADD COLUMN kind TEXT NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'service'));

-- API keys "alk_<selector>.<secret>.<crc32>": only SHA-256 of the secret is kept. `scopes`
-- holds a JSON array of "resource:action" entries (joined by U+001F before version 7); NULL
-- means unscoped (the account's grants alone decide). Keys of a deleted account go with it.
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    selector     TEXT NOT NULL UNIQUE,
    secret_hash  BLOB NOT NULL,
    scopes       TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;
CREATE INDEX api_keys_by_user ON api_keys (user_id);

-- Scoped capability tokens are stateless; revoking a (scope, subject) kills every token of
-- it issued at or before `revoked_before` (milliseconds).
CREATE TABLE scoped_revocations (
    scope          TEXT NOT NULL,
    subject        TEXT NOT NULL,
    revoked_before INTEGER NOT NULL,
    PRIMARY KEY (scope, subject)
) STRICT, WITHOUT ROWID;

-- @version 5

-- When the current email address was proven (a verification token redeemed); cleared when
-- the address changes.
ALTER TABLE users ADD COLUMN email_verified_at INTEGER;

-- One-time tokens (password reset, email verification, magic links, second-factor
-- challenges): "<prefix><selector>.<secret>", only SHA-256 of the secret kept, single use.
-- A verification token names the address it proves (`email_key`), so changing the address
-- voids it.
CREATE TABLE one_time_tokens (
    selector    TEXT PRIMARY KEY NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('reset', 'verify', 'magic', 'mfa')),
    secret_hash BLOB NOT NULL,
    email_key   TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    spent_at    INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX one_time_tokens_by_user ON one_time_tokens (user_id, purpose);

-- TOTP second factor (RFC 6238). The secret is sealed (XChaCha20-Poly1305) with a key
-- derived from the master key; `last_step` is the newest accepted time step, so no code is
-- accepted twice.
CREATE TABLE totp (
    user_id      INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       BLOB NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Recovery codes: SHA-256 of each, single use.
CREATE TABLE recovery_codes (
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    spent_at  INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT, WITHOUT ROWID;

-- Application data kept per user and loaded with every validation (tier, names, provider).
CREATE TABLE user_attributes (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
) STRICT, WITHOUT ROWID;

-- @version 6

-- The shape of `one_time_tokens` without its link to users: a request for a password reset
-- or a magic link naming nobody writes its row here instead (and voids the previous one),
-- so known and unknown names cost the same. Never read; holds at most one row per purpose.
CREATE TABLE one_time_pad (
    selector    TEXT PRIMARY KEY NOT NULL,
    user_id     INTEGER NOT NULL,
    purpose     TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    email_key   TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    spent_at    INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX one_time_pad_by_user ON one_time_pad (user_id, purpose);

-- @version 7

-- How each session signed in: 'password', 'magic_link', 'passkey:<id>' or
-- 'provider:<name>' (features/signin.rs), so removing a way in ends the sessions it started.
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
-- A second-factor challenge remembers the first factor it follows (the session's method).
ALTER TABLE one_time_tokens ADD COLUMN method TEXT;
ALTER TABLE one_time_pad ADD COLUMN method TEXT;
-- Revoking a (scope, subject) counts its generation up; a token carries the generation it
-- was issued under and is revoked once the count has passed it. (`revoked_before` still
-- judges tokens of the first format, which carry only their issue time.)
ALTER TABLE scoped_revocations ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
-- Lists in a column are JSON arrays, like attributes: key scopes were joined by U+001F
-- (scope names are A-Z a-z 0-9 _ - . : *, so no character needs escaping).
UPDATE api_keys SET scopes = CASE WHEN scopes = '' THEN '[]'
    ELSE '["' || replace(scopes, char(31), '","') || '"]' END
    WHERE scopes IS NOT NULL;

-- @version 8

-- Passkeys (WebAuthn credentials, DESIGN §12). `credential_id` is the authenticator's id
-- for the key, unique across accounts; `credential` its public key, sign counter and flags
-- as the WebAuthn library keeps them (JSON); `user_handle` the account's random WebAuthn
-- user id (the same on each of its passkeys), which a usernameless sign-in presents.
CREATE TABLE passkeys (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id   BLOB NOT NULL UNIQUE,
    user_handle     BLOB NOT NULL,
    name            TEXT NOT NULL,
    credential      TEXT NOT NULL,
    backup_eligible INTEGER NOT NULL CHECK (backup_eligible IN (0, 1)),
    backed_up       INTEGER NOT NULL CHECK (backed_up IN (0, 1)),
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER
) STRICT;
CREATE INDEX passkeys_by_user ON passkeys (user_id);

-- Started WebAuthn ceremonies, named by an opaque secret (hashed here): deleted when
-- finished (single use) and refused after `expires_at`. `kind`: 'register' (for `user_id`,
-- the new passkey's `name`), 'login' (`user_id` when an account was named) or 'second'
-- (answering the MFA challenge whose selector is `challenge`); a registration also keeps
-- the account's WebAuthn user id. `state` is the WebAuthn library's half of the ceremony
-- (the challenge; JSON).
CREATE TABLE passkey_ceremonies (
    selector    TEXT PRIMARY KEY NOT NULL,
    secret_hash BLOB NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('register', 'login', 'second')),
    user_id     INTEGER REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT,
    user_handle BLOB,
    challenge   TEXT,
    state       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- @version 9

-- Organizations (DESIGN §14): tenants with members, roles per member (the roles of
-- `roles`, assigned here instead of globally), invitations and an active organization per
-- session. `slug` is the normalised unique name (lower-case a-z, 0-9 and '-').
CREATE TABLE organizations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE memberships (
    org_id    INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX memberships_by_user ON memberships (user_id);

-- A member's roles in one organization; they go with the membership.
CREATE TABLE member_roles (
    org_id  INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    role_id INTEGER NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (org_id, user_id, role_id),
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Invitations: the one-time token format ("inv_<selector>.<secret>", only SHA-256 of the
-- secret kept, spent once), naming the invited address (`email_key`) rather than an account,
-- and the roles (a JSON array) the invitee gets.
CREATE TABLE invitations (
    selector    TEXT PRIMARY KEY NOT NULL,
    org_id      INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    secret_hash BLOB NOT NULL,
    email_key   TEXT NOT NULL,
    roles       TEXT NOT NULL,
    invited_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    spent_at    INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX invitations_by_org ON invitations (org_id);

-- The session's active organization (read by validation with everything else; it only
-- counts while the account is a member), and the organization an API key belongs to (it
-- works only while its account is a member). No foreign keys: deleting an organization
-- clears the one and deletes the other itself (organization ids are never reused, and both
-- are only believed through `memberships`).
ALTER TABLE sessions ADD COLUMN organization_id INTEGER;
ALTER TABLE api_keys ADD COLUMN organization_id INTEGER;
-- Deleting an organization finds its sessions and keys by these.
CREATE INDEX sessions_by_org ON sessions (organization_id);
CREATE INDEX api_keys_by_org ON api_keys (organization_id);

-- @version 10

-- Nothing for SQLite: version 10 gave PostgreSQL its change counter (schema.postgres.sql),
-- which a cache there needs to learn of other machines' commits. Here every commit already
-- rewrites the WAL-index header the cache watches (src/store/sqlite/watch.rs).

-- @version 11

-- Identities at OpenID Connect providers (DESIGN §13): (issuer, subject) is one person at
-- one provider and belongs to one account. `provider` is the configured name it was linked
-- under; `email` what the provider last asserted (verified or not: only for display).
CREATE TABLE identities (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider     TEXT NOT NULL,
    issuer       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    email        TEXT,
    linked_at    INTEGER NOT NULL,
    last_used_at INTEGER,
    UNIQUE (issuer, subject)
) STRICT;
CREATE INDEX identities_by_user ON identities (user_id);

-- Started provider flows, named by the selector of an opaque secret: the selector is the
-- `state` sent through the provider, the secret (hashed here) stays in the browser that
-- started the flow. Deleted by the first attempt to finish (single use), refused after
-- `expires_at`. `kind`: 'login', or 'link' (for `user_id`). `nonce` and `pkce_verifier`
-- are the flow's halves the provider must match.
CREATE TABLE oidc_flows (
    selector      TEXT PRIMARY KEY NOT NULL,
    secret_hash   BLOB NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('login', 'link')),
    provider      TEXT NOT NULL,
    user_id       INTEGER REFERENCES users (id) ON DELETE CASCADE,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
