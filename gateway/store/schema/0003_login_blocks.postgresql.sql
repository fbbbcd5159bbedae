-- Delta 3 for PostgreSQL: the tables of 0003_login_blocks.sqlite.sql (see there for what they hold).
-- PostgreSQL variant of 0003_login_blocks.sqlite.sql: identity columns for AUTOINCREMENT, BIGINT for
-- INTEGER, DOUBLE PRECISION for REAL times, BYTEA for BLOB; the same tables and indexes.
CREATE TABLE IF NOT EXISTS login_blocks (
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    until DOUBLE PRECISION NOT NULL,
    reason TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (kind, subject)
);
