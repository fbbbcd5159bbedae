-- Delta 6 (the cluster): work leases and shared failed-login counts.
-- leases: a node's claim on one piece of work: kind 'file' (item: the file id), 'cycle' (a
-- payer partner id), 'as2-delivery' / 'as2-mdn' (the outbox row id). node: the node id;
-- owner: that node's running process (node id + a random incarnation), so a restarted node
-- can take back its own claims at once while another node waits for expires_at.
CREATE TABLE IF NOT EXISTS leases (
    kind TEXT NOT NULL,
    item TEXT NOT NULL,
    node TEXT NOT NULL,
    owner TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (kind, item)
);
CREATE INDEX IF NOT EXISTS leases_owner ON leases (owner);
-- login_failures: failed SFTP logins that count towards a password lock or an address ban,
-- seen by every node (kind 'user' or 'address'; username: the name tried, for the distinct
-- user names of an address). Rows older than [sftp.lockout] window are purged.
CREATE TABLE IF NOT EXISTS login_failures (
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    username TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    node TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_subject ON login_failures (kind, subject, at);
