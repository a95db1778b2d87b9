/* store.h: the record operations behind the REST API (users, API keys, jobs with their triggers,
 * tasks, keepers, leaderboards, Safe wallets), as one interface with pluggable backends. */
#ifndef TGX_STORE_H
#define TGX_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tgx/err.h"

/*
 * The interface is a table of function pointers (struct tgx_store_ops) over an opaque backend
 * (struct tgx_store.impl).  It speaks records, never SQL: a ScyllaDB backend can implement the
 * same operations later, while the task queue's life cycle stays in PostgreSQL (the stored
 * functions of sql/).  Backends: PostgreSQL (tgx_store_pg_create, src/store/pg.c).
 *
 * Records are jansson objects shaped exactly as the REST contract's JSON (triggerx-api.md: the
 * same names and types), so handlers pass them on:
 *  - uint256 ids (job_id, link_job_id) are decimal strings; wei balances that the contract sends
 *    as bare numbers and all floats are raw numbers (tgx/jsonnum.h: exact, written by
 *    tgx_json_dump()); times are RFC 3339 UTC strings ("2025-12-06T10:11:12.123456Z"), and an
 *    unset time is "0001-01-01T00:00:00Z" as in the original.
 *  - Keys starting with '_' are private to the handlers and must be removed before a record is
 *    sent: "_owner" (the lower-case address of the job's user), "_chain_id" (the created_chain_id
 *    of the task's job, for tx_url).
 * Ownership (jansson's words): every json_t ** OUT parameter receives a NEW reference the caller
 * decrefs; every list (struct tgx_store_list) owns its items and next key until
 * tgx_store_list_cleanup().  String parameters are borrowed for the duration of the call.
 * Every operation is safe to call from several threads at once.
 *
 * Errors: operations return 0, or a negative enum tgx_err with *ERR filled; ERR->status says how
 * the REST layer answers (a backend maps its own error codes to these).
 */

/* How a failed operation should be answered. */
enum tgx_store_status {
    TGX_STORE_OK = 0,          /* no error */
    TGX_STORE_BAD_INPUT = 1,   /* 400: the request is wrong; field names the request field when known */
    TGX_STORE_FORBIDDEN = 2,   /* 403: the record belongs to another owner */
    TGX_STORE_NOT_FOUND = 3,   /* 404: no such record */
    TGX_STORE_CONFLICT = 4,    /* 409: a duplicate, or a change that makes no sense in the record's state */
    TGX_STORE_BUSY = 5,        /* 503: no database connection became free in time */
    TGX_STORE_UNAVAILABLE = 6, /* 503: the database cannot be reached, or a statement timed out */
    TGX_STORE_FAILED = 7,      /* 500: anything else (logged by the backend) */
};

/* The error of a failed operation (fixed buffers: nothing to free). */
struct tgx_store_err {
    enum tgx_store_status status;
    char field[64];    /* the request field at fault, or "" */
    char message[512]; /* for the client: lower case, no trailing period */
    char detail[512];  /* optional full sentence, or "" */
    char hint[256];    /* optional full sentence, or "" */
};

/* The largest page; lists without a limit return at most this many rows, then a cursor. */
#define TGX_STORE_MAX_LIMIT 1000

/*
 * Which page of a list: LIMIT rows (1..TGX_STORE_MAX_LIMIT), newest first, after the row whose
 * sort key is AFTER (the NEXT of the previous page; NULL for the first page).  A sort key is a
 * backend-defined string; the REST layer hands it to clients as an opaque base64url cursor, so
 * a backend must refuse a malformed one with TGX_STORE_BAD_INPUT and field "cursor".
 */
struct tgx_store_page {
    int limit;
    const char *after;
};

/* One page of records. */
struct tgx_store_list {
    json_t *items; /* a JSON array of records (owned) */
    char *next;    /* the sort key of the last item when more rows follow (owned), else NULL */
};

/* Free what L holds and zero it (also fine on a zeroed list). */
void tgx_store_list_cleanup(struct tgx_store_list *l);

/* An authenticated API key. */
struct tgx_store_key {
    int64_t key_id;
    char owner[128]; /* for user keys the lower-case 0x address */
    bool is_admin;
    int rate_limit; /* requests per minute */
};

/* A new API key (the key itself never reaches the store: only its SHA-256 and masked hint). */
struct tgx_store_new_key {
    uint8_t hash[32];  /* SHA-256 of the key */
    const char *hint;  /* "TGRX****...abcd" */
    const char *owner; /* 1..100 characters */
    bool is_admin;
    int rate_limit; /* 1..1000000 */
};

/* What PUT /api/admin/api-keys/:key may change. */
struct tgx_store_key_change {
    int is_active;  /* 0 or 1; -1: unchanged */
    int rate_limit; /* > 0; 0: unchanged */
};

/* An execution report (PUT /api/tasks/execution/:id); strings borrowed, NULL = not given. */
struct tgx_store_execution {
    int64_t task_performer_id;       /* 0: not given */
    const char *execution_timestamp; /* RFC 3339 */
    const char *execution_tx_hash;   /* 0x + 64 hex */
    const char *proof_of_task;
    const char *task_opx_cost; /* decimal number text */
};

/* A keeper registration (POST /api/keepers and /api/keepers/form); strings borrowed. */
struct tgx_store_keeper_form {
    const char *keeper_address;  /* required */
    const char *keeper_name;     /* NULL or "": unchanged / empty */
    const char *email_id;        /* NULL: unchanged */
    const char *rewards_address; /* NULL: unchanged */
    int on_imua;                 /* 0 or 1; -1: unchanged */
    bool upsert;                 /* true (form): update an existing keeper; false: leave it alone */
};

/* Gauges for /metrics, read at scrape time. */
struct tgx_store_gauges {
    int64_t queue_depth[5];       /* tasks scheduled, pending, assigned, running, attesting */
    int64_t keepers_online;       /* keepers with online = true */
    int64_t keepers_eligible;     /* online, whitelisted, registered and not draining */
    double scheduler_lag_seconds; /* how late the most overdue time schedule is (0 when none is due) */
    int64_t schedules_due;        /* time schedules whose next run is due */
};
/* The names of the queue_depth states, in order. */
extern const char *const tgx_store_queue_states[5];

struct tgx_store;

/*
 * The operations.  ST is the store itself (backends find their state in ST->impl); ERR is never
 * NULL.  Record shapes (field lists in triggerx-api.md):
 *   UserData      user_id, user_address, job_ids[str] (the newest 1000), ether_balance and
 *                 token_balance (exact JSON integers), user_points, total_jobs, total_tasks, created_at,
 *                 last_updated_at
 *   JobData       job_id, job_title, task_definition_id, user_id, link_job_id (str|null),
 *                 chain_status, custom, time_frame, recurring, status, job_cost_prediction,
 *                 job_cost_actual, task_ids ([int]|null, the newest 1000), created_at, updated_at,
 *                 last_executed_at, timezone, is_imua, created_chain_id, safe_address, _owner
 *   JobResponse   {"job_data": JobData, and one of "time_job_data" (task definitions 1, 2, 7),
 *                 "event_job_data" (3, 4), "condition_job_data" (5, 6)}
 *   TaskData      task_id, task_number, job_id, task_definition_id, created_at, task_opx_cost,
 *                 execution_timestamp, execution_tx_hash, task_performer_id, task_attester_ids,
 *                 proof_of_task, converted_arguments, trigger_data (null), tp_signature,
 *                 ta_signature (base64|null), task_submission_tx_hash, task_status (the state:
 *                 scheduled ... cancelled), task_error, is_accepted, is_imua, _owner, _chain_id
 *   TaskItem      task_id, task_number, task_opx_cost, execution_timestamp, execution_tx_hash,
 *                 task_performer_id, task_attester_ids, task_status, task_error, is_accepted,
 *                 converted_arguments, _chain_id   (the REST layer adds tx_url)
 *   RecentTask    task_id, task_number, job_id, task_definition_id, created_at, task_opx_cost,
 *                 execution_timestamp, execution_tx_hash, task_performer_id, task_attester_ids,
 *                 task_status, task_error, is_imua, _chain_id
 *   TaskGroup     {"job_id": str, "tasks": [TaskItem] (the newest 1000 of the job)}
 *   KeeperData    keeper_id ... uptime (23 fields)
 *   ApiKey        owner, is_active, is_admin, is_keeper, rate_limit, success_count, failed_count,
 *                 last_used, created_at, key_hint   (the REST layer adds "key")
 */
struct tgx_store_ops {
    const char *name; /* "postgresql" */
    /* Free the backend (ST itself too). */
    void (*destroy)(struct tgx_store *st);
    /* Is the database reachable?  0, or an error (UNAVAILABLE, BUSY). */
    int (*ping)(struct tgx_store *st, struct tgx_store_err *err);

    /* API keys */
    /* The active key with SHA-256 HASH (also stamps its last_used); NOT_FOUND for unknown or inactive. */
    int (*key_authenticate)(struct tgx_store *st, const uint8_t hash[32], struct tgx_store_key *out,
                            struct tgx_store_err *err);
    /* Store a new key; *OUT: its ApiKey record. */
    int (*key_create)(struct tgx_store *st, const struct tgx_store_new_key *nk, json_t **out,
                      struct tgx_store_err *err);
    /* Change the key with HASH; *OUT: its ApiKey record afterwards.  NOT_FOUND. */
    int (*key_update)(struct tgx_store *st, const uint8_t hash[32], const struct tgx_store_key_change *c,
                      json_t **out, struct tgx_store_err *err);
    /* Delete the key with HASH.  NOT_FOUND. */
    int (*key_delete)(struct tgx_store *st, const uint8_t hash[32], struct tgx_store_err *err);
    /* Delete OWNER's keys whose masked form is HINT; *DELETED gets how many (0: NOT_FOUND). */
    int (*key_delete_masked)(struct tgx_store *st, const char *hint, const char *owner, int *deleted,
                             struct tgx_store_err *err);
    /* OWNER's keys (ApiKey records, newest first). */
    int (*keys_by_owner)(struct tgx_store *st, const char *owner, const struct tgx_store_page *page,
                         struct tgx_store_list *out, struct tgx_store_err *err);

    /* Users */
    /* UserData of ADDRESS (lower case).  NOT_FOUND. */
    int (*user_get)(struct tgx_store *st, const char *address, json_t **out, struct tgx_store_err *err);
    /* Set the e-mail address of ADDRESS's user.  NOT_FOUND. */
    int (*user_set_email)(struct tgx_store *st, const char *address, const char *email,
                          struct tgx_store_err *err);
    /* ADDRESS's Safe wallets: [{"safe_address","safe_name","created_at"}], newest first. */
    int (*safe_addresses)(struct tgx_store *st, const char *address, const struct tgx_store_page *page,
                          struct tgx_store_list *out, struct tgx_store_err *err);
    /* The user leaderboard: [{"user_id","user_address","total_jobs","total_tasks","user_points"}]. */
    int (*users_board)(struct tgx_store *st, const struct tgx_store_page *page, struct tgx_store_list *out,
                       struct tgx_store_err *err);
    /* One entry of the user leaderboard.  NOT_FOUND. */
    int (*user_board_entry)(struct tgx_store *st, const char *address, json_t **out,
                            struct tgx_store_err *err);

    /* Jobs (JOB_ID: decimal digits) */
    /*
     * Create the jobs of BODY (the POST /api/jobs JSON array, as received: every digit kept) for
     * OWNER (NULL: admin, no ownership check) in one transaction, with TRACE_ID; *OUT: the
     * CreateJobResponse {"user_id","account_balance","token_balance","job_ids","task_definition_ids",
     * "time_frames"}.  BAD_INPUT with the field, FORBIDDEN, CONFLICT (job exists).
     */
    int (*jobs_create)(struct tgx_store *st, const char *owner, const char *body, const char *trace_id,
                       json_t **out, struct tgx_store_err *err);
    /* JobData of JOB_ID.  NOT_FOUND. */
    int (*job_get)(struct tgx_store *st, const char *job_id, json_t **out, struct tgx_store_err *err);
    /* JobResponse records of ADDRESS's jobs, optionally only those created on CHAIN_ID (NULL: all). */
    int (*jobs_by_user)(struct tgx_store *st, const char *address, const char *chain_id,
                        const struct tgx_store_page *page, struct tgx_store_list *out,
                        struct tgx_store_err *err);
    /* JobResponse records of the jobs of Safe wallet SAFE, of OWNER's jobs only (NULL: all). */
    int (*jobs_by_safe)(struct tgx_store *st, const char *safe, const char *owner,
                        const struct tgx_store_page *page, struct tgx_store_list *out,
                        struct tgx_store_err *err);
    /* [{"task_id","task_opx_cost"}] of JOB_ID's tasks.  NOT_FOUND for an unknown job, FORBIDDEN when
     * OWNER (NULL: admin) is not the job's. */
    int (*job_task_fees)(struct tgx_store *st, const char *job_id, const char *owner,
                         const struct tgx_store_page *page, struct tgx_store_list *out,
                         struct tgx_store_err *err);
    /*
     * Active time jobs whose next run falls within LOOKAHEAD_S seconds (read only: the scheduler
     * role fires them): ScheduleTimeTaskData records with task_id 0 (triggerx-api.md 2.3).
     */
    int (*jobs_time_due)(struct tgx_store *st, int lookahead_s, const struct tgx_store_page *page,
                         struct tgx_store_list *out, struct tgx_store_err *err);
    /* Change only the fields of FIELDS (JSON object text) of JOB_ID for OWNER (NULL: admin); *OUT:
     * {"job_id","updated_at"}.  BAD_INPUT, FORBIDDEN, NOT_FOUND, CONFLICT. */
    int (*job_update)(struct tgx_store *st, const char *owner, const char *job_id, const char *fields,
                      json_t **out, struct tgx_store_err *err);
    /* Pause (paused) or resume (pending, in-queue, running) JOB_ID; *OUT: {"status","updated_at"}. */
    int (*job_set_status)(struct tgx_store *st, const char *owner, const char *job_id, const char *status,
                          json_t **out, struct tgx_store_err *err);
    /* Record an execution of OWNER's (NULL: admin) JOB_ID: AT (RFC 3339; NULL: now), COST (decimal
     * text; NULL: unchanged); *OUT: {"job_id","last_executed_at","updated_at"}.  NOT_FOUND, FORBIDDEN. */
    int (*job_set_last_executed)(struct tgx_store *st, const char *owner, const char *job_id, const char *at,
                                 const char *cost, json_t **out, struct tgx_store_err *err);
    /* Soft-delete JOB_ID and cancel its waiting tasks, in one transaction; *CANCELLED gets how many. */
    int (*job_delete)(struct tgx_store *st, const char *owner, const char *job_id, int *cancelled,
                      struct tgx_store_err *err);

    /* Tasks */
    /* TaskData of TASK_ID.  NOT_FOUND. */
    int (*task_get)(struct tgx_store *st, int64_t task_id, json_t **out, struct tgx_store_err *err);
    /* TaskItem records of JOB_ID's tasks.  NOT_FOUND for an unknown job, FORBIDDEN when OWNER (NULL:
     * admin) is not the job's. */
    int (*tasks_by_job)(struct tgx_store *st, const char *job_id, const char *owner,
                        const struct tgx_store_page *page, struct tgx_store_list *out,
                        struct tgx_store_err *err);
    /* RecentTask records, of OWNER's jobs only (NULL: all). */
    int (*tasks_recent)(struct tgx_store *st, const char *owner, const struct tgx_store_page *page,
                        struct tgx_store_list *out, struct tgx_store_err *err);
    /* TaskGroup records of ADDRESS's jobs (a page of jobs).  NOT_FOUND for an unknown user. */
    int (*task_groups_by_user)(struct tgx_store *st, const char *address, const struct tgx_store_page *page,
                               struct tgx_store_list *out, struct tgx_store_err *err);
    /* TaskGroup records of the jobs of Safe SAFE (OWNER's only; NULL: all).  NOT_FOUND: no such job. */
    int (*task_groups_by_safe)(struct tgx_store *st, const char *safe, const char *owner,
                               const struct tgx_store_page *page, struct tgx_store_list *out,
                               struct tgx_store_err *err);
    /* A new pending task of JOB_ID due now (IS_IMUA -1: the job's); *TASK_ID gets its id. */
    int (*task_create)(struct tgx_store *st, const char *job_id, int task_definition_id, int is_imua,
                       const char *trace_id, int64_t *task_id, struct tgx_store_err *err);
    /* Record an execution report of TASK_ID (its state is not changed).  NOT_FOUND, BAD_INPUT. */
    int (*task_record_execution)(struct tgx_store *st, int64_t task_id, const struct tgx_store_execution *x,
                                 struct tgx_store_err *err);

    /* Keepers */
    /* Register a keeper; *ID its id, *EXISTED whether the address was known. */
    int (*keeper_register)(struct tgx_store *st, const struct tgx_store_keeper_form *f, int64_t *id,
                           bool *existed, struct tgx_store_err *err);
    /* [{"keeper_id","keeper_address"}] of registered, whitelisted keepers, by id (ascending, as the
     * original). */
    int (*keepers_performers)(struct tgx_store *st, const struct tgx_store_page *page,
                              struct tgx_store_list *out, struct tgx_store_err *err);
    /* KeeperData of keeper ID.  NOT_FOUND. */
    int (*keeper_get)(struct tgx_store *st, int64_t id, json_t **out, struct tgx_store_err *err);
    /* no_executed_tasks += 1; *COUNT the new value.  NOT_FOUND. */
    int (*keeper_increment_tasks)(struct tgx_store *st, int64_t id, int64_t *count,
                                  struct tgx_store_err *err);
    /* *COUNT = no_executed_tasks.  NOT_FOUND. */
    int (*keeper_task_count)(struct tgx_store *st, int64_t id, int64_t *count, struct tgx_store_err *err);
    /* keeper_points += task TASK_ID's task_opx_cost; *OUT {"task_id","task_fee","keeper_points"}.
     * NOT_FOUND with field "task_id" for an unknown task, without field for an unknown keeper. */
    int (*keeper_add_points)(struct tgx_store *st, int64_t id, int64_t task_id, json_t **out,
                             struct tgx_store_err *err);
    /* *OUT {"keeper_points"}.  NOT_FOUND. */
    int (*keeper_points)(struct tgx_store *st, int64_t id, json_t **out, struct tgx_store_err *err);
    /* Set the chat id of the keeper with ADDRESS.  NOT_FOUND. */
    int (*keeper_set_chat_id)(struct tgx_store *st, const char *address, int64_t chat_id,
                              struct tgx_store_err *err);
    /* *OUT {"chat_id","keeper_name","email_id"}.  NOT_FOUND. */
    int (*keeper_com_info)(struct tgx_store *st, int64_t id, json_t **out, struct tgx_store_err *err);
    /* The keeper leaderboard of registered, whitelisted keepers; ON_IMUA 0/1 filters, -1 all. */
    int (*keepers_board)(struct tgx_store *st, int on_imua, const struct tgx_store_page *page,
                         struct tgx_store_list *out, struct tgx_store_err *err);
    /* One registered keeper by ADDRESS or else NAME (either may be NULL).  NOT_FOUND. */
    int (*keeper_board_entry)(struct tgx_store *st, const char *address, const char *name, json_t **out,
                              struct tgx_store_err *err);

    /* Inspection */
    int (*gauges)(struct tgx_store *st, struct tgx_store_gauges *out, struct tgx_store_err *err);
};

/* A store: its operations and its backend's state. */
struct tgx_store {
    const struct tgx_store_ops *ops;
    void *impl;
};

/* Free a store through its backend (NULL is fine). */
void tgx_store_free(struct tgx_store *st);

/* Fill ERR with STATUS and a printf-formatted message (FIELD may be NULL). */
void tgx_store_err_set(struct tgx_store_err *err, enum tgx_store_status status, const char *field,
                       const char *fmt, ...) TGX_PRINTF(4, 5);

/* --- the PostgreSQL backend (src/store/pg.c) --- */
struct tgx_pool;
/*
 * A store over POOL (borrowed: it must outlive the store).  Every operation borrows one
 * connection for its statement; writes go through the stored functions of sql/tgx.rest.sql.
 * -TGX_ERR_NOMEM.
 */
int tgx_store_pg_create(struct tgx_pool *pool, struct tgx_store **out /* OUT: new */) TGX_MUSTCHECK;

#endif
