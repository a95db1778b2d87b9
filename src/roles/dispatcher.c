/* dispatcher.c: the dispatcher role: tgx.dispatch_tasks(batch) until 0, then sleep until
 * tgx.next_queue_deadline() (the next task falling due among others) or NOTIFY tgx_dispatch (new,
 * retried or re-queued tasks, a keeper back online). */
#include <limits.h>

#include "tgx/role_loop.h"

static const char SQL_DISPATCH[] = "SELECT tgx.dispatch_tasks($1::integer)";
static const char SQL_NEXT[] =
    "SELECT ceil(extract(epoch FROM tgx.next_queue_deadline() - clock_timestamp()) * 1000)::bigint";
static const char *const CHANNELS[] = {"tgx_dispatch", NULL};

static int dispatcher_step(struct tgx_loop *loop, void *state, struct tgx_loop_db *db)
{
    (void)state;
    long long n;
    int rc = tgx_loop_repeat(loop, db, SQL_DISPATCH, &n);
    return rc < 0 ? rc : n > INT_MAX ? INT_MAX : (int)n;
}

static int dispatcher_next(struct tgx_loop *loop, void *state, struct tgx_loop_db *db, int64_t *delay_ms)
{
    (void)loop, (void)state;
    return tgx_loop_query_delay(db, SQL_NEXT, delay_ms);
}

const struct tgx_role_def tgx_role_dispatcher = {
    .name = "dispatcher",
    .channels = CHANNELS,
    .async_commit = true, /* see tgx_role_def: lost work is redone */
    .init = NULL,
    .cleanup = NULL,
    .step = dispatcher_step,
    .next_deadline = dispatcher_next,
};
