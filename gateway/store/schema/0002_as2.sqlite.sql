-- Delta 2: AS2 state (as2_received, as2_mdn_outbox, as2_outbound), which the gateway used to
-- create on the fly when AS2 was enabled (gateway/pipeline/as2_state.py SCHEMA) without
-- counting it in the schema version: IF NOT EXISTS adopts the tables where they were made.
CREATE TABLE IF NOT EXISTS as2_received (
    as2_from TEXT NOT NULL,
    message_id TEXT NOT NULL,
    partner_id TEXT NOT NULL,
    state TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    file_id TEXT,
    disposition TEXT NOT NULL,
    mdn_headers TEXT NOT NULL,
    mdn_body BLOB NOT NULL,
    async_url TEXT,
    received_at REAL NOT NULL,
    PRIMARY KEY (as2_from, message_id)
);
CREATE TABLE IF NOT EXISTS as2_mdn_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    as2_from TEXT NOT NULL,
    original_message_id TEXT NOT NULL,
    partner_id TEXT,
    url TEXT NOT NULL,
    disposition TEXT NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL,
    last_error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS as2_mdn_outbox_due ON as2_mdn_outbox (state, next_try);
CREATE TABLE IF NOT EXISTS as2_outbound (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    partner_id TEXT NOT NULL,
    mailbox_id INTEGER NOT NULL UNIQUE,
    mailbox_name TEXT NOT NULL,
    file_id TEXT,
    kind TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    mic TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL,
    last_error TEXT,
    mdn_disposition TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    delivered_at REAL
);
CREATE INDEX IF NOT EXISTS as2_outbound_due ON as2_outbound (state, next_try);
