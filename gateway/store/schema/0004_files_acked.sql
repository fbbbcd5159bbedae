-- Delta 4: when a file's TA1/999 were committed (gateway/pipeline/steps.py commit_acks), ahead
-- of its claims' edits and 277CA: a restart between the two steps never sends them twice.
ALTER TABLE files ADD COLUMN acked_at DOUBLE PRECISION;
