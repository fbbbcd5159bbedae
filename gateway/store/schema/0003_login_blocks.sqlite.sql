-- Delta 3: SFTP login blocks kept across restarts (gateway/store/logins.py), which the gateway
-- used to create on the fly (IF NOT EXISTS adopts the table where it was made). SQLite only:
-- PostgreSQL wants DOUBLE PRECISION for the times (its REAL is 4 bytes).
CREATE TABLE IF NOT EXISTS login_blocks (
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    until REAL NOT NULL,
    reason TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (kind, subject)
);
