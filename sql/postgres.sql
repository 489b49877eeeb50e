-- Actra approval store for PostgreSQL, schema version 1 (schema "public", table prefix "actra_").
-- PostgresApprovalStore.init() runs the same statements (for its configured schema and prefix)
-- under an advisory lock and records the version; run this file instead when the application's
-- database role may not create tables. Times are milliseconds since the epoch (bigint).
CREATE TABLE IF NOT EXISTS "public"."actra_schema_version" (version integer NOT NULL);
CREATE TABLE IF NOT EXISTS "public"."actra_approvals" (
  id           text PRIMARY KEY,
  status       text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'consumed')),
  digest       text NOT NULL,
  action_type  text NOT NULL,
  rule_id      text NOT NULL,
  reason       text,
  policy_hash  text NOT NULL,
  requester_id text NOT NULL,
  method       text,
  route        text,
  created_at   bigint NOT NULL,
  expires_at   bigint NOT NULL,
  decided_at   bigint,
  decided_by   text,
  verdict      text CHECK (verdict IN ('approve', 'deny')),
  note         text,
  consumed_at  bigint
);
CREATE INDEX IF NOT EXISTS actra_approvals_digest ON "public"."actra_approvals" (digest, status);
CREATE INDEX IF NOT EXISTS actra_approvals_due ON "public"."actra_approvals" (expires_at) WHERE status IN ('pending', 'approved');
CREATE INDEX IF NOT EXISTS actra_approvals_created ON "public"."actra_approvals" (created_at DESC);
CREATE INDEX IF NOT EXISTS actra_approvals_status_created ON "public"."actra_approvals" (status, created_at DESC);
CREATE TABLE IF NOT EXISTS "public"."actra_outbox" (
  id              text PRIMARY KEY,
  type            text NOT NULL,
  approval_id     text NOT NULL,
  payload         text NOT NULL,
  created_at      bigint NOT NULL,
  status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts        integer NOT NULL,
  next_attempt_at bigint NOT NULL,
  last_error      text,
  delivered_at    bigint
);
CREATE INDEX IF NOT EXISTS actra_outbox_due ON "public"."actra_outbox" (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS actra_outbox_created ON "public"."actra_outbox" (created_at DESC);
CREATE TABLE IF NOT EXISTS "public"."actra_webhook_ids" (
  id         text PRIMARY KEY,
  expires_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS actra_webhook_ids_expiry ON "public"."actra_webhook_ids" (expires_at);
INSERT INTO "public"."actra_schema_version" (version)
  SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM "public"."actra_schema_version");
