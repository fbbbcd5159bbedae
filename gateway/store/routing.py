"""Tables for routing claims to payers and answering them (see gateway/pipeline/routing.py).

``batches``   one re-enveloped 837 interchange per payer per source file (kept as a blob).
``routes``    one row per routed claim: outbound (ISA13, ST02, index) → source claim, its
              state at the payer and the payer's decision.
``decisions`` the latest decision per payer claim control number (CLP07), for corrections.
``accumulators`` / ``paid_history`` the simulated payers' memory across claims.
``accepted_sets`` the transaction sets each inbound file's 999 accepted.
``remits``    835s built (or received) and where they went.
"""

ROUTING_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    payer_partner_id TEXT NOT NULL,
    payer_id TEXT NOT NULL,
    isa13 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    source_file_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    delivery TEXT NOT NULL,
    usage TEXT NOT NULL,
    mailbox_id INTEGER,
    state TEXT NOT NULL DEFAULT 'sent'
);
CREATE INDEX IF NOT EXISTS batches_isa13 ON batches (payer_partner_id, isa13);
CREATE TABLE IF NOT EXISTS routes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    claim_row_id INTEGER REFERENCES claims (id),
    batch_id INTEGER NOT NULL REFERENCES batches (id),
    payer_partner_id TEXT NOT NULL,
    payer_id TEXT NOT NULL,
    out_isa13 TEXT NOT NULL,
    out_gs06 TEXT NOT NULL,
    out_st02 TEXT NOT NULL,
    out_index INTEGER NOT NULL,
    clm01 TEXT NOT NULL,
    file_id TEXT NOT NULL,
    submitter_partner_id TEXT NOT NULL,
    source_isa13 TEXT NOT NULL,
    source_st02 TEXT NOT NULL,
    source_index INTEGER NOT NULL,
    billing_npi TEXT NOT NULL,
    state TEXT NOT NULL,
    payer_claim_id TEXT,
    decision TEXT,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS routes_state ON routes (payer_partner_id, state);
CREATE INDEX IF NOT EXISTS routes_file ON routes (file_id);
CREATE INDEX IF NOT EXISTS routes_clm01 ON routes (payer_id, clm01);
CREATE INDEX IF NOT EXISTS routes_payer_claim ON routes (payer_id, payer_claim_id);
CREATE TABLE IF NOT EXISTS decisions (
    payer_id TEXT NOT NULL,
    payer_claim_id TEXT NOT NULL,
    decision TEXT NOT NULL,
    route_id INTEGER,
    PRIMARY KEY (payer_id, payer_claim_id)
);
CREATE TABLE IF NOT EXISTS accumulators (
    payer_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    year INTEGER NOT NULL,
    deductible_met TEXT NOT NULL,
    oop_met TEXT NOT NULL,
    PRIMARY KEY (payer_id, member_id, year)
);
CREATE TABLE IF NOT EXISTS paid_history (
    payer_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    payer_claim_id TEXT NOT NULL,
    PRIMARY KEY (payer_id, fingerprint)
);
CREATE TABLE IF NOT EXISTS accepted_sets (
    file_id TEXT NOT NULL REFERENCES files (id),
    isa13 TEXT NOT NULL,
    gs06 TEXT NOT NULL,
    st01 TEXT NOT NULL,
    st02 TEXT NOT NULL,
    usage TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS accepted_sets_file ON accepted_sets (file_id);
CREATE TABLE IF NOT EXISTS remits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    payer_id TEXT NOT NULL,
    payee_npi TEXT NOT NULL,
    payee_tin TEXT NOT NULL,
    partner_id TEXT NOT NULL,
    trace TEXT NOT NULL,
    total TEXT NOT NULL,
    claims INTEGER NOT NULL,
    isa13 TEXT NOT NULL,
    mailbox_id INTEGER,
    source_file_id TEXT,
    created_at REAL NOT NULL
);
"""
