/* loop.c (keeper): `tgx-keeper run`: the main thread (signals, periodic duties), the task poller,
 * the workers and the attester (include/tgx/keeper.h), and the shutdown that lets tasks in flight
 * report.
 *
 * Shutdown uses two latches, pipes written once and never read, that every blocking wait watches:
 *   stop  (first SIGTERM/SIGINT): the long-polls end at once and nothing new is taken;
 *   kill  (shutdown_timeout later): reports still retrying give up.
 * A second signal exits at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "tgx/chains.h"
#include "tgx/keeper.h"
#include "tgx/keeper_exec.h"
#include "tgx/keeper_gw.h"
#include "tgx/keyfile.h"
#include "tgx/log.h"

#ifndef TGX_VERSION
#define TGX_VERSION "0.0.0"
#endif

#define KEEPER_BACKOFF_BASE_MS 500   /* first retry after a transport error or a 5xx */
#define KEEPER_BACKOFF_CAP_MS  30000 /* longest retry delay */
#define KEEPER_REFUSED_MS      30000 /* retry period while tgxd refuses the keeper (401/403) */
#define KEEPER_ACK_TRIES       3     /* an ack lost in transport is sent again this often */
#define KEEPER_ATTEST_LIMIT    16    /* attestation requests per long-poll */
#define KEEPER_STATS_MS        60000 /* period of the stats line */
#define KEEPER_GRACE_MS        2000  /* after the kill latch, how long workers get to notice */
#define KEEPER_THREAD_STACK    (1u << 20)

/* =============================================================================================
 * State
 * ============================================================================================= */

/* What the gateway last said to anyone of this keeper: logged once per change. */
enum keeper_gw_state {
    GW_UNKNOWN = 0, /* nothing answered yet */
    GW_OK = 1,      /* answers */
    GW_DOWN = 2,    /* no answer, or 5xx */
    GW_REFUSED = 3, /* 401/403 */
};

/* One chain the keeper serves. */
struct keeper_chain_slot {
    uint64_t id;
    struct tgx_keeper_chain *chain; /* owned */
};

/* One acknowledged task waiting for a worker. */
struct keeper_job {
    json_t *task; /* owned: the task object of the ack answer */
    struct keeper_job *next;
};

/* A running keeper: everything its threads share. */
struct keeper {
    struct tgx_keeper_config cfg;
    const char *who;
    uint8_t secret[TGX_SECP_SECRET_LEN]; /* wiped at the end */
    struct tgx_keeper_signer *signer;
    struct timespec started; /* CLOCK_MONOTONIC */

    pthread_mutex_t chains_mu; /* guards the slots (dry-run chains are added on first use) */
    struct keeper_chain_slot *chains;
    size_t nchains, chains_cap;

    int stop_r, stop_w; /* latch: polling stops */
    int kill_r, kill_w; /* latch: reports give up */
    atomic_bool stopping;

    pthread_mutex_t mu;     /* guards the queue, busy, workers_exit */
    pthread_cond_t work_cv; /* workers: a job, or exit */
    pthread_cond_t slot_cv; /* poller: a free slot, or stop */
    struct keeper_job *head, *tail;
    long busy; /* queued + executing */
    bool workers_exit;

    pthread_mutex_t gw_mu; /* guards gw_state, gw_code */
    enum keeper_gw_state gw_state;
    char gw_code[48];

    atomic_long n_done, n_failed, n_dropped, n_verdicts; /* since the last stats line */

    pthread_t poller, attester;
    pthread_t *workers;
    size_t nworkers;
    bool poller_started, attester_started;
};

/* A worker's own things. */
struct keeper_worker {
    struct keeper *k;
    struct tgx_keeper_client *client;
    unsigned index;
};

/* The only process-wide state: what the signal handler touches. */
static struct {
    volatile sig_atomic_t stops;  /* SIGTERM/SIGINT received */
    volatile sig_atomic_t signo;  /* the last of them */
    volatile sig_atomic_t reload; /* SIGHUP received */
    int pipe_w;                   /* the self-pipe's write end */
} g = {0, 0, 0, -1};

/* SIGTERM/SIGINT/SIGHUP: set a flag and wake the main thread.  Nothing else. */
static void on_signal(int signo)
{
    int saved = errno;
    if (signo == SIGHUP) {
        g.reload = 1;
    } else {
        g.stops = g.stops + 1;
        g.signo = signo;
    }
    if (g.pipe_w >= 0) {
        ssize_t w = write(g.pipe_w, "x", 1);
        (void)w;
    }
    errno = saved;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep MS milliseconds unless FD becomes readable first; true when it did. */
static bool wait_latch(int fd, long ms)
{
    int64_t until = mono_ms() + ms;
    for (;;) {
        int64_t left = until - mono_ms();
        if (left <= 0)
            return false;
        struct pollfd p = {fd, POLLIN, 0};
        int n = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
        if (n > 0 && (p.revents & (POLLIN | POLLHUP)))
            return true;
        if (n < 0 && errno != EINTR)
            return false;
    }
}

static void latch_fire(int fd)
{
    ssize_t w = write(fd, "x", 1);
    (void)w;
}

/* Note what the gateway answered R; logs when the keeper's view of the gateway changes. */
static void gw_note(struct keeper *k, const struct tgx_keeper_reply *r)
{
    enum keeper_gw_state st;
    switch (r->kind) {
    case TGX_KEEPER_REPLY_OK:
    case TGX_KEEPER_REPLY_STALE:
    case TGX_KEEPER_REPLY_REJECTED:
        st = GW_OK; /* it answered */
        break;
    case TGX_KEEPER_REPLY_TRANSIENT:
        st = r->status == 401 ? GW_OK : GW_DOWN;
        break;
    case TGX_KEEPER_REPLY_REFUSED:
        st = GW_REFUSED;
        break;
    default:
        return;
    }
    pthread_mutex_lock(&k->gw_mu);
    bool changed = st != k->gw_state || (st == GW_REFUSED && strcmp(r->code, k->gw_code) != 0);
    enum keeper_gw_state was = k->gw_state;
    k->gw_state = st;
    snprintf(k->gw_code, sizeof k->gw_code, "%s", st == GW_REFUSED ? r->code : "");
    pthread_mutex_unlock(&k->gw_mu);
    if (!changed)
        return;
    const char *addr = tgx_keeper_signer_address(k->signer);
    if (st == GW_OK)
        tgx_log_info("keeper", "%s tgxd at %s as %s", was == GW_UNKNOWN ? "connected to" : "reconnected to",
                     k->cfg.api, addr);
    else if (st == GW_DOWN)
        tgx_log_warning("keeper", "could not reach tgxd at %s: %s; retrying with backoff", k->cfg.api,
                        r->message);
    else if (strcmp(r->code, "STALE_TIMESTAMP") == 0)
        tgx_log_error("keeper",
                      "tgxd refuses keeper %s: %s (%s); check this machine's clock; retrying every %d s",
                      addr, r->message, r->code, KEEPER_REFUSED_MS / 1000);
    else
        tgx_log_error("keeper", "tgxd refuses keeper %s: %s (%s); retrying every %d s", addr, r->message,
                      r->code[0] != '\0' ? r->code : "HTTP", KEEPER_REFUSED_MS / 1000);
}

/* =============================================================================================
 * Chains
 * ============================================================================================= */

static void chain_opts(const struct keeper *k, uint64_t id, const char *url, struct tgx_keeper_chain_opts *o)
{
    memset(o, 0, sizeof *o);
    o->chain_id = id;
    o->rpc_url = url;
    o->rpc_timeout_ms = k->cfg.rpc_timeout_ms;
    o->receipt_timeout_ms = k->cfg.receipt_timeout * 1000;
    o->receipt_poll_ms = k->cfg.receipt_poll_ms;
    o->gas_limit_cap = (uint64_t)k->cfg.gas_limit_cap;
    o->gas_margin_percent = (unsigned)k->cfg.gas_margin_percent;
    o->dry_run = k->cfg.dry_run;
}

/* Add a chain for ID (URL may be NULL for a dry run); caller holds chains_mu or is alone. */
static int chain_add(struct keeper *k, uint64_t id, const char *url, char *err, size_t errlen)
{
    if (k->nchains == k->chains_cap) {
        size_t cap = k->chains_cap ? k->chains_cap * 2 : 4;
        struct keeper_chain_slot *v = realloc(k->chains, cap * sizeof *v);
        if (v == NULL)
            return -TGX_ERR_NOMEM;
        k->chains = v;
        k->chains_cap = cap;
    }
    struct tgx_keeper_chain_opts o;
    chain_opts(k, id, url, &o);
    struct tgx_keeper_chain *c;
    int rc = tgx_keeper_chain_create(&o, k->secret, &c, err, errlen);
    if (rc < 0)
        return rc;
    k->chains[k->nchains++] = (struct keeper_chain_slot){id, c};
    return 0;
}

/* The chain serving ID: a configured one, a new dry-run chain in a dry run, else NULL. */
static struct tgx_keeper_chain *chain_get(struct keeper *k, uint64_t id)
{
    struct tgx_keeper_chain *c = NULL;
    pthread_mutex_lock(&k->chains_mu);
    for (size_t i = 0; i < k->nchains && c == NULL; i++)
        if (k->chains[i].id == id)
            c = k->chains[i].chain;
    if (c == NULL && k->cfg.dry_run) {
        char err[256];
        if (chain_add(k, id, NULL, err, sizeof err) == 0) {
            c = k->chains[k->nchains - 1].chain;
            tgx_log_info("keeper", "chain %" PRIu64 ": dry run (no chain traffic)", id);
        } else {
            tgx_log_error("keeper", "could not set up a dry-run chain %" PRIu64 ": %s", id, err);
        }
    }
    pthread_mutex_unlock(&k->chains_mu);
    return c;
}

/* The target_chain_id of a task (a decimal string or a number); false when missing or malformed. */
static bool task_chain_id(const json_t *task, uint64_t *id, char *text, size_t textlen)
{
    const json_t *v = json_object_get(task, "target_chain_id");
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *id = (uint64_t)json_integer_value(v);
        snprintf(text, textlen, "%" PRIu64, *id);
        return true;
    }
    const char *s = json_string_value(v);
    snprintf(text, textlen, "%s", s != NULL ? s : "?");
    return s != NULL && tgx_chain_id_parse(s, id) == 0;
}

/* =============================================================================================
 * Tasks: poll, ack, execute, report
 * ============================================================================================= */

/* What a log line says about a task: "task=12 job=3 trace=abc". */
struct task_ids {
    int64_t task_id;
    int64_t epoch;
    char text[200];
};

static void task_ids_of(const json_t *task, struct task_ids *t)
{
    t->task_id = json_integer_value(json_object_get(task, "task_id"));
    t->epoch = json_integer_value(json_object_get(task, "lease_epoch"));
    const json_t *job = json_object_get(task, "job_id");
    char jb[100];
    if (json_is_string(job))
        snprintf(jb, sizeof jb, "%s", json_string_value(job));
    else
        snprintf(jb, sizeof jb, "%" JSON_INTEGER_FORMAT, json_integer_value(job));
    const char *trace = json_string_value(json_object_get(task, "trace_id"));
    snprintf(t->text, sizeof t->text, "task=%" PRId64 " job=%s trace=%s", t->task_id, jb,
             trace != NULL && trace[0] != '\0' ? trace : "-");
}

/*
 * Send a report (result or failure) of task IDS until the gateway accepts it, says the task moved
 * on, rejects it, or the kill latch fires.  Transport failures and 5xx are retried with backoff,
 * refusals slowly, always under the same lease epoch (the body stays the same).
 */
static void report(struct keeper_worker *w, const struct task_ids *ids, const char *what, const char *path,
                   const json_t *body)
{
    struct keeper *k = w->k;
    struct tgx_keeper_backoff b;
    tgx_keeper_backoff_init(&b, KEEPER_BACKOFF_BASE_MS, KEEPER_BACKOFF_CAP_MS,
                            (unsigned)ids->task_id * 2654435761u + w->index);
    for (int attempt = 1;; attempt++) {
        struct tgx_keeper_reply r;
        if (tgx_keeper_client_request(w->client, "POST", path, body, k->cfg.http_timeout_ms, k->kill_r, &r) <
            0) {
            tgx_log_error("keeper", "%s: out of memory sending the %s", ids->text, what);
            atomic_fetch_add(&k->n_dropped, 1);
            return;
        }
        gw_note(k, &r);
        long wait_ms = 0;
        switch (r.kind) {
        case TGX_KEEPER_REPLY_OK: {
            const char *state = json_string_value(json_object_get(r.body, "state"));
            tgx_log_info("keeper", "%s: %s accepted (task %s)", ids->text, what, state != NULL ? state : "?");
            break;
        }
        case TGX_KEEPER_REPLY_STALE:
            tgx_log_info("keeper", "%s: the task moved on (%s): %s dropped%s", ids->text, r.message, what,
                         attempt > 1 ? " (an earlier attempt may have arrived)" : "");
            atomic_fetch_add(&k->n_dropped, 1);
            break;
        case TGX_KEEPER_REPLY_REJECTED:
            tgx_log_error("keeper", "%s: tgxd rejected the %s: %s (HTTP %ld %s)", ids->text, what, r.message,
                          r.status, r.code);
            atomic_fetch_add(&k->n_dropped, 1);
            break;
        case TGX_KEEPER_REPLY_ABORTED:
            tgx_log_warning("keeper", "%s: shutting down before the %s was accepted; the lease will expire",
                            ids->text, what);
            atomic_fetch_add(&k->n_dropped, 1);
            break;
        case TGX_KEEPER_REPLY_TRANSIENT:
            wait_ms = tgx_keeper_backoff_next(&b);
            tgx_log_debug("keeper", "%s: could not send the %s (%s); again in %ld ms", ids->text, what,
                          r.message, wait_ms);
            break;
        case TGX_KEEPER_REPLY_REFUSED:
            wait_ms = KEEPER_REFUSED_MS;
            break;
        }
        tgx_keeper_reply_cleanup(&r);
        if (wait_ms == 0)
            return;
        if (wait_latch(k->kill_r, wait_ms)) {
            tgx_log_warning("keeper", "%s: shutting down before the %s was accepted; the lease will expire",
                            ids->text, what);
            atomic_fetch_add(&k->n_dropped, 1);
            return;
        }
    }
}

/* Execute one acknowledged TASK and report how it went. */
static void run_task(struct keeper_worker *w, const json_t *task)
{
    struct keeper *k = w->k;
    struct task_ids ids;
    task_ids_of(task, &ids);
    struct tgx_keeper_outcome out;
    memset(&out, 0, sizeof out);
    uint64_t chain_id = 0;
    char chain_text[32];
    struct tgx_keeper_chain *chain = NULL;
    if (!task_chain_id(task, &chain_id, chain_text, sizeof chain_text)) {
        out.kind = TGX_KEEPER_PERMANENT;
        snprintf(out.error, sizeof out.error, "invalid target_chain_id \"%s\"", chain_text);
    } else if ((chain = chain_get(k, chain_id)) == NULL) {
        out.kind = TGX_KEEPER_TRANSIENT;
        snprintf(out.error, sizeof out.error, "no RPC for chain %s", chain_text);
    } else if (tgx_keeper_execute(chain, task, &out) < 0) {
        tgx_keeper_outcome_cleanup(&out);
        out.kind = TGX_KEEPER_TRANSIENT;
        snprintf(out.error, sizeof out.error, "out of memory");
    }

    char path[96];
    json_t *body = NULL;
    const char *what;
    if (out.kind == TGX_KEEPER_DONE && out.result != NULL) {
        const char *tx = json_string_value(json_object_get(out.result, "execution_tx_hash"));
        if (tx != NULL)
            tgx_log_info("keeper", "%s: executed on chain %s: tx %s", ids.text, chain_text, tx);
        else
            tgx_log_info("keeper", "%s: executed on chain %s: dry run, transaction signed and not sent",
                         ids.text, chain_text);
        snprintf(path, sizeof path, "/api/keeper/tasks/%" PRId64 "/result", ids.task_id);
        what = "result";
        if (tgx_keeper_result_body(k->signer, ids.task_id, ids.epoch, out.result, &body) < 0)
            body = NULL;
        atomic_fetch_add(&k->n_done, 1);
    } else {
        bool permanent = out.kind == TGX_KEEPER_PERMANENT;
        if (out.error[0] == '\0')
            snprintf(out.error, sizeof out.error, "execution failed");
        tgx_log_info("keeper", "%s: %s failure: %s", ids.text, permanent ? "permanent" : "transient",
                     out.error);
        snprintf(path, sizeof path, "/api/keeper/tasks/%" PRId64 "/fail", ids.task_id);
        what = "failure";
        body = json_pack("{s:I, s:s, s:b}", "lease_epoch", (json_int_t)ids.epoch, "error", out.error,
                         "permanent", permanent);
        atomic_fetch_add(&k->n_failed, 1);
    }
    if (body == NULL)
        tgx_log_error("keeper", "%s: could not build the %s (out of memory)", ids.text, what);
    else
        report(w, &ids, what, path, body);
    json_decref(body);
    tgx_keeper_outcome_cleanup(&out);
}

static void *worker_main(void *arg)
{
    struct keeper_worker *w = arg;
    struct keeper *k = w->k;
    for (;;) {
        pthread_mutex_lock(&k->mu);
        while (k->head == NULL && !k->workers_exit)
            pthread_cond_wait(&k->work_cv, &k->mu);
        struct keeper_job *job = k->head;
        if (job != NULL) {
            k->head = job->next;
            if (k->head == NULL)
                k->tail = NULL;
        }
        pthread_mutex_unlock(&k->mu);
        if (job == NULL)
            break;
        run_task(w, job->task);
        json_decref(job->task);
        free(job);
        pthread_mutex_lock(&k->mu);
        k->busy--;
        pthread_cond_broadcast(&k->slot_cv);
        pthread_mutex_unlock(&k->mu);
    }
    return NULL;
}

/* Hand TASK (stolen) to the workers. */
static void enqueue(struct keeper *k, json_t *task)
{
    struct keeper_job *job = calloc(1, sizeof *job);
    if (job == NULL) {
        struct task_ids ids;
        task_ids_of(task, &ids);
        tgx_log_error("keeper", "%s: out of memory; the task is left to expire", ids.text);
        json_decref(task);
        return;
    }
    job->task = task;
    pthread_mutex_lock(&k->mu);
    if (k->tail != NULL)
        k->tail->next = job;
    else
        k->head = job;
    k->tail = job;
    k->busy++;
    pthread_cond_signal(&k->work_cv);
    pthread_mutex_unlock(&k->mu);
}

/* Acknowledge ITEM (an entry of GET /api/keeper/tasks) and queue the running task. */
static void ack_and_queue(struct keeper *k, struct tgx_keeper_client *c, const json_t *item)
{
    struct task_ids ids;
    task_ids_of(item, &ids);
    char path[96];
    snprintf(path, sizeof path, "/api/keeper/tasks/%" PRId64 "/ack", ids.task_id);
    json_t *body = json_pack("{s:I}", "lease_epoch", (json_int_t)ids.epoch);
    if (body == NULL)
        return;
    for (int attempt = 1; attempt <= KEEPER_ACK_TRIES; attempt++) {
        struct tgx_keeper_reply r;
        if (tgx_keeper_client_request(c, "POST", path, body, k->cfg.http_timeout_ms, -1, &r) < 0)
            break;
        gw_note(k, &r);
        enum tgx_keeper_reply_kind kind = r.kind;
        if (kind == TGX_KEEPER_REPLY_OK) {
            json_t *task = json_object_get(r.body, "task");
            if (json_is_object(task)) {
                tgx_log_debug("keeper", "%s: acknowledged", ids.text);
                enqueue(k, json_incref(task));
            } else {
                tgx_log_warning("keeper", "%s: the ack answer holds no task", ids.text);
            }
        } else if (kind == TGX_KEEPER_REPLY_STALE) {
            tgx_log_debug("keeper", "%s: no longer ours (%s)", ids.text, r.message);
        } else if (kind == TGX_KEEPER_REPLY_REJECTED) {
            tgx_log_warning("keeper", "%s: tgxd rejected the ack: %s", ids.text, r.message);
        }
        tgx_keeper_reply_cleanup(&r);
        if (kind != TGX_KEEPER_REPLY_TRANSIENT)
            break;
        /* the task stays assigned; the next poll hands it out again when these tries fail */
        if (wait_latch(k->stop_r, (long)KEEPER_BACKOFF_BASE_MS << (attempt - 1)))
            break;
    }
    json_decref(body);
}

/*
 * One long-poll GET of PATH for WHAT ("task", "attestation"): true with an OK answer in *R (the
 * caller cleans it up).  Otherwise false, after waiting what the answer calls for (backoff after a
 * transport error, a 5xx or a rejection; the refusal period after 401/403), with *STOP set when the
 * stop latch fired meanwhile.
 */
static bool long_poll(struct keeper *k, struct tgx_keeper_client *c, const char *what, const char *path,
                      struct tgx_keeper_backoff *b, struct tgx_keeper_reply *r, bool *stop)
{
    *stop = false;
    if (tgx_keeper_client_request(c, "GET", path, NULL, (k->cfg.poll_wait + 15) * 1000, k->stop_r, r) < 0) {
        *stop = wait_latch(k->stop_r, tgx_keeper_backoff_next(b));
        return false;
    }
    gw_note(k, r);
    long wait_ms = 0;
    switch (r->kind) {
    case TGX_KEEPER_REPLY_OK:
        tgx_keeper_backoff_reset(b);
        return true;
    case TGX_KEEPER_REPLY_REFUSED:
        wait_ms = KEEPER_REFUSED_MS;
        break;
    case TGX_KEEPER_REPLY_REJECTED:
    case TGX_KEEPER_REPLY_STALE:
        tgx_log_warning("keeper", "tgxd rejected the %s poll: %s (HTTP %ld)", what, r->message, r->status);
        wait_ms = tgx_keeper_backoff_next(b);
        break;
    case TGX_KEEPER_REPLY_TRANSIENT:
        wait_ms = tgx_keeper_backoff_next(b);
        break;
    case TGX_KEEPER_REPLY_ABORTED:
        break;
    }
    tgx_keeper_reply_cleanup(r);
    *stop = wait_ms > 0 && wait_latch(k->stop_r, wait_ms);
    return false;
}

static void *poller_main(void *arg)
{
    struct keeper *k = arg;
    struct tgx_keeper_client *c = NULL;
    if (tgx_keeper_client_create(k->cfg.api, k->signer, &c) < 0) {
        tgx_log_error("keeper", "could not create the task poller's HTTP client");
        return NULL;
    }
    struct tgx_keeper_backoff b;
    tgx_keeper_backoff_init(&b, KEEPER_BACKOFF_BASE_MS, KEEPER_BACKOFF_CAP_MS, (unsigned)getpid());
    while (!atomic_load(&k->stopping)) {
        pthread_mutex_lock(&k->mu);
        while (k->busy >= k->cfg.concurrency && !atomic_load(&k->stopping))
            pthread_cond_wait(&k->slot_cv, &k->mu);
        long free_slots = k->cfg.concurrency - k->busy;
        pthread_mutex_unlock(&k->mu);
        if (atomic_load(&k->stopping))
            break;
        char path[96];
        snprintf(path, sizeof path, "/api/keeper/tasks?wait=%ld&limit=%ld", k->cfg.poll_wait, free_slots);
        struct tgx_keeper_reply r;
        bool stop;
        if (!long_poll(k, c, "task", path, &b, &r, &stop)) {
            if (stop)
                break;
            continue;
        }
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(r.body, "tasks"), i, item)
        {
            if (atomic_load(&k->stopping))
                break; /* not acknowledged: tgxd gives it to another keeper after ack_timeout */
            ack_and_queue(k, c, item);
        }
        tgx_keeper_reply_cleanup(&r);
    }
    tgx_keeper_client_free(c);
    return NULL;
}

/* =============================================================================================
 * Attestations
 * ============================================================================================= */

/* Verify one attestation request ITEM and send the verdict; true when one was accepted. */
static bool attest_one(struct keeper *k, struct tgx_keeper_client *c, const json_t *item)
{
    struct task_ids ids;
    task_ids_of(item, &ids);
    const char *digest = json_string_value(json_object_get(item, "result_digest"));
    uint64_t chain_id;
    char chain_text[32];
    if (digest == NULL || !task_chain_id(item, &chain_id, chain_text, sizeof chain_text)) {
        tgx_log_warning("keeper", "%s: attestation request without result_digest or chain; skipped",
                        ids.text);
        return false;
    }
    struct tgx_keeper_chain *chain = chain_get(k, chain_id);
    if (chain == NULL) {
        tgx_log_debug("keeper", "%s: no RPC for chain %s: attestation left to other keepers", ids.text,
                      chain_text);
        return false;
    }
    bool agree = false;
    char reason[512] = "";
    int rc = tgx_keeper_verify(chain, item, &agree, reason, sizeof reason);
    if (rc == -TGX_ERR_IO) {
        tgx_log_debug("keeper", "%s: cannot verify now (%s); again later", ids.text, reason);
        return false;
    }
    if (rc < 0) {
        tgx_log_error("keeper", "%s: could not verify: %s", ids.text, tgx_err_str(rc));
        return false;
    }
    json_t *body = NULL;
    if (tgx_keeper_verdict_body(k->signer, ids.task_id, ids.epoch, agree, reason, digest, &body) < 0)
        return false;
    char path[96];
    snprintf(path, sizeof path, "/api/keeper/attestations/%" PRId64, ids.task_id);
    struct tgx_keeper_reply r;
    bool sent = false;
    if (tgx_keeper_client_request(c, "POST", path, body, k->cfg.http_timeout_ms, -1, &r) == 0) {
        gw_note(k, &r);
        if (r.kind == TGX_KEEPER_REPLY_OK) {
            sent = true;
            atomic_fetch_add(&k->n_verdicts, 1);
            if (agree)
                tgx_log_info("keeper", "%s: attested: agree", ids.text);
            else
                tgx_log_info("keeper", "%s: attested: disagree: %s", ids.text, reason);
        } else if (r.kind == TGX_KEEPER_REPLY_STALE) {
            tgx_log_debug("keeper", "%s: attestation no longer wanted (%s)", ids.text, r.message);
            sent = true;
        } else if (r.kind == TGX_KEEPER_REPLY_REJECTED) {
            tgx_log_error("keeper", "%s: tgxd rejected the verdict: %s (HTTP %ld %s)", ids.text, r.message,
                          r.status, r.code);
        }
        tgx_keeper_reply_cleanup(&r);
    }
    json_decref(body);
    return sent;
}

static void *attester_main(void *arg)
{
    struct keeper *k = arg;
    struct tgx_keeper_client *c = NULL;
    if (tgx_keeper_client_create(k->cfg.api, k->signer, &c) < 0) {
        tgx_log_error("keeper", "could not create the attester's HTTP client");
        return NULL;
    }
    struct tgx_keeper_backoff b, idle;
    tgx_keeper_backoff_init(&b, KEEPER_BACKOFF_BASE_MS, KEEPER_BACKOFF_CAP_MS, (unsigned)getpid() + 1);
    /* requests this keeper cannot answer now come back at once: wait before asking again */
    tgx_keeper_backoff_init(&idle, 1000, k->cfg.poll_wait * 1000, (unsigned)getpid() + 2);
    while (!atomic_load(&k->stopping)) {
        char path[96];
        snprintf(path, sizeof path, "/api/keeper/attestations?wait=%ld&limit=%d", k->cfg.poll_wait,
                 KEEPER_ATTEST_LIMIT);
        struct tgx_keeper_reply r;
        bool stop;
        if (!long_poll(k, c, "attestation", path, &b, &r, &stop)) {
            if (stop)
                break;
            continue;
        }
        json_t *items = json_object_get(r.body, "attestations");
        size_t i, answered = 0;
        json_t *item;
        json_array_foreach(items, i, item)
        {
            if (atomic_load(&k->stopping))
                break;
            answered += attest_one(k, c, item);
        }
        long wait_ms = 0;
        if (json_array_size(items) > 0 && answered == 0)
            wait_ms = tgx_keeper_backoff_next(&idle);
        else
            tgx_keeper_backoff_reset(&idle);
        tgx_keeper_reply_cleanup(&r);
        if (wait_ms > 0 && wait_latch(k->stop_r, wait_ms))
            break;
    }
    tgx_keeper_client_free(c);
    return NULL;
}

/* =============================================================================================
 * The main thread: periodic duties
 * ============================================================================================= */

/* Main-thread things the duties use. */
struct keeper_main {
    struct keeper *k;
    struct tgx_keeper_client *client;
    int sig_r; /* the self-pipe: aborts a check-in when a signal arrives */
    struct tgx_keeper_backoff checkin_backoff;
};

/* A duty returns the milliseconds until it is due again. */
struct keeper_duty {
    const char *name;
    long (*run)(struct keeper_main *m);
    int64_t due_ms; /* CLOCK_MONOTONIC */
};

/* POST /api/keeper/checkin {"version", "uptime"}. */
static long duty_checkin(struct keeper_main *m)
{
    struct keeper *k = m->k;
    long period = k->cfg.checkin_interval * 1000;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    json_t *body = json_pack("{s:s, s:I}", "version", TGX_VERSION, "uptime",
                             (json_int_t)(now.tv_sec - k->started.tv_sec));
    if (body == NULL)
        return 1000;
    struct tgx_keeper_reply r;
    long next = period;
    if (tgx_keeper_client_request(m->client, "POST", "/api/keeper/checkin", body, k->cfg.http_timeout_ms,
                                  m->sig_r, &r) < 0) {
        next = 1000;
    } else {
        gw_note(k, &r);
        if (r.kind == TGX_KEEPER_REPLY_OK) {
            tgx_keeper_backoff_reset(&m->checkin_backoff);
            tgx_log_debug("keeper", "checked in (version %s)", TGX_VERSION);
        } else if (r.kind == TGX_KEEPER_REPLY_ABORTED) {
            next = 0; /* a signal: handled first, then the check-in again */
        } else if (r.kind == TGX_KEEPER_REPLY_REFUSED) {
            next = KEEPER_REFUSED_MS < period ? KEEPER_REFUSED_MS : period;
        } else if (r.kind == TGX_KEEPER_REPLY_REJECTED) {
            tgx_log_error("keeper", "tgxd rejected the check-in: %s (HTTP %ld)", r.message, r.status);
        } else {
            long d = tgx_keeper_backoff_next(&m->checkin_backoff);
            next = d < period ? d : period;
        }
        tgx_keeper_reply_cleanup(&r);
    }
    json_decref(body);
    return next;
}

/* One line of counters, reset each period. */
static long duty_stats(struct keeper_main *m)
{
    struct keeper *k = m->k;
    long done = atomic_exchange(&k->n_done, 0), failed = atomic_exchange(&k->n_failed, 0);
    long dropped = atomic_exchange(&k->n_dropped, 0), verdicts = atomic_exchange(&k->n_verdicts, 0);
    pthread_mutex_lock(&k->mu);
    long busy = k->busy;
    pthread_mutex_unlock(&k->mu);
    if (done + failed + dropped + verdicts + busy > 0)
        tgx_log_info("keeper",
                     "stats: %ld tasks executed, %ld failed, %ld reports dropped, %ld verdicts in %d s; "
                     "%ld in flight",
                     done, failed, dropped, verdicts, KEEPER_STATS_MS / 1000, busy);
    return KEEPER_STATS_MS;
}

/* SIGHUP: load the configuration again and apply what may change (the log level). */
static void keeper_reload(struct keeper *k, int argc, char **argv, const struct tgx_cli_io *io)
{
    struct tgx_keeper_config next;
    struct tgx_config_cli cli;
    tgx_keeper_config_init(&next);
    if (tgx_keeper_config_parse_args(&next, k->who, argc, argv, io, &cli) != 0) {
        tgx_log_warning("keeper",
                        "SIGHUP: the configuration does not load (see above); the running one is kept");
        tgx_keeper_config_cleanup(&next);
        return;
    }
    tgx_config_table_keep_fixed(&tgx_keeper_config_table, &next, &k->cfg);
    enum tgx_log_level level;
    if (getenv("TGX_LOG_LEVEL") == NULL && next.log_level != NULL &&
        tgx_log_parse_level(next.log_level, &level) == 0)
        tgx_log_set_level(level);
    /* only reloadable settings differ now; the threads read none of them */
    char *old = k->cfg.log_level;
    k->cfg.log_level = next.log_level;
    next.log_level = old;
    tgx_keeper_config_cleanup(&next);
    tgx_log_info("keeper", "SIGHUP: configuration reloaded (log level %s)",
                 tgx_log_level_name(tgx_log_threshold));
}

/* =============================================================================================
 * Set-up and shutdown
 * ============================================================================================= */

static void usage(FILE *out)
{
    fputs("Usage: tgx-keeper run --api URL --key FILE [--rpc CHAIN_ID=URL]... [OPTION]...\n"
          "Execute and attest tasks of a tgxd server until SIGTERM or SIGINT.\n\n",
          out);
    tgx_config_table_write_usage(&tgx_keeper_config_table, out);
}

/* Free everything K owns (threads joined). */
static void keeper_cleanup(struct keeper *k)
{
    for (size_t i = 0; i < k->nchains; i++)
        tgx_keeper_chain_free(k->chains[i].chain);
    free(k->chains);
    while (k->head != NULL) {
        struct keeper_job *j = k->head;
        k->head = j->next;
        json_decref(j->task);
        free(j);
    }
    free(k->workers);
    tgx_keeper_signer_free(k->signer);
    explicit_bzero(k->secret, sizeof k->secret);
    int fds[] = {k->stop_r, k->stop_w, k->kill_r, k->kill_w};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    pthread_mutex_destroy(&k->chains_mu);
    pthread_mutex_destroy(&k->mu);
    pthread_mutex_destroy(&k->gw_mu);
    pthread_cond_destroy(&k->work_cv);
    pthread_cond_destroy(&k->slot_cv);
    tgx_keeper_config_cleanup(&k->cfg);
}

static int make_pipe(int *r, int *w)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -TGX_ERR_IO;
    for (int i = 0; i < 2; i++)
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    *r = fds[0];
    *w = fds[1];
    return 0;
}

/* Everything before the threads: key, chains, latches.  0, or an exit status after one line on err. */
static int keeper_setup(struct keeper *k, const struct tgx_cli_io *io)
{
    if (k->cfg.key_file == NULL) { /* the table reads TGX_KEEPER_KEY_FILE (= TGX_KEYFILE_ENV) */
        fprintf(io->err, "%s: no key file: give --key FILE or set %s\n", k->who, TGX_KEYFILE_ENV);
        return TGX_EXIT_USAGE;
    }
    char err[512];
    if (tgx_keyfile_read(k->cfg.key_file, k->secret, err, sizeof err) < 0) {
        fprintf(io->err, "%s: %s\n", k->who, err);
        return TGX_EXIT_USAGE;
    }
    if (tgx_keeper_signer_create(k->secret, &k->signer) < 0) {
        fprintf(io->err, "%s: cannot use the key of \"%s\"\n", k->who, k->cfg.key_file);
        return TGX_EXIT_USAGE;
    }
    struct tgx_chains *table = NULL;
    if (tgx_chains_create(&table) < 0)
        return TGX_EXIT_FAILURE;
    int rc = 0;
    for (size_t i = 0; i < k->cfg.rpc.n && rc == 0; i++)
        if (tgx_chains_add(table, k->cfg.rpc.v[i], err, sizeof err) < 0) {
            fprintf(io->err, "%s: --rpc %s: %s\n", k->who, k->cfg.rpc.v[i], err);
            rc = TGX_EXIT_USAGE;
        }
    for (size_t i = 0; rc == 0 && i < tgx_chains_count(table); i++) {
        const struct tgx_chain *ch = tgx_chains_at(table, i);
        if (chain_add(k, ch->chain_id, ch->url, err, sizeof err) < 0) {
            fprintf(io->err, "%s: chain %" PRIu64 ": %s\n", k->who, ch->chain_id, err);
            rc = TGX_EXIT_USAGE;
        }
    }
    tgx_chains_free(table);
    if (rc != 0)
        return rc;
    if (make_pipe(&k->stop_r, &k->stop_w) < 0 || make_pipe(&k->kill_r, &k->kill_w) < 0) {
        fprintf(io->err, "%s: could not create a pipe: %s\n", k->who, strerror(errno));
        return TGX_EXIT_FAILURE;
    }
    return 0;
}

static int start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, KEEPER_THREAD_STACK);
    int rc = pthread_create(t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return rc == 0 ? 0 : -TGX_ERR_NOMEM;
}

/* Busy tasks (queued or executing). */
static long keeper_busy(struct keeper *k)
{
    pthread_mutex_lock(&k->mu);
    long b = k->busy;
    pthread_mutex_unlock(&k->mu);
    return b;
}

/* Wait until nothing is busy or UNTIL (monotonic ms); false when a second signal came. */
static bool wait_idle(struct keeper *k, int sig_r, int64_t until)
{
    while (keeper_busy(k) > 0 && mono_ms() < until) {
        struct pollfd p = {sig_r, POLLIN, 0};
        if (poll(&p, 1, 50) > 0 && (p.revents & POLLIN)) {
            char buf[16];
            ssize_t n = read(sig_r, buf, sizeof buf);
            (void)n;
        }
        if (g.stops > 1)
            return false;
    }
    return true;
}

/* A second signal: out at once (the tasks in flight are left to their leases). */
static void exit_now(void)
{
    tgx_log_warning("keeper", "second signal: exiting at once");
    fflush(stderr);
    _exit(TGX_EXIT_FAILURE);
}

int tgx_keeper_run_command(const char *prog, int argc, char **argv, const struct tgx_cli_io *io)
{
    char who[64];
    snprintf(who, sizeof who, "%s run", prog);
    struct keeper *k = calloc(1, sizeof *k);
    if (k == NULL) {
        fprintf(io->err, "%s: out of memory\n", who);
        return TGX_EXIT_FAILURE;
    }
    k->who = who;
    k->stop_r = k->stop_w = k->kill_r = k->kill_w = -1;
    pthread_mutex_init(&k->chains_mu, NULL);
    pthread_mutex_init(&k->mu, NULL);
    pthread_mutex_init(&k->gw_mu, NULL);
    pthread_cond_init(&k->work_cv, NULL);
    pthread_cond_init(&k->slot_cv, NULL);
    tgx_keeper_config_init(&k->cfg);
    struct tgx_config_cli cli;
    int rc = tgx_keeper_config_parse_args(&k->cfg, who, argc, argv, io, &cli);
    if (rc != 0 || cli.help || cli.print_config) {
        if (rc == 0 && cli.help)
            usage(io->out);
        else if (rc == 0)
            tgx_keeper_config_write_sample(io->out);
        keeper_cleanup(k);
        free(k);
        return rc;
    }
    if (getenv("TGX_LOG_LEVEL") == NULL && k->cfg.log_level != NULL) {
        enum tgx_log_level level;
        if (tgx_log_parse_level(k->cfg.log_level, &level) == 0)
            tgx_log_set_level(level);
    }
    if ((rc = keeper_setup(k, io)) != 0) {
        keeper_cleanup(k);
        free(k);
        return rc;
    }
    int sig_r, sig_w;
    if (make_pipe(&sig_r, &sig_w) < 0) {
        fprintf(io->err, "%s: could not create a pipe: %s\n", who, strerror(errno));
        keeper_cleanup(k);
        free(k);
        return TGX_EXIT_FAILURE;
    }
    clock_gettime(CLOCK_MONOTONIC, &k->started);
    g.stops = 0;
    g.reload = 0;
    g.pipe_w = sig_w;
    struct sigaction sa, old_term, old_int, old_hup, old_pipe;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGHUP, &sa, &old_hup);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, &old_pipe);

    struct keeper_main m = {.k = k, .sig_r = sig_r};
    tgx_keeper_backoff_init(&m.checkin_backoff, KEEPER_BACKOFF_BASE_MS, KEEPER_BACKOFF_CAP_MS,
                            (unsigned)getpid());
    k->nworkers = (size_t)k->cfg.concurrency;
    k->workers = calloc(k->nworkers, sizeof *k->workers);
    struct keeper_worker *ws = calloc(k->nworkers, sizeof *ws);
    size_t started = 0;
    rc = k->workers != NULL && ws != NULL ? tgx_keeper_client_create(k->cfg.api, k->signer, &m.client) : -1;
    for (size_t i = 0; rc == 0 && i < k->nworkers; i++) {
        ws[i] = (struct keeper_worker){.k = k, .index = (unsigned)i};
        rc = tgx_keeper_client_create(k->cfg.api, k->signer, &ws[i].client);
        if (rc == 0 && (rc = start_thread(&k->workers[i], worker_main, &ws[i])) == 0)
            started++;
    }
    if (rc == 0 && (rc = start_thread(&k->poller, poller_main, k)) == 0)
        k->poller_started = true;
    if (rc == 0 && (rc = start_thread(&k->attester, attester_main, k)) == 0)
        k->attester_started = true;

    int status = TGX_EXIT_OK;
    if (rc != 0) {
        tgx_log_error("keeper", "could not start the keeper's threads");
        status = TGX_EXIT_FAILURE;
    } else {
        char chains[256] = "";
        size_t o = 0;
        for (size_t i = 0; i < k->nchains && o < sizeof chains; i++)
            o += (size_t)snprintf(chains + o, sizeof chains - o, "%s%" PRIu64, i ? "," : "", k->chains[i].id);
        tgx_log_info("keeper", "keeper %s %s: tgxd %s, chains %s, concurrency %ld",
                     tgx_keeper_signer_address(k->signer),
                     k->cfg.dry_run ? "running dry (no chain traffic)" : "running", k->cfg.api,
                     chains[0] != '\0' ? chains
                     : k->cfg.dry_run  ? "any (dry run)"
                                       : "none",
                     k->cfg.concurrency);
        struct keeper_duty duties[] = {
            {"checkin", duty_checkin, mono_ms()},
            {"stats", duty_stats, mono_ms() + KEEPER_STATS_MS},
        };
        const size_t nduties = sizeof duties / sizeof duties[0];
        /* the loop: one pass sleeps until a signal or the next duty, then runs what is due */
        while (g.stops == 0) {
            int64_t now = mono_ms(), next = now + 60000;
            for (size_t i = 0; i < nduties; i++)
                if (duties[i].due_ms < next)
                    next = duties[i].due_ms;
            struct pollfd p = {sig_r, POLLIN, 0};
            if (poll(&p, 1, next > now ? (int)(next - now) : 0) > 0 && (p.revents & POLLIN)) {
                char buf[16];
                ssize_t n = read(sig_r, buf, sizeof buf);
                (void)n;
            }
            if (g.reload && g.stops == 0) {
                g.reload = 0;
                keeper_reload(k, argc, argv, io);
            }
            for (size_t i = 0; i < nduties && g.stops == 0; i++)
                if (duties[i].due_ms <= mono_ms())
                    duties[i].due_ms = mono_ms() + duties[i].run(&m);
        }
        tgx_log_info("keeper", "stopping (%s): no new work; %ld tasks in flight get %ld s to report",
                     g.signo == SIGINT ? "SIGINT" : "SIGTERM", keeper_busy(k), k->cfg.shutdown_timeout);
    }

    /* stop polling at once: the long-polls watch the stop latch */
    atomic_store(&k->stopping, true);
    latch_fire(k->stop_w);
    pthread_mutex_lock(&k->mu);
    pthread_cond_broadcast(&k->slot_cv);
    pthread_mutex_unlock(&k->mu);
    if (k->poller_started)
        pthread_join(k->poller, NULL);
    if (k->attester_started)
        pthread_join(k->attester, NULL);
    /* the tasks in flight finish and report, within shutdown_timeout */
    if (!wait_idle(k, sig_r, mono_ms() + k->cfg.shutdown_timeout * 1000))
        exit_now();
    if (keeper_busy(k) > 0) {
        tgx_log_warning("keeper", "%ld tasks still in flight after %ld s; giving up their reports",
                        keeper_busy(k), k->cfg.shutdown_timeout);
        latch_fire(k->kill_w);
        if (!wait_idle(k, sig_r, mono_ms() + KEEPER_GRACE_MS))
            exit_now();
    }
    if (keeper_busy(k) > 0) {
        /* a worker is stuck in a chain call: its lease expires on the server */
        tgx_log_warning("keeper", "exiting with %ld tasks still executing", keeper_busy(k));
        fflush(stderr);
        _exit(status);
    }
    pthread_mutex_lock(&k->mu);
    k->workers_exit = true;
    pthread_cond_broadcast(&k->work_cv);
    pthread_mutex_unlock(&k->mu);
    for (size_t i = 0; i < started; i++)
        pthread_join(k->workers[i], NULL);
    for (size_t i = 0; ws != NULL && i < k->nworkers; i++)
        tgx_keeper_client_free(ws[i].client);
    free(ws);
    tgx_keeper_client_free(m.client);
    if (status == TGX_EXIT_OK)
        tgx_log_info("keeper", "stopped");

    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    g.pipe_w = -1;
    close(sig_r);
    close(sig_w);
    keeper_cleanup(k);
    free(k);
    curl_global_cleanup();
    return status;
}
