-- Delta 5: the remittance ledger (gateway/store/ledger.py): every 835 that reaches a provider,
-- posted claim by claim and line by line. One SQL for every engine: natural keys (no
-- autoincrement ids), amounts as TEXT decimals (exact to the cent), times DOUBLE PRECISION.
-- The payment's key (payer, TRN02) is what makes posting idempotent: the same 835 twice
-- inserts no second payment (INSERT ... ON CONFLICT DO NOTHING), so posts once.
CREATE TABLE IF NOT EXISTS ledger_payments (
    payer_key TEXT NOT NULL,
    trace TEXT NOT NULL,
    partner_id TEXT NOT NULL,
    payer_id TEXT NOT NULL,
    payer_identifier TEXT NOT NULL,
    payer_name TEXT NOT NULL,
    payee_npi TEXT NOT NULL,
    payee_tin TEXT NOT NULL,
    st02 TEXT NOT NULL,
    amount TEXT NOT NULL,
    method_code TEXT NOT NULL,
    payment_date TEXT NOT NULL,
    claims INTEGER NOT NULL,
    plb_total TEXT NOT NULL,
    balanced INTEGER NOT NULL,
    mailbox_name TEXT NOT NULL,
    posted_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (payer_key, trace)
);
CREATE INDEX IF NOT EXISTS ledger_payments_partner ON ledger_payments (partner_id, posted_at);
CREATE TABLE IF NOT EXISTS ledger_claims (
    payer_key TEXT NOT NULL,
    trace TEXT NOT NULL,
    seq INTEGER NOT NULL,
    route_id INTEGER,
    patient_control TEXT NOT NULL,
    payer_claim_id TEXT NOT NULL,
    status_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    original_payer_claim_id TEXT NOT NULL,
    billing_npi TEXT NOT NULL,
    service_date TEXT,
    billed TEXT NOT NULL,
    allowed TEXT,
    paid TEXT NOT NULL,
    contractual TEXT NOT NULL,
    patient_responsibility TEXT NOT NULL,
    other TEXT NOT NULL,
    state TEXT NOT NULL,
    remarks TEXT NOT NULL,
    PRIMARY KEY (payer_key, trace, seq)
);
CREATE INDEX IF NOT EXISTS ledger_claims_unmatched ON ledger_claims (route_id);
CREATE INDEX IF NOT EXISTS ledger_claims_payer_claim ON ledger_claims (payer_claim_id);
CREATE TABLE IF NOT EXISTS ledger_lines (
    payer_key TEXT NOT NULL,
    trace TEXT NOT NULL,
    seq INTEGER NOT NULL,
    line_number INTEGER NOT NULL,
    procedure_code TEXT NOT NULL,
    control_number TEXT NOT NULL,
    service_date TEXT,
    units TEXT NOT NULL,
    billed TEXT NOT NULL,
    allowed TEXT,
    paid TEXT NOT NULL,
    remarks TEXT NOT NULL,
    PRIMARY KEY (payer_key, trace, seq, line_number)
);
CREATE TABLE IF NOT EXISTS ledger_adjustments (
    payer_key TEXT NOT NULL,
    trace TEXT NOT NULL,
    seq INTEGER NOT NULL,
    line_number INTEGER NOT NULL,
    n INTEGER NOT NULL,
    group_code TEXT NOT NULL,
    carc TEXT NOT NULL,
    amount TEXT NOT NULL,
    quantity TEXT,
    PRIMARY KEY (payer_key, trace, seq, line_number, n)
);
CREATE TABLE IF NOT EXISTS ledger_plb (
    payer_key TEXT NOT NULL,
    trace TEXT NOT NULL,
    n INTEGER NOT NULL,
    reason TEXT NOT NULL,
    reference TEXT NOT NULL,
    amount TEXT NOT NULL,
    PRIMARY KEY (payer_key, trace, n)
);
-- posting matches each 835 claim to its route by (payer partner, CLM01): one index look-up
CREATE INDEX IF NOT EXISTS routes_partner_clm01 ON routes (payer_partner_id, clm01);
