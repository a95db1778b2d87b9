-- tests/bench/minimal/raw_one.sql: the raw claim (committed), then complete (as sql_core.c)
WITH c AS (UPDATE bench_raw SET claimed_until = now() + interval '5 minutes' WHERE id = ANY (ARRAY(SELECT id FROM bench_raw WHERE claimed_until IS NULL AND due_at <= now() ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED)) RETURNING id, payload) SELECT coalesce(max(id), 0) AS id FROM c \gset
\if :id > 0
DELETE FROM bench_raw WHERE id = :id;
\endif
