/* scheduler.c: the scheduler role: tgx.fire_due_schedules(batch) until 0, then sleep until
 * tgx.next_schedule_due() or NOTIFY tgx_schedule (a schedule changed). */
#include <limits.h>

#include "tgx/role_loop.h"

static const char SQL_FIRE[] = "SELECT tgx.fire_due_schedules($1::integer)";
static const char SQL_NEXT[] =
    "SELECT ceil(extract(epoch FROM tgx.next_schedule_due() - clock_timestamp()) * 1000)::bigint";
static const char *const CHANNELS[] = {"tgx_schedule", NULL};

static int scheduler_step(struct tgx_loop *loop, void *state, struct tgx_loop_db *db)
{
    (void)state;
    long long n;
    int rc = tgx_loop_repeat(loop, db, SQL_FIRE, &n);
    return rc < 0 ? rc : n > INT_MAX ? INT_MAX : (int)n;
}

static int scheduler_next(struct tgx_loop *loop, void *state, struct tgx_loop_db *db, int64_t *delay_ms)
{
    (void)loop, (void)state;
    return tgx_loop_query_delay(db, SQL_NEXT, delay_ms);
}

const struct tgx_role_def tgx_role_scheduler = {
    .name = "scheduler",
    .channels = CHANNELS,
    .async_commit = true, /* see tgx_role_def: lost work is redone */
    .init = NULL,
    .cleanup = NULL,
    .step = scheduler_step,
    .next_deadline = scheduler_next,
};
