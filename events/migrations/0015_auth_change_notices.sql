-- Every change to who may do what is announced (issue 20).
-- Never edit this file once it has landed: add a new numbered migration instead.
--
-- API processes keep authenticated tokens in memory for a short while
-- (services/handlers/token_cache.py). They LISTEN on `campaign_auth`; any statement that
-- changes api_tokens, users or user_roles (a token issued or revoked, a person erased, a role
-- granted or revoked, a read model rebuilt) notifies it when its transaction commits, and each
-- process empties its cache. Notices of one transaction are delivered once.

CREATE FUNCTION campaign_auth_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('campaign_auth', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER api_tokens_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION campaign_auth_changed();
CREATE TRIGGER users_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION campaign_auth_changed();
CREATE TRIGGER user_roles_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON user_roles
    FOR EACH STATEMENT EXECUTE FUNCTION campaign_auth_changed();
