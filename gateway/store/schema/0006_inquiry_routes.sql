-- Delta 6 (issue 8): batch inquiries (270s in a file) for an external payer are routed to its
-- mailbox like claims; one row per request (TRN02) sent, so that the payer's answer (271,
-- TRN echoed) and its 999 are matched back to the submitter's file. Natural keys, times
-- DOUBLE PRECISION (one SQL for SQLite and PostgreSQL).
CREATE TABLE IF NOT EXISTS inquiry_routes (
    payer_partner_id TEXT NOT NULL,
    trn02 TEXT NOT NULL,
    file_id TEXT NOT NULL,
    submitter_partner_id TEXT NOT NULL,
    source_isa13 TEXT NOT NULL,
    source_st02 TEXT NOT NULL,
    usage TEXT NOT NULL,
    out_isa13 TEXT NOT NULL,
    out_gs06 TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    answered_at DOUBLE PRECISION,
    PRIMARY KEY (payer_partner_id, trn02, file_id)
);
CREATE INDEX IF NOT EXISTS inquiry_routes_gs06 ON inquiry_routes (payer_partner_id, out_gs06);
