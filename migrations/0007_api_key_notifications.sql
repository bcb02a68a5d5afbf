-- paymuxd processes remember API keys they have checked (store::ApiKeyCache). Any change to
-- api_keys, whether through `paymuxd admin key revoke` or an operator's own SQL, tells them to
-- forget: the NOTIFY is delivered when the changing transaction commits.
CREATE FUNCTION paymux_api_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('paymux_api_keys', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER api_keys_changed AFTER UPDATE OR DELETE OR TRUNCATE ON api_keys
  FOR EACH STATEMENT EXECUTE FUNCTION paymux_api_keys_changed();
