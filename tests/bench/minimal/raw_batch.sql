-- tests/bench/minimal/raw_batch.sql: the raw ceiling, claim-and-delete a batch (as sql_core.c)
DELETE FROM bench_raw WHERE id = ANY (ARRAY(SELECT id FROM bench_raw WHERE claimed_until IS NULL AND due_at <= now() ORDER BY due_at LIMIT :batch FOR UPDATE SKIP LOCKED)) RETURNING id, payload;
