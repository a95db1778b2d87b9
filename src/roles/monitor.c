/* monitor.c: the monitor role: tgx.expire_leases(batch) and tgx.expire_attestations(batch) until
 * 0 (retries with backoff happen inside them), then sleep until tgx.next_queue_deadline().  New
 * assignments and attestation requests (NOTIFY tgx_assigned, tgx_attest) may bring that deadline
 * forward, so they wake it too. */
#include <limits.h>

#include "tgx/role_loop.h"

static const char SQL_LEASES[] = "SELECT tgx.expire_leases($1::integer)";
static const char SQL_ATTESTATIONS[] = "SELECT tgx.expire_attestations($1::integer)";
static const char SQL_NEXT[] =
    "SELECT ceil(extract(epoch FROM tgx.next_queue_deadline() - clock_timestamp()) * 1000)::bigint";
static const char *const CHANNELS[] = {"tgx_assigned", "tgx_attest", NULL};

static int monitor_step(struct tgx_loop *loop, void *state, struct tgx_loop_db *db)
{
    (void)state;
    long long leases, attestations;
    int rc = tgx_loop_repeat(loop, db, SQL_LEASES, &leases);
    if (rc == 0)
        rc = tgx_loop_repeat(loop, db, SQL_ATTESTATIONS, &attestations);
    if (rc < 0)
        return rc;
    long long n = leases + attestations;
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
    .init = NULL,
    .cleanup = NULL,
    .step = monitor_step,
    .next_deadline = monitor_next,
};
