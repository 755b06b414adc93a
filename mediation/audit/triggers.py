"""SQL that makes ``audit_events`` append-only, used by the migration and the demo reset."""

SQLITE_NO_UPDATE = """
CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END
"""
SQLITE_NO_DELETE = """
CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END
"""
PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql
"""
PG_TRIGGER = """
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
"""

# Since revision 0013 the chain is sealed at commit (mediation.audit.services.seal): one update is
# allowed, giving an unsealed event its place, previous hash and hash; every other column unchanged.
SEALED_COLUMNS_UNCHANGED = (
    "NEW.id = OLD.id AND NEW.at IS {same} OLD.at AND NEW.actor_id IS {same} OLD.actor_id "
    "AND NEW.action = OLD.action AND NEW.object_type = OLD.object_type "
    "AND NEW.object_id IS {same} OLD.object_id AND NEW.structure_id IS {same} OLD.structure_id "
    "AND {details_new} IS {same} {details_old}"
)
SEAL_ONLY = ("OLD.seq IS NULL AND OLD.hash IS NULL AND NEW.seq IS NOT NULL AND NEW.hash IS NOT NULL AND "
             + SEALED_COLUMNS_UNCHANGED)
SQLITE_SEAL_ONLY = f"""
CREATE TRIGGER IF NOT EXISTS audit_events_seal_only BEFORE UPDATE ON audit_events
WHEN NOT ({SEAL_ONLY.format(same="", details_new="NEW.details", details_old="OLD.details")})
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END
"""
PG_FUNCTION_SEAL_ONLY = f"""
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND {SEAL_ONLY.format(same="NOT DISTINCT FROM", details_new="NEW.details::text",
                                            details_old="OLD.details::text")} THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql
"""
