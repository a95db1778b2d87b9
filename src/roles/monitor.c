/* monitor.c: the monitor role: tgx.expire_leases(batch), tgx.expire_attestations(batch) and
 * tgx.settle_tasks(batch) until 0 (retries with backoff happen inside them), then sleep until
 * tgx.next_queue_deadline(), but never longer than the setting settle_interval: results accepted
 * meanwhile wait for their accounting that long at most (they send no NOTIFY, which would
 * serialise the keepers' commits).  New assignments and attestation requests (NOTIFY
 * tgx_assigned, tgx_attest) may bring the deadline forward, so they wake it too. */
#include <limits.h>

#include "tgx/role_loop.h"

static const char SQL_LEASES[] = "SELECT tgx.expire_leases($1::integer)";
static const char SQL_ATTESTATIONS[] = "SELECT tgx.expire_attestations($1::integer)";
static const char SQL_SETTLE[] = "SELECT tgx.settle_tasks($1::integer)";
static const char SQL_NEXT[] =
    "SELECT ceil(extract(epoch FROM least(tgx.next_queue_deadline(),"
    " clock_timestamp() + tgx.setting_interval('settle_interval')) - clock_timestamp()) * 1000)::bigint";
static const char *const CHANNELS[] = {"tgx_assigned", "tgx_attest", NULL};

static int monitor_step(struct tgx_loop *loop, void *state, struct tgx_loop_db *db)
{
    (void)state;
    long long leases, attestations, settled;
    int rc = tgx_loop_repeat(loop, db, SQL_LEASES, &leases);
    if (rc == 0)
        rc = tgx_loop_repeat(loop, db, SQL_ATTESTATIONS, &attestations);
    if (rc == 0)
        rc = tgx_loop_repeat(loop, db, SQL_SETTLE, &settled);
    if (rc < 0)
        return rc;
    long long n = leases + attestations + settled;
    return n > INT_MAX ? INT_MAX : (int)n;
}

static int monitor_next(struct tgx_loop *loop, void *state, struct tgx_loop_db *db, int64_t *delay_ms)
{
    (void)loop, (void)state;
    return tgx_loop_query_delay(db, SQL_NEXT, delay_ms);
}

const struct tgx_role_def tgx_role_monitor = {
    .name = "monitor",
    .channels = CHANNELS,
    .async_commit = true, /* see tgx_role_def: lost work is redone */
    .init = NULL,
    .cleanup = NULL,
    .step = monitor_step,
    .next_deadline = monitor_next,
};
