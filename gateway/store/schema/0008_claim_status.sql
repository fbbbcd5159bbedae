-- Delta 8: claim status requests (276 / POST /api/v1/claim-status, gateway/store/claim_status.py):
-- one row per claim asked about, with what the answer said, for `gateway trace` and audits.
-- Identifiers and codes only; CLM01 as the claims table keeps it. One SQL for every engine.
CREATE TABLE IF NOT EXISTS status_requests (
    requested_at DOUBLE PRECISION NOT NULL,
    partner_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    payer_id TEXT NOT NULL,
    trace TEXT NOT NULL,
    clm01 TEXT NOT NULL,
    claim_row_id INTEGER,
    route_id INTEGER,
    status TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS status_requests_claim ON status_requests (claim_row_id);
CREATE INDEX IF NOT EXISTS status_requests_clm01 ON status_requests (clm01);
