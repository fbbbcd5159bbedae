-- Delta 4: when a file's TA1/999 were committed (gateway/pipeline/steps.py commit_acks), ahead
-- of its claims' edits and 277CA, and the blob (sha256) of the envelope/guide analysis they were
-- built from: a restart between the two steps redoes only the second, from that same analysis,
-- so the 277CA and routing never contradict the 999 already sent.
ALTER TABLE files ADD COLUMN acked_at DOUBLE PRECISION;
ALTER TABLE files ADD COLUMN acked_analysis TEXT;
