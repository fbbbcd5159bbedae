-- Delta 1: the schema the gateway had before versioned migrations (gateway/store/sqlite.py
-- _SCHEMA and gateway/store/routing.py ROUTING_SCHEMA, recorded then as meta.schema_version = 1).
-- CREATE ... IF NOT EXISTS, so that a data directory made before migrations adopts it as is.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    received_at REAL NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS files_state ON files (state);
CREATE INDEX IF NOT EXISTS files_partner ON files (partner_id, received_at);
CREATE TABLE IF NOT EXISTS interchanges (
    sender_qualifier TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    control_number TEXT NOT NULL,
    file_id TEXT NOT NULL REFERENCES files (id),
    position INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    PRIMARY KEY (sender_qualifier, sender_id, control_number)
);
CREATE INDEX IF NOT EXISTS interchanges_file ON interchanges (file_id);
CREATE TABLE IF NOT EXISTS mailbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    partner_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    file_id TEXT,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at REAL NOT NULL,
    picked_up_at REAL,
    UNIQUE (partner_id, name)
);
CREATE INDEX IF NOT EXISTS mailbox_file ON mailbox (file_id);
CREATE TABLE IF NOT EXISTS responses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_id TEXT NOT NULL REFERENCES files (id),
    kind TEXT NOT NULL,
    interchange_control TEXT,
    outbound_control TEXT,
    accepted INTEGER NOT NULL,
    mailbox_id INTEGER REFERENCES mailbox (id)
);
CREATE INDEX IF NOT EXISTS responses_file ON responses (file_id);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS claims (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_id TEXT NOT NULL REFERENCES files (id),
    interchange_control TEXT NOT NULL,
    st02 TEXT NOT NULL,
    claim_index INTEGER NOT NULL,
    clm01 TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    payer_id TEXT NOT NULL,
    billing_npi TEXT NOT NULL,
    charge TEXT NOT NULL,
    frequency_code TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    codes TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS claims_file ON claims (file_id);
CREATE INDEX IF NOT EXISTS claims_clm01 ON claims (clm01);
CREATE INDEX IF NOT EXISTS claims_accepted_fingerprint ON claims (fingerprint) WHERE accepted = 1;
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
