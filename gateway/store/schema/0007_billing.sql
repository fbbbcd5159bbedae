-- Delta 6: patient billing (gateway/store/billing.py) on top of the ledger (delta 5): the
-- patient on each posted claim (for the account and the statement), patient payments,
-- patient statements and their items, appeals. One SQL for every engine: natural keys where
-- the data has one, amounts as TEXT decimals, times DOUBLE PRECISION.
ALTER TABLE ledger_claims ADD COLUMN member_id TEXT;
ALTER TABLE ledger_claims ADD COLUMN patient_last TEXT;
ALTER TABLE ledger_claims ADD COLUMN patient_first TEXT;
-- a payment is posted once per (partner, reference): the same POST twice posts once
CREATE TABLE IF NOT EXISTS patient_payments (
    partner_id TEXT NOT NULL,
    reference TEXT NOT NULL,
    claim_id INTEGER,
    account TEXT NOT NULL,
    amount TEXT NOT NULL,
    payment_date TEXT NOT NULL,
    method TEXT NOT NULL,
    posted_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (partner_id, reference)
);
CREATE INDEX IF NOT EXISTS patient_payments_account ON patient_payments (account);
CREATE TABLE IF NOT EXISTS statements (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL,
    provider_npi TEXT NOT NULL,
    account TEXT NOT NULL,
    statement_date TEXT NOT NULL,
    due_date TEXT NOT NULL,
    previous_balance TEXT NOT NULL,
    payments TEXT NOT NULL,
    amount_due TEXT NOT NULL,
    mailbox_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS statements_account ON statements (account, created_at);
CREATE TABLE IF NOT EXISTS statement_items (
    statement_id TEXT NOT NULL,
    claim_id INTEGER NOT NULL,
    patient_balance TEXT NOT NULL,
    PRIMARY KEY (statement_id, claim_id)
);
CREATE INDEX IF NOT EXISTS statement_items_claim ON statement_items (claim_id);
CREATE TABLE IF NOT EXISTS claim_appeals (
    claim_id INTEGER NOT NULL,
    n INTEGER NOT NULL,
    partner_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    appeal_date TEXT NOT NULL,
    documents TEXT NOT NULL,
    recorded_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (claim_id, n)
);
CREATE INDEX IF NOT EXISTS routes_claim_row ON routes (claim_row_id);
-- a write-off per claim: what the practice gives up on (a denial it will not work further,
-- a small balance); never deleted, the balance is derived
CREATE TABLE IF NOT EXISTS claim_writeoffs (
    claim_id INTEGER NOT NULL,
    n INTEGER NOT NULL,
    partner_id TEXT NOT NULL,
    amount TEXT NOT NULL,
    reason TEXT NOT NULL,
    writeoff_date TEXT NOT NULL,
    recorded_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (claim_id, n)
);
