-- Delta 10: requests for more information (277 RFAI X213 → 275 X210), gateway/store/rfai.py.
-- info_requests: one per pended claim a payer asked about. id: 'RFAI' + a counter; route_id
-- the claim's route (NULL when an external payer's 277 named no claim we routed); items the
-- requested LOINC codes (space separated, identifiers only); due: the answer's due date
-- (YYYY-MM-DD); state open / answered / expired / closed; source 'simulated' or 'external'.
-- attachments: the 275s that answered a request: the content lives in the blob store only
-- (sha256), never here. One SQL for every engine.
CREATE TABLE IF NOT EXISTS info_requests (
    id TEXT PRIMARY KEY,
    route_id BIGINT,
    claim_row_id BIGINT,
    clm01 TEXT NOT NULL,
    payer_partner_id TEXT NOT NULL,
    payer_id TEXT NOT NULL,
    provider_partner_id TEXT NOT NULL,
    payer_claim_id TEXT NOT NULL,
    attachment_control TEXT NOT NULL,
    items TEXT NOT NULL,
    due TEXT NOT NULL,
    state TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    sent_name TEXT
);
CREATE INDEX IF NOT EXISTS info_requests_claim ON info_requests (payer_claim_id);
CREATE INDEX IF NOT EXISTS info_requests_route ON info_requests (route_id);
CREATE INDEX IF NOT EXISTS info_requests_clm01 ON info_requests (clm01);
CREATE TABLE IF NOT EXISTS attachments (
    request_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    format TEXT NOT NULL,
    size BIGINT NOT NULL,
    file_id TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    forwarded_name TEXT
);
CREATE INDEX IF NOT EXISTS attachments_request ON attachments (request_id);
