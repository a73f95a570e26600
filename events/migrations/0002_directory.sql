-- The organisation directory, kept in the same transaction as the events that change it (so a
-- command's answer is readable at once), and the identity tables that are not events.

-- Units as they stand: a read model of the unit streams, rebuildable from them.
CREATE TABLE unit_directory (
    unit_id       uuid PRIMARY KEY,
    version       integer NOT NULL,
    name          text NOT NULL,
    short_code    text NOT NULL,
    kind          text NOT NULL,
    parent_id     uuid,
    status        text NOT NULL,
    successor_id  uuid,
    search_key    text NOT NULL,
    registered_at timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX unit_directory_by_parent ON unit_directory (parent_id, short_code);

-- Roles as they stand: a read model of RoleGranted and RoleRevoked.
CREATE TABLE user_roles (
    role_id    uuid PRIMARY KEY,
    user_id    uuid NOT NULL,
    role       text NOT NULL,
    unit_id    uuid,
    granted_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX user_roles_by_user ON user_roles (user_id) WHERE revoked_at IS NULL;

-- Personal data: mutable and erasable; events name users by id only.
CREATE TABLE users (
    user_id    uuid PRIMARY KEY,
    name       text,
    email      text,
    phone      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at  timestamptz
);

-- Bearer tokens, stored as sha256 of the token; the token itself is shown once.
CREATE TABLE api_tokens (
    token_id   uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (user_id),
    token_hash bytea NOT NULL UNIQUE,
    label      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);
