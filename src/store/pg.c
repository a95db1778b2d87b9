/* pg.c: the PostgreSQL backend of tgx_store: named, prepared queries over a connection pool;
 * writes through the stored functions of sql/tgx.rest.sql. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_rows.h"
#include "tgx/hex.h"
#include "tgx/jsonnum.h"
#include "tgx/log.h"
#include "tgx/pool.h"
#include "tgx/store.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Object groups of a row (struct tgx_pgcol.groups). */
enum {
    G_MAIN = 1u << 0,  /* the record itself (job_data for jobs) */
    G_SUB = 1u << 1,   /* the trigger sub-object of a job, or a nested object */
    G_TIME = 1u << 2,  /* time_job_data only */
    G_EVENT = 1u << 3, /* event_job_data only */
    G_COND = 1u << 4,  /* condition_job_data only */
};

/* Statement ids: one per query, the index of its "prepared" flag on each pooled connection. */
enum {
    QID_PING,
    QID_KEY_AUTH,
    QID_KEY_CREATE,
    QID_KEY_UPDATE,
    QID_KEY_DELETE,
    QID_KEY_DELETE_MASKED,
    QID_KEYS_BY_OWNER,
    QID_USER_GET,
    QID_USER_SET_EMAIL,
    QID_SAFE_ADDRESSES,
    QID_USERS_BOARD,
    QID_USER_BOARD_ENTRY,
    QID_JOBS_CREATE,
    QID_JOB_GET,
    QID_JOBS_BY_USER,
    QID_JOBS_BY_SAFE,
    QID_JOB_TASK_FEES,
    QID_JOBS_TIME_DUE,
    QID_JOB_UPDATE,
    QID_JOB_SET_STATUS,
    QID_JOB_SET_LAST_EXECUTED,
    QID_JOB_DELETE,
    QID_TASK_GET,
    QID_TASKS_BY_JOB,
    QID_TASKS_RECENT,
    QID_TASK_GROUPS_BY_USER,
    QID_TASK_GROUPS_BY_SAFE,
    QID_TASK_CREATE,
    QID_TASK_EXECUTION,
    QID_KEEPER_CREATE,
    QID_KEEPER_UPSERT,
    QID_KEEPERS_PERFORMERS,
    QID_KEEPER_GET,
    QID_KEEPER_INCREMENT,
    QID_KEEPER_TASK_COUNT,
    QID_KEEPER_ADD_POINTS,
    QID_KEEPER_POINTS,
    QID_KEEPER_CHAT_ID,
    QID_KEEPER_COM_INFO,
    QID_KEEPERS_BOARD,
    QID_KEEPER_BOARD_ENTRY,
    QID_GAUGES,
};

/* Sentinels of keyset pagination: "before everything" for the first page of a newest-first list. */
#define TS_MAX        "infinity"
#define UINT_MAX_TEXT "100000000000000000000000000000000000000000000000000000000000000000000000000000000"
#define ID_MAX        "9223372036854775807"
#define ADDR_MAX      "0y"
#define POINTS_MAX    "Infinity"

struct pgstore {
    struct tgx_pool *pool;
};

const char *const tgx_store_queue_states[5] = {"scheduled", "pending", "assigned", "running", "attesting"};

/* =============================================================================================
 * Queries.  Each constant is followed by its column table (the column-index constants: column i
 * of the result is row i of the table).
 * ============================================================================================= */

static const struct tgx_pg_query Q_PING = {QID_PING, "tgx_ping", "SELECT 1", 0};

/* --- API keys ------------------------------------------------------------------------------- */

static const struct tgx_pg_query Q_KEY_AUTH = {QID_KEY_AUTH, "tgx_key_auth",
                                               "UPDATE tgx.api_keys k SET last_used = now() "
                                               "WHERE k.key_hash = $1::bytea AND k.is_active "
                                               "RETURNING k.key_id, k.owner, k.is_admin, k.rate_limit",
                                               1};
enum { KEY_AUTH_ID, KEY_AUTH_OWNER, KEY_AUTH_ADMIN, KEY_AUTH_RATE };

#define KEY_COLS_SQL                                                                                         \
    "k.owner, k.is_active, k.is_admin, k.is_keeper, k.rate_limit, k.success_count, k.failed_count, "         \
    "k.last_used, k.created_at, k.key_hint, k.key_id"
static const struct tgx_pgcol KEY_COLS[] = {
    {"owner", PGC_TEXT, G_MAIN},       {"is_active", PGC_BOOL, G_MAIN}, {"is_admin", PGC_BOOL, G_MAIN},
    {"is_keeper", PGC_BOOL, G_MAIN},   {"rate_limit", PGC_INT, G_MAIN}, {"success_count", PGC_INT, G_MAIN},
    {"failed_count", PGC_INT, G_MAIN}, {"last_used", PGC_TS, G_MAIN},   {"created_at", PGC_TS, G_MAIN},
    {"_hint", PGC_TEXT, G_MAIN},       {"key_id", PGC_INT, 0},
};
enum { KEY_COL_ID = 10 };

static const struct tgx_pg_query Q_KEY_CREATE = {
    QID_KEY_CREATE, "tgx_key_create",
    "INSERT INTO tgx.api_keys AS k (key_hash, key_hint, owner, is_admin, rate_limit) "
    "VALUES ($1::bytea, $2, $3, $4::boolean, $5::integer) RETURNING " KEY_COLS_SQL,
    5};

static const struct tgx_pg_query Q_KEY_UPDATE = {
    QID_KEY_UPDATE, "tgx_key_update",
    "UPDATE tgx.api_keys k SET is_active = coalesce($2::boolean, k.is_active), "
    "rate_limit = coalesce($3::integer, k.rate_limit) "
    "WHERE k.key_hash = $1::bytea RETURNING " KEY_COLS_SQL,
    3};

static const struct tgx_pg_query Q_KEY_DELETE = {
    QID_KEY_DELETE, "tgx_key_delete",
    "DELETE FROM tgx.api_keys k WHERE k.key_hash = $1::bytea RETURNING k.key_id", 1};

static const struct tgx_pg_query Q_KEY_DELETE_MASKED = {
    QID_KEY_DELETE_MASKED, "tgx_key_delete_masked",
    "DELETE FROM tgx.api_keys k WHERE k.key_hint = $1 AND k.owner = $2 RETURNING k.key_id", 2};

static const struct tgx_pg_query Q_KEYS_BY_OWNER = {
    QID_KEYS_BY_OWNER, "tgx_keys_by_owner",
    "SELECT " KEY_COLS_SQL " FROM tgx.api_keys k WHERE k.owner = $1 AND k.key_id < $2::bigint "
    "ORDER BY k.key_id DESC LIMIT $3::integer",
    3};

/* --- users ------------------------------------------------------------------------------------ */

static const struct tgx_pg_query Q_USER_GET = {
    QID_USER_GET, "tgx_user_get",
    "SELECT u.user_id, u.user_address, "
    "  coalesce((SELECT jsonb_agg(x.job_id ORDER BY x.created_at, x.job_id) FROM "
    "    (SELECT j.job_id::text AS job_id, j.created_at FROM tgx.jobs j WHERE j.user_id = u.user_id "
    "     ORDER BY j.created_at DESC, j.job_id DESC LIMIT 1000) x), '[]'::jsonb)::text, "
    "  u.ether_balance::text, u.token_balance::text, u.user_points, u.total_jobs, u.total_tasks, "
    "  u.created_at, u.last_updated_at "
    "FROM tgx.users u WHERE u.user_address = $1",
    1};
static const struct tgx_pgcol USER_COLS[] = {
    {"user_id", PGC_INT, G_MAIN},        {"user_address", PGC_TEXT, G_MAIN},
    {"job_ids", PGC_JSON, G_MAIN},       {"ether_balance", PGC_NUMN, G_MAIN},
    {"token_balance", PGC_NUMN, G_MAIN}, {"user_points", PGC_NUM, G_MAIN},
    {"total_jobs", PGC_INT, G_MAIN},     {"total_tasks", PGC_INT, G_MAIN},
    {"created_at", PGC_TS, G_MAIN},      {"last_updated_at", PGC_TS, G_MAIN},
};

static const struct tgx_pg_query Q_USER_SET_EMAIL = {QID_USER_SET_EMAIL, "tgx_user_set_email",
                                                     "UPDATE tgx.users u SET email_id = $2, last_updated_at "
                                                     "= now() WHERE u.user_address = $1 RETURNING u.user_id",
                                                     2};

static const struct tgx_pg_query Q_SAFE_ADDRESSES = {
    QID_SAFE_ADDRESSES, "tgx_safe_addresses",
    "SELECT s.safe_address, s.safe_name, s.created_at, s.created_at::text || '|' || s.safe_address "
    "FROM tgx.safe_addresses s WHERE s.user_address = $1 "
    "AND (s.created_at, s.safe_address::text) < ($2::timestamptz, $3::text) "
    "ORDER BY s.created_at DESC, s.safe_address DESC LIMIT $4::integer",
    4};
static const struct tgx_pgcol SAFE_COLS[] = {
    {"safe_address", PGC_TEXT, G_MAIN},
    {"safe_name", PGC_TEXT, G_MAIN},
    {"created_at", PGC_TS, G_MAIN},
    {"key", PGC_TEXT, 0},
};
enum { SAFE_COL_KEY = 3 };

#define USER_BOARD_SQL                                                                                       \
    "SELECT u.user_id, u.user_address, u.total_jobs, u.total_tasks, u.user_points, "                         \
    "u.user_points::text || '|' || u.user_id FROM tgx.users u "
static const struct tgx_pg_query Q_USERS_BOARD = {
    QID_USERS_BOARD, "tgx_users_board",
    USER_BOARD_SQL "WHERE (u.user_points, u.user_id) < ($1::float8, $2::bigint) "
                   "ORDER BY u.user_points DESC, u.user_id DESC LIMIT $3::integer",
    3};
static const struct tgx_pg_query Q_USER_BOARD_ENTRY = {QID_USER_BOARD_ENTRY, "tgx_user_board_entry",
                                                       USER_BOARD_SQL "WHERE u.user_address = $1", 1};
static const struct tgx_pgcol USER_BOARD_COLS[] = {
    {"user_id", PGC_INT, G_MAIN},     {"user_address", PGC_TEXT, G_MAIN}, {"total_jobs", PGC_INT, G_MAIN},
    {"total_tasks", PGC_INT, G_MAIN}, {"user_points", PGC_NUM, G_MAIN},   {"key", PGC_TEXT, 0},
};
enum { USER_BOARD_COL_KEY = 5 };

/* --- jobs ------------------------------------------------------------------------------------- */

static const struct tgx_pg_query Q_JOBS_CREATE = {
    QID_JOBS_CREATE, "tgx_jobs_create",
    "SELECT c.user_id, c.account_balance::text, c.token_balance::text, c.job_ids::text, "
    "c.task_definition_ids::text, c.time_frames::text FROM tgx.create_jobs($1, $2::jsonb, $3) c",
    3};
static const struct tgx_pgcol CREATE_COLS[] = {
    {"user_id", PGC_INT, G_MAIN},
    {"account_balance", PGC_NUMN, G_MAIN},
    {"token_balance", PGC_NUMN, G_MAIN},
    {"job_ids", PGC_JSON, G_MAIN},
    {"task_definition_ids", PGC_JSON, G_MAIN},
    {"time_frames", PGC_JSON, G_MAIN},
};

/* JobData (G_MAIN) and the trigger sub-object (G_SUB + G_TIME / G_EVENT / G_COND) of one job. */
#define JOB_SELECT_SQL                                                                                       \
    "SELECT j.job_id::text, j.job_title, j.task_definition_id, j.user_id, j.link_job_id::text, "             \
    "  j.chain_status, j.custom, j.time_frame, j.recurring, j.status::text, j.job_cost_prediction, "         \
    "  j.job_cost_actual, "                                                                                  \
    "  (SELECT jsonb_agg(x.task_id ORDER BY x.task_id) FROM (SELECT t.task_id FROM tgx.tasks t "             \
    "   WHERE t.job_id = j.job_id ORDER BY t.task_id DESC LIMIT 1000) x)::text, "                            \
    "  j.created_at, j.updated_at, j.last_executed_at, j.timezone, j.is_imua, j.created_chain_id, "          \
    "  j.safe_address, u.user_address, "                                                                     \
    "  j.target_chain_id, j.target_contract_address, j.target_function, coalesce(j.abi::text, ''), "         \
    "  j.arg_type, to_jsonb(j.arguments)::text, j.dynamic_arguments_script_url, "                            \
    "  j.status = 'completed', j.status = 'pending', j.expiration_time, "                                    \
    "  ts.timezone, ts.schedule_type, ts.time_interval, ts.cron_expression, ts.specific_schedule, "          \
    "  ts.next_fire_at, "                                                                                    \
    "  et.trigger_chain_id, et.trigger_contract_address, et.trigger_event, et.event_filter_para_name, "      \
    "  et.event_filter_value, "                                                                              \
    "  ct.condition_type, ct.upper_limit, ct.lower_limit, ct.value_source_type, ct.value_source_url, "       \
    "  ct.selected_key_route, "                                                                              \
    "  j.created_at::text || '|' || j.job_id::text "                                                         \
    "FROM tgx.jobs j JOIN tgx.users u ON u.user_id = j.user_id "                                             \
    "LEFT JOIN tgx.time_schedules ts ON ts.job_id = j.job_id "                                               \
    "LEFT JOIN tgx.event_triggers et ON et.job_id = j.job_id "                                               \
    "LEFT JOIN tgx.condition_triggers ct ON ct.job_id = j.job_id "
static const struct tgx_pgcol JOB_COLS[] = {
    {"job_id", PGC_TEXT, G_MAIN | G_SUB},
    {"job_title", PGC_TEXT, G_MAIN},
    {"task_definition_id", PGC_INT, G_MAIN | G_SUB},
    {"user_id", PGC_INT, G_MAIN},
    {"link_job_id", PGC_TEXTN, G_MAIN},
    {"chain_status", PGC_INT, G_MAIN},
    {"custom", PGC_BOOL, G_MAIN},
    {"time_frame", PGC_INT, G_MAIN},
    {"recurring", PGC_BOOL, G_MAIN | G_EVENT | G_COND},
    {"status", PGC_TEXT, G_MAIN},
    {"job_cost_prediction", PGC_NUM, G_MAIN},
    {"job_cost_actual", PGC_NUM, G_MAIN},
    {"task_ids", PGC_JSON, G_MAIN},
    {"created_at", PGC_TS, G_MAIN | G_SUB},
    {"updated_at", PGC_TS, G_MAIN | G_SUB},
    {"last_executed_at", PGC_TS, G_MAIN | G_SUB},
    {"timezone", PGC_TEXT, G_MAIN},
    {"is_imua", PGC_BOOL, G_MAIN},
    {"created_chain_id", PGC_TEXT, G_MAIN},
    {"safe_address", PGC_TEXT, G_MAIN},
    {"_owner", PGC_TEXT, G_MAIN},
    {"target_chain_id", PGC_TEXT, G_SUB},
    {"target_contract_address", PGC_TEXT, G_SUB},
    {"target_function", PGC_TEXT, G_SUB},
    {"abi", PGC_TEXT, G_SUB},
    {"arg_type", PGC_INT, G_SUB},
    {"arguments", PGC_JSON, G_SUB},
    {"dynamic_arguments_script_url", PGC_TEXT, G_SUB},
    {"is_completed", PGC_BOOL, G_SUB},
    {"is_active", PGC_BOOL, G_SUB},
    {"expiration_time", PGC_TS, G_SUB},
    {"timezone", PGC_TEXT, G_TIME},
    {"schedule_type", PGC_TEXT, G_TIME},
    {"time_interval", PGC_INT, G_TIME},
    {"cron_expression", PGC_TEXT, G_TIME},
    {"specific_schedule", PGC_TEXT, G_TIME},
    {"next_execution_timestamp", PGC_TS, G_TIME},
    {"trigger_chain_id", PGC_TEXT, G_EVENT},
    {"trigger_contract_address", PGC_TEXT, G_EVENT},
    {"trigger_event", PGC_TEXT, G_EVENT},
    {"event_filter_para_name", PGC_TEXT, G_EVENT},
    {"event_filter_value", PGC_TEXT, G_EVENT},
    {"condition_type", PGC_TEXT, G_COND},
    {"upper_limit", PGC_NUM, G_COND},
    {"lower_limit", PGC_NUM, G_COND},
    {"value_source_type", PGC_TEXT, G_COND},
    {"value_source_url", PGC_TEXT, G_COND},
    {"selected_key_route", PGC_TEXT, G_COND},
    {"key", PGC_TEXT, 0},
};
enum { JOB_COL_TDID = 2, JOB_COL_KEY = 48 };

static const struct tgx_pg_query Q_JOB_GET = {QID_JOB_GET, "tgx_job_get",
                                              JOB_SELECT_SQL "WHERE j.job_id = $1::numeric", 1};

static const struct tgx_pg_query Q_JOBS_BY_USER = {
    QID_JOBS_BY_USER, "tgx_jobs_by_user",
    JOB_SELECT_SQL "WHERE u.user_address = $1 "
                   "AND ($2::text IS NULL OR lower(j.created_chain_id) = lower($2::text)) "
                   "AND (j.created_at, j.job_id) < ($3::timestamptz, $4::numeric) "
                   "ORDER BY j.created_at DESC, j.job_id DESC LIMIT $5::integer",
    5};

static const struct tgx_pg_query Q_JOBS_BY_SAFE = {
    QID_JOBS_BY_SAFE, "tgx_jobs_by_safe",
    JOB_SELECT_SQL "WHERE j.safe_address = $1 AND ($2::text IS NULL OR u.user_address = $2::text) "
                   "AND (j.created_at, j.job_id) < ($3::timestamptz, $4::numeric) "
                   "ORDER BY j.created_at DESC, j.job_id DESC LIMIT $5::integer",
    5};

/*
 * The per-job lists (task fees, tasks by job) start with these columns: whether the job exists and
 * its owner's address.  They give one row even for an unknown job (found false) or a job without
 * tasks (task columns NULL).
 */
enum { JOBCHK_COL_FOUND, JOBCHK_COL_OWNER };

static const struct tgx_pg_query Q_JOB_TASK_FEES = {
    QID_JOB_TASK_FEES, "tgx_job_task_fees",
    "SELECT j.job_id IS NOT NULL, u.user_address, t.task_id, t.task_opx_cost, t.task_id::text "
    "FROM (SELECT 1) d LEFT JOIN tgx.jobs j ON j.job_id = $1::numeric "
    "LEFT JOIN tgx.users u ON u.user_id = j.user_id "
    "LEFT JOIN LATERAL (SELECT t.task_id, t.task_opx_cost FROM tgx.tasks t WHERE t.job_id = j.job_id "
    "  AND t.task_id < $2::bigint ORDER BY t.task_id DESC LIMIT $3::integer) t ON true "
    "ORDER BY t.task_id DESC",
    3};
static const struct tgx_pgcol TASK_FEE_COLS[] = {
    {"found", PGC_BOOL, 0},       {"owner", PGC_TEXT, 0},
    {"task_id", PGC_INT, G_MAIN}, {"task_opx_cost", PGC_NUM, G_MAIN},
    {"key", PGC_TEXT, 0},
};
enum { FEE_COL_KEY = 4 };

static const struct tgx_pg_query Q_JOBS_TIME_DUE = {
    QID_JOBS_TIME_DUE, "tgx_jobs_time_due",
    "SELECT 0, j.task_definition_id, j.last_executed_at, j.expiration_time, s.next_fire_at, s.schedule_type, "
    "  s.time_interval, s.cron_expression, s.specific_schedule, j.is_imua, "
    "  j.job_id::text, j.target_chain_id, j.target_contract_address, j.target_function, "
    "  coalesce(j.abi::text, ''), j.arg_type, to_jsonb(j.arguments)::text, j.dynamic_arguments_script_url, "
    "  s.next_fire_at::text || '|' || s.job_id::text "
    "FROM tgx.time_schedules s JOIN tgx.jobs j ON j.job_id = s.job_id "
    "WHERE s.next_fire_at IS NOT NULL AND s.next_fire_at <= now() + $1::integer * interval '1 second' "
    "  AND j.status = 'pending' AND (s.next_fire_at, s.job_id) > ($2::timestamptz, $3::numeric) "
    "ORDER BY s.next_fire_at, s.job_id LIMIT $4::integer",
    4};
static const struct tgx_pgcol TIME_DUE_COLS[] = {
    {"task_id", PGC_INT, G_MAIN | G_SUB},
    {"task_definition_id", PGC_INT, G_MAIN | G_SUB},
    {"last_executed_at", PGC_TS, G_MAIN},
    {"expiration_time", PGC_TS, G_MAIN},
    {"next_execution_timestamp", PGC_TS, G_MAIN},
    {"schedule_type", PGC_TEXT, G_MAIN},
    {"time_interval", PGC_INT, G_MAIN},
    {"cron_expression", PGC_TEXT, G_MAIN},
    {"specific_schedule", PGC_TEXT, G_MAIN},
    {"is_imua", PGC_BOOL, G_MAIN | G_SUB},
    {"job_id", PGC_TEXT, G_SUB},
    {"target_chain_id", PGC_TEXT, G_SUB},
    {"target_contract_address", PGC_TEXT, G_SUB},
    {"target_function", PGC_TEXT, G_SUB},
    {"abi", PGC_TEXT, G_SUB},
    {"arg_type", PGC_INT, G_SUB},
    {"arguments", PGC_JSON, G_SUB},
    {"dynamic_arguments_script_url", PGC_TEXT, G_SUB},
    {"key", PGC_TEXT, 0},
};
enum { TIME_DUE_COL_KEY = 18 };

static const struct tgx_pg_query Q_JOB_UPDATE = {
    QID_JOB_UPDATE, "tgx_job_update",
    "SELECT r.job_id, r.updated_at FROM tgx.update_job($1, $2::numeric, $3::jsonb) r", 3};
static const struct tgx_pgcol JOB_UPDATE_COLS[] = {
    {"job_id", PGC_TEXT, G_MAIN},
    {"updated_at", PGC_TS, G_MAIN},
};

static const struct tgx_pg_query Q_JOB_SET_STATUS = {
    QID_JOB_SET_STATUS, "tgx_job_set_status",
    "SELECT r.status, r.updated_at FROM tgx.set_job_status($1, $2::numeric, $3) r", 3};
static const struct tgx_pgcol JOB_STATUS_COLS[] = {
    {"status", PGC_TEXT, G_MAIN},
    {"updated_at", PGC_TS, G_MAIN},
};

static const struct tgx_pg_query Q_JOB_SET_LAST_EXECUTED = {
    QID_JOB_SET_LAST_EXECUTED, "tgx_job_set_last_executed",
    "SELECT r.job_id, r.last_executed_at, r.updated_at "
    "FROM tgx.set_job_last_executed($1, $2::numeric, $3::timestamptz, $4::float8) r",
    4};
static const struct tgx_pgcol JOB_LAST_COLS[] = {
    {"job_id", PGC_TEXT, G_MAIN},
    {"last_executed_at", PGC_TS, G_MAIN},
    {"updated_at", PGC_TS, G_MAIN},
};

static const struct tgx_pg_query Q_JOB_DELETE = {QID_JOB_DELETE, "tgx_job_delete",
                                                 "SELECT tgx.delete_job($1, $2::numeric)", 2};

/* --- tasks ------------------------------------------------------------------------------------ */

static const struct tgx_pg_query Q_TASK_GET = {
    QID_TASK_GET, "tgx_task_get",
    "SELECT t.task_id, t.task_number, t.job_id::text, t.task_definition_id, t.created_at, t.task_opx_cost, "
    "  t.execution_timestamp, t.execution_tx_hash, t.task_performer_id, to_jsonb(t.task_attester_ids)::text, "
    "  t.proof_of_task, to_jsonb(t.converted_arguments)::text, NULL, "
    "  translate(encode(t.tp_signature, 'base64'), E'\\n', ''), "
    "  translate(encode(t.ta_signature, 'base64'), E'\\n', ''), "
    "  t.task_submission_tx_hash, t.state::text, t.task_error, t.is_accepted, t.is_imua, "
    "  u.user_address, j.created_chain_id "
    "FROM tgx.tasks t JOIN tgx.jobs j ON j.job_id = t.job_id JOIN tgx.users u ON u.user_id = j.user_id "
    "WHERE t.task_id = $1::bigint",
    1};
static const struct tgx_pgcol TASK_COLS[] = {
    {"task_id", PGC_INT, G_MAIN},
    {"task_number", PGC_INT, G_MAIN},
    {"job_id", PGC_TEXT, G_MAIN},
    {"task_definition_id", PGC_INT, G_MAIN},
    {"created_at", PGC_TS, G_MAIN},
    {"task_opx_cost", PGC_NUM, G_MAIN},
    {"execution_timestamp", PGC_TS, G_MAIN},
    {"execution_tx_hash", PGC_TEXT, G_MAIN},
    {"task_performer_id", PGC_INT, G_MAIN},
    {"task_attester_ids", PGC_JSON, G_MAIN},
    {"proof_of_task", PGC_TEXT, G_MAIN},
    {"converted_arguments", PGC_JSON, G_MAIN},
    {"trigger_data", PGC_NULL, G_MAIN},
    {"tp_signature", PGC_TEXTN, G_MAIN},
    {"ta_signature", PGC_TEXTN, G_MAIN},
    {"task_submission_tx_hash", PGC_TEXT, G_MAIN},
    {"task_status", PGC_TEXT, G_MAIN},
    {"task_error", PGC_TEXT, G_MAIN},
    {"is_accepted", PGC_BOOL, G_MAIN},
    {"is_imua", PGC_BOOL, G_MAIN},
    {"_owner", PGC_TEXT, G_MAIN},
    {"_chain_id", PGC_TEXT, G_MAIN},
};

/* TaskItem columns, after a prefix that differs per query. */
#define TASK_ITEM_SQL                                                                                        \
    "t.task_id, t.task_number, t.task_opx_cost, t.execution_timestamp, t.execution_tx_hash, "                \
    "t.task_performer_id, to_jsonb(t.task_attester_ids)::text, t.state::text, t.task_error, t.is_accepted, " \
    "to_jsonb(t.converted_arguments)::text, j.created_chain_id, t.task_id::text "
#define TASK_ITEM_COLS_LIST                                                                                  \
    {"task_id", PGC_INT, G_SUB}, {"task_number", PGC_INT, G_SUB}, {"task_opx_cost", PGC_NUM, G_SUB},         \
        {"execution_timestamp", PGC_TS, G_SUB}, {"execution_tx_hash", PGC_TEXT, G_SUB},                      \
        {"task_performer_id", PGC_INT, G_SUB}, {"task_attester_ids", PGC_JSON, G_SUB},                       \
        {"task_status", PGC_TEXT, G_SUB}, {"task_error", PGC_TEXT, G_SUB}, {"is_accepted", PGC_BOOL, G_SUB}, \
        {"converted_arguments", PGC_JSON, G_SUB}, {"_chain_id", PGC_TEXT, G_SUB},                            \
    {                                                                                                        \
        "key", PGC_TEXT, 0                                                                                   \
    }

/* A per-job list (JOBCHK_COL_* first). */
static const struct tgx_pg_query Q_TASKS_BY_JOB = {
    QID_TASKS_BY_JOB, "tgx_tasks_by_job",
    "SELECT j.job_id IS NOT NULL, u.user_address, " TASK_ITEM_SQL
    "FROM (SELECT 1) d LEFT JOIN tgx.jobs j ON j.job_id = $1::numeric "
    "LEFT JOIN tgx.users u ON u.user_id = j.user_id "
    "LEFT JOIN LATERAL (SELECT t.* FROM tgx.tasks t WHERE t.job_id = j.job_id AND t.task_id < $2::bigint "
    "  ORDER BY t.task_id DESC LIMIT $3::integer) t ON true "
    "ORDER BY t.task_id DESC",
    3};
static const struct tgx_pgcol TASKS_BY_JOB_COLS[] = {
    {"found", PGC_BOOL, 0},
    {"owner", PGC_TEXT, 0},
    TASK_ITEM_COLS_LIST,
};
enum { TBJ_COL_KEY = 14 };

static const struct tgx_pg_query Q_TASKS_RECENT = {
    QID_TASKS_RECENT, "tgx_tasks_recent",
    "SELECT t.task_id, t.task_number, t.job_id::text, t.task_definition_id, t.created_at, t.task_opx_cost, "
    "  t.execution_timestamp, t.execution_tx_hash, t.task_performer_id, to_jsonb(t.task_attester_ids)::text, "
    "  t.state::text, t.task_error, t.is_imua, j.created_chain_id, t.task_id::text "
    "FROM tgx.tasks t JOIN tgx.jobs j ON j.job_id = t.job_id JOIN tgx.users u ON u.user_id = j.user_id "
    "WHERE ($1::text IS NULL OR u.user_address = $1::text) AND t.task_id < $2::bigint "
    "ORDER BY t.task_id DESC LIMIT $3::integer",
    3};
static const struct tgx_pgcol RECENT_COLS[] = {
    {"task_id", PGC_INT, G_MAIN},
    {"task_number", PGC_INT, G_MAIN},
    {"job_id", PGC_TEXT, G_MAIN},
    {"task_definition_id", PGC_INT, G_MAIN},
    {"created_at", PGC_TS, G_MAIN},
    {"task_opx_cost", PGC_NUM, G_MAIN},
    {"execution_timestamp", PGC_TS, G_MAIN},
    {"execution_tx_hash", PGC_TEXT, G_MAIN},
    {"task_performer_id", PGC_INT, G_MAIN},
    {"task_attester_ids", PGC_JSON, G_MAIN},
    {"task_status", PGC_TEXT, G_MAIN},
    {"task_error", PGC_TEXT, G_MAIN},
    {"is_imua", PGC_BOOL, G_MAIN},
    {"_chain_id", PGC_TEXT, G_MAIN},
    {"key", PGC_TEXT, 0},
};
enum { RECENT_COL_KEY = 14 };

/*
 * Task groups: a page of jobs (LIMIT $n jobs) and up to 1000 newest tasks of each, one row per
 * task (a job without tasks gives one row with NULL task columns; an unknown user one row with
 * found false).
 */
#define TASK_GROUPS_TAIL_SQL                                                                                 \
    "LEFT JOIN LATERAL (SELECT t.* FROM tgx.tasks t WHERE t.job_id = j.job_id "                              \
    "  ORDER BY t.task_id DESC LIMIT 1000) t ON true "                                                       \
    "ORDER BY j.created_at DESC, j.job_id DESC, t.task_id DESC"
static const struct tgx_pg_query Q_TASK_GROUPS_BY_USER = {
    QID_TASK_GROUPS_BY_USER, "tgx_task_groups_by_user",
    "SELECT u.user_id IS NOT NULL, j.job_id::text, j.created_at::text || '|' || "
    "j.job_id::text, " TASK_ITEM_SQL "FROM (SELECT 1) d LEFT JOIN tgx.users u ON u.user_address = $1 "
    "LEFT JOIN LATERAL (SELECT j.* FROM tgx.jobs j WHERE j.user_id = u.user_id "
    "  AND (j.created_at, j.job_id) < ($2::timestamptz, $3::numeric) "
    "  ORDER BY j.created_at DESC, j.job_id DESC LIMIT $4::integer) j ON true " TASK_GROUPS_TAIL_SQL,
    4};
static const struct tgx_pg_query Q_TASK_GROUPS_BY_SAFE = {
    QID_TASK_GROUPS_BY_SAFE, "tgx_task_groups_by_safe",
    "SELECT true, j.job_id::text, j.created_at::text || '|' || j.job_id::text, " TASK_ITEM_SQL
    "FROM (SELECT j.* FROM tgx.jobs j JOIN tgx.users u ON u.user_id = j.user_id "
    "  WHERE j.safe_address = $1 AND ($2::text IS NULL OR u.user_address = $2::text) "
    "  AND (j.created_at, j.job_id) < ($3::timestamptz, $4::numeric) "
    "  ORDER BY j.created_at DESC, j.job_id DESC LIMIT $5::integer) j " TASK_GROUPS_TAIL_SQL,
    5};
static const struct tgx_pgcol TASK_GROUP_COLS[] = {
    {"found", PGC_BOOL, 0},
    {"job_id", PGC_TEXT, 0},
    {"group_key", PGC_TEXT, 0},
    TASK_ITEM_COLS_LIST,
};
enum { TG_COL_FOUND, TG_COL_JOB, TG_COL_KEY, TG_COL_TASK };

static const struct tgx_pg_query Q_TASK_CREATE = {
    QID_TASK_CREATE, "tgx_task_create", "SELECT tgx.create_task($1::numeric, $2::integer, $3::boolean, $4)",
    4};

static const struct tgx_pg_query Q_TASK_EXECUTION = {
    QID_TASK_EXECUTION, "tgx_task_execution",
    "SELECT tgx.record_task_execution($1::bigint, $2::bigint, $3::timestamptz, $4, $5, $6::float8)", 6};

/* --- keepers ---------------------------------------------------------------------------------- */

static const struct tgx_pg_query Q_KEEPER_CREATE = {
    QID_KEEPER_CREATE, "tgx_keeper_create",
    "WITH ins AS (INSERT INTO tgx.keepers (keeper_address, keeper_name, email_id, rewards_address, on_imua) "
    "  VALUES (lower($1), coalesce($2, ''), $3, lower($4), coalesce($5::boolean, false)) "
    "  ON CONFLICT (keeper_address) DO NOTHING RETURNING keeper_id) "
    "SELECT ins.keeper_id, false FROM ins "
    "UNION ALL SELECT k.keeper_id, true FROM tgx.keepers k "
    "WHERE k.keeper_address = lower($1) AND NOT EXISTS (SELECT 1 FROM ins)",
    5};
static const struct tgx_pg_query Q_KEEPER_UPSERT = {
    QID_KEEPER_UPSERT, "tgx_keeper_upsert",
    "INSERT INTO tgx.keepers AS k (keeper_address, keeper_name, email_id, rewards_address, on_imua) "
    "VALUES (lower($1), coalesce($2, ''), $3, lower($4), coalesce($5::boolean, false)) "
    "ON CONFLICT (keeper_address) DO UPDATE SET "
    "  keeper_name = CASE WHEN EXCLUDED.keeper_name <> '' THEN EXCLUDED.keeper_name ELSE k.keeper_name END, "
    "  email_id = coalesce($3, k.email_id), rewards_address = coalesce(lower($4), k.rewards_address), "
    "  on_imua = coalesce($5::boolean, k.on_imua) "
    "RETURNING k.keeper_id, k.xmax::text <> '0'",
    5};
enum { KREG_COL_ID, KREG_COL_EXISTED };

static const struct tgx_pg_query Q_KEEPERS_PERFORMERS = {
    QID_KEEPERS_PERFORMERS, "tgx_keepers_performers",
    "SELECT k.keeper_id, k.keeper_address, k.keeper_id::text FROM tgx.keepers k "
    "WHERE k.registered AND k.whitelisted AND k.keeper_id > $1::bigint ORDER BY k.keeper_id LIMIT "
    "$2::integer",
    2};
static const struct tgx_pgcol PERFORMER_COLS[] = {
    {"keeper_id", PGC_INT, G_MAIN}, {"keeper_address", PGC_TEXT, G_MAIN}, {"key", PGC_TEXT, 0}};
enum { PERF_COL_KEY = 2 };

static const struct tgx_pg_query Q_KEEPER_GET = {QID_KEEPER_GET, "tgx_keeper_get",
                                                 "SELECT k.keeper_id, k.keeper_name, k.keeper_address, "
                                                 "k.consensus_address, k.registered_tx, k.operator_id, "
                                                 "  k.rewards_address, k.rewards_booster, k.voting_power, "
                                                 "k.keeper_points, k.connection_address, k.peer_id, "
                                                 "  k.whitelisted, k.registered, k.online, k.version, "
                                                 "k.no_executed_tasks, k.no_attested_tasks, k.chat_id, "
                                                 "  k.email_id, k.last_checked_in, k.on_imua, k.uptime "
                                                 "FROM tgx.keepers k WHERE k.keeper_id = $1::bigint",
                                                 1};
static const struct tgx_pgcol KEEPER_COLS[] = {
    {"keeper_id", PGC_INT, G_MAIN},
    {"keeper_name", PGC_TEXT, G_MAIN},
    {"keeper_address", PGC_TEXT, G_MAIN},
    {"consensus_address", PGC_TEXT, G_MAIN},
    {"registered_tx", PGC_TEXT, G_MAIN},
    {"operator_id", PGC_INT, G_MAIN},
    {"rewards_address", PGC_TEXT, G_MAIN},
    {"rewards_booster", PGC_NUM, G_MAIN},
    {"voting_power", PGC_INT, G_MAIN},
    {"keeper_points", PGC_NUM, G_MAIN},
    {"connection_address", PGC_TEXT, G_MAIN},
    {"peer_id", PGC_TEXT, G_MAIN},
    {"whitelisted", PGC_BOOL, G_MAIN},
    {"registered", PGC_BOOL, G_MAIN},
    {"online", PGC_BOOL, G_MAIN},
    {"version", PGC_TEXT, G_MAIN},
    {"no_executed_tasks", PGC_INT, G_MAIN},
    {"no_attested_tasks", PGC_INT, G_MAIN},
    {"chat_id", PGC_INT, G_MAIN},
    {"email_id", PGC_TEXT, G_MAIN},
    {"last_checked_in", PGC_TS, G_MAIN},
    {"on_imua", PGC_BOOL, G_MAIN},
    {"uptime", PGC_INT, G_MAIN},
};

static const struct tgx_pg_query Q_KEEPER_INCREMENT = {
    QID_KEEPER_INCREMENT, "tgx_keeper_increment",
    "UPDATE tgx.keepers k SET no_executed_tasks = k.no_executed_tasks + 1 WHERE k.keeper_id = $1::bigint "
    "RETURNING k.no_executed_tasks",
    1};
static const struct tgx_pg_query Q_KEEPER_TASK_COUNT = {
    QID_KEEPER_TASK_COUNT, "tgx_keeper_task_count",
    "SELECT k.no_executed_tasks FROM tgx.keepers k WHERE k.keeper_id = $1::bigint", 1};

/* One row: whether the task and the keeper exist, the task's cost and the keeper's new points. */
static const struct tgx_pg_query Q_KEEPER_ADD_POINTS = {
    QID_KEEPER_ADD_POINTS, "tgx_keeper_add_points",
    "WITH t AS (SELECT t.task_id, t.task_opx_cost FROM tgx.tasks t WHERE t.task_id = $2::bigint), "
    "k AS (UPDATE tgx.keepers k SET keeper_points = k.keeper_points + t.task_opx_cost FROM t "
    "      WHERE k.keeper_id = $1::bigint RETURNING k.keeper_points) "
    "SELECT EXISTS (SELECT 1 FROM t), EXISTS (SELECT 1 FROM tgx.keepers x WHERE x.keeper_id = $1::bigint), "
    "  t.task_id, t.task_opx_cost, k.keeper_points "
    "FROM (SELECT 1) d LEFT JOIN t ON true LEFT JOIN k ON true",
    2};
static const struct tgx_pgcol ADD_POINTS_COLS[] = {
    {"task_found", PGC_BOOL, 0},   {"keeper_found", PGC_BOOL, 0},      {"task_id", PGC_INT, G_MAIN},
    {"task_fee", PGC_NUM, G_MAIN}, {"keeper_points", PGC_NUM, G_MAIN},
};
enum { ADDP_COL_TASK_FOUND, ADDP_COL_KEEPER_FOUND };

static const struct tgx_pg_query Q_KEEPER_POINTS = {
    QID_KEEPER_POINTS, "tgx_keeper_points",
    "SELECT k.keeper_points FROM tgx.keepers k WHERE k.keeper_id = $1::bigint", 1};
static const struct tgx_pgcol POINTS_COLS[] = {{"keeper_points", PGC_NUM, G_MAIN}};

static const struct tgx_pg_query Q_KEEPER_CHAT_ID = {
    QID_KEEPER_CHAT_ID, "tgx_keeper_chat_id",
    "UPDATE tgx.keepers k SET chat_id = $2::bigint WHERE k.keeper_address = lower($1) RETURNING k.keeper_id",
    2};

static const struct tgx_pg_query Q_KEEPER_COM_INFO = {
    QID_KEEPER_COM_INFO, "tgx_keeper_com_info",
    "SELECT k.chat_id, k.keeper_name, k.email_id FROM tgx.keepers k WHERE k.keeper_id = $1::bigint", 1};
static const struct tgx_pgcol COM_INFO_COLS[] = {
    {"chat_id", PGC_INT, G_MAIN}, {"keeper_name", PGC_TEXT, G_MAIN}, {"email_id", PGC_TEXT, G_MAIN}};

#define KEEPER_BOARD_SQL                                                                                     \
    "SELECT k.keeper_id, k.keeper_address, k.keeper_name, k.no_executed_tasks, k.no_attested_tasks, "        \
    "k.keeper_points, k.on_imua, k.keeper_points::text || '|' || k.keeper_id FROM tgx.keepers k "
static const struct tgx_pg_query Q_KEEPERS_BOARD = {
    QID_KEEPERS_BOARD, "tgx_keepers_board",
    KEEPER_BOARD_SQL
    "WHERE k.registered AND k.whitelisted AND ($1::boolean IS NULL OR k.on_imua = $1::boolean) "
    "AND (k.keeper_points, k.keeper_id) < ($2::float8, $3::bigint) "
    "ORDER BY k.keeper_points DESC, k.keeper_id DESC LIMIT $4::integer",
    4};
static const struct tgx_pg_query Q_KEEPER_BOARD_ENTRY = {
    QID_KEEPER_BOARD_ENTRY, "tgx_keeper_board_entry",
    KEEPER_BOARD_SQL "WHERE k.registered AND ((k.keeper_address = lower($1::text)) "
                     "OR ($1::text IS NULL AND k.keeper_name = $2::text)) ORDER BY k.keeper_id LIMIT 1",
    2};
/* G_MAIN: the board; G_SUB: the search answer (no on_imua, as the original) */
static const struct tgx_pgcol KEEPER_BOARD_COLS[] = {
    {"keeper_id", PGC_INT, G_MAIN | G_SUB},
    {"keeper_address", PGC_TEXT, G_MAIN | G_SUB},
    {"keeper_name", PGC_TEXT, G_MAIN | G_SUB},
    {"no_executed_tasks", PGC_INT, G_MAIN | G_SUB},
    {"no_attested_tasks", PGC_INT, G_MAIN | G_SUB},
    {"keeper_points", PGC_NUM, G_MAIN | G_SUB},
    {"on_imua", PGC_BOOL, G_MAIN},
    {"key", PGC_TEXT, 0},
};
enum { KBOARD_COL_KEY = 7 };

/* --- inspection ------------------------------------------------------------------------------- */

static const struct tgx_pg_query Q_GAUGES = {
    QID_GAUGES, "tgx_gauges",
    "WITH q AS (SELECT s.state::text AS state, s.tasks FROM tgx.queue_status s) "
    "SELECT (SELECT q.tasks FROM q WHERE q.state = 'scheduled'), (SELECT q.tasks FROM q WHERE q.state = "
    "'pending'), "
    "  (SELECT q.tasks FROM q WHERE q.state = 'assigned'), (SELECT q.tasks FROM q WHERE q.state = "
    "'running'), "
    "  (SELECT q.tasks FROM q WHERE q.state = 'attesting'), "
    "  (SELECT count(*) FROM tgx.keepers k WHERE k.online), "
    "  (SELECT count(*) FROM tgx.keepers k WHERE k.online AND k.whitelisted AND k.registered AND NOT "
    "k.draining), "
    "  (SELECT coalesce(extract(epoch FROM now() - min(s.next_fire_at)), 0) FROM tgx.time_schedules s "
    "   WHERE s.next_fire_at <= now()), "
    "  (SELECT count(*) FROM tgx.time_schedules s WHERE s.next_fire_at <= now())",
    0};
enum { GAUGE_COL_LAG = 7, GAUGE_COL_DUE = 8, GAUGE_COL_ONLINE = 5, GAUGE_COL_ELIGIBLE = 6 };

/* =============================================================================================
 * Plumbing: errors, running a query, pages
 * ============================================================================================= */

void tgx_store_list_cleanup(struct tgx_store_list *l)
{
    json_decref(l->items);
    free(l->next);
    l->items = NULL;
    l->next = NULL;
}

void tgx_store_free(struct tgx_store *st)
{
    if (st != NULL)
        st->ops->destroy(st);
}

void tgx_store_err_set(struct tgx_store_err *err, enum tgx_store_status status, const char *field,
                       const char *fmt, ...)
{
    memset(err, 0, sizeof *err);
    err->status = status;
    snprintf(err->field, sizeof err->field, "%s", field != NULL ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

/* The status of a PostgreSQL error (SQLSTATE mapping of the REST contract). */
static enum tgx_store_status status_of(const struct tgx_pool_error *pe)
{
    const char *s = pe->sqlstate;
    if (pe->connection)
        return TGX_STORE_UNAVAILABLE;
    if (strncmp(s, "22", 2) == 0 || strcmp(s, "23514") == 0 || strcmp(s, "23502") == 0 ||
        strcmp(s, "23503") == 0)
        return TGX_STORE_BAD_INPUT;
    if (strcmp(s, "23505") == 0 || strcmp(s, "55000") == 0 || strcmp(s, "40001") == 0 ||
        strcmp(s, "40P01") == 0)
        return TGX_STORE_CONFLICT;
    if (strcmp(s, "P0002") == 0)
        return TGX_STORE_NOT_FOUND;
    if (strcmp(s, "42501") == 0)
        return TGX_STORE_FORBIDDEN;
    if (strcmp(s, "57014") == 0 || strncmp(s, "08", 2) == 0 || strcmp(s, "57P01") == 0)
        return TGX_STORE_UNAVAILABLE;
    return TGX_STORE_FAILED;
}

/* Fill ERR from a failed query on C (QUERY names it in the log). */
static void err_from_pool(struct tgx_store_err *err, const struct tgx_pool_error *pe, const char *query)
{
    memset(err, 0, sizeof *err);
    err->status = status_of(pe);
    snprintf(err->field, sizeof err->field, "%s", pe->column);
    snprintf(err->detail, sizeof err->detail, "%s", pe->detail);
    snprintf(err->hint, sizeof err->hint, "%s", pe->hint);
    switch (err->status) {
    case TGX_STORE_FAILED:
        tgx_log_error("store", "%s failed: %s%s%s (SQLSTATE %s)", query, pe->message,
                      pe->detail[0] ? ": " : "", pe->detail, pe->sqlstate);
        snprintf(err->message, sizeof err->message, "internal server error");
        err->detail[0] = err->hint[0] = '\0';
        break;
    case TGX_STORE_UNAVAILABLE:
        tgx_log_warning("store", "%s: %s", query, pe->message);
        snprintf(err->message, sizeof err->message, "%s",
                 strcmp(pe->sqlstate, "57014") == 0 ? "the database did not answer in time"
                                                    : "the database is not available");
        err->detail[0] = err->hint[0] = '\0';
        break;
    default:
        snprintf(err->message, sizeof err->message, "%s", pe->message);
        break;
    }
}

/*
 * Borrow a connection of ST, run Q with PARAMS and FN, give the connection back.  0, or a
 * negative enum tgx_err with ERR filled (also when FN fails: FN fills ERR then).
 */
static int run(struct tgx_store *st, const struct tgx_pg_query *q, const char *const *params,
               tgx_db_result_fn fn, void *arg, struct tgx_store_err *err)
{
    struct pgstore *ps = st->impl;
    struct tgx_pool_conn *c;
    struct tgx_pool_error pe;
    int rc = tgx_pool_borrow(ps->pool, &c, &pe);
    if (rc < 0) {
        if (rc == -TGX_ERR_STATE)
            tgx_store_err_set(err, TGX_STORE_BUSY, NULL,
                              "the server is busy: no database connection is free");
        else
            tgx_store_err_set(err, TGX_STORE_UNAVAILABLE, NULL, "the database is not available");
        return rc;
    }
    rc = tgx_pool_query(c, q, params, fn, arg);
    if (rc == -TGX_ERR_DB)
        err_from_pool(err, tgx_pool_last_error(c), q->name);
    else if (rc < 0 && err->status == TGX_STORE_OK)
        tgx_store_err_set(err, TGX_STORE_FAILED, NULL, "internal server error");
    tgx_pool_return(ps->pool, c);
    return rc;
}

/* State of a query whose result becomes one record (or nothing: NOT_FOUND). */
struct one_ctx {
    const struct tgx_pgcol *cols;
    size_t ncols;
    unsigned groups;
    json_t *out;
    struct tgx_store_err *err;
    const char *what; /* "user", ... for the NOT_FOUND message */
};

static int one_cb(const PGresult *res, void *arg)
{
    struct one_ctx *c = arg;
    if (PQntuples(res) == 0) {
        tgx_store_err_set(c->err, TGX_STORE_NOT_FOUND, NULL, "%s not found", c->what);
        return -TGX_ERR_NOTFOUND;
    }
    c->out = tgx_pg_object(res, 0, c->cols, c->ncols, c->groups);
    if (c->out == NULL) {
        tgx_store_err_set(c->err, TGX_STORE_FAILED, NULL, "internal server error");
        return -TGX_ERR_NOMEM;
    }
    return 0;
}

/* Run Q and turn its first row into *OUT (NOT_FOUND "<what> not found" when there is none). */
static int run_one(struct tgx_store *st, const struct tgx_pg_query *q, const char *const *params,
                   const struct tgx_pgcol *cols, size_t ncols, unsigned groups, const char *what,
                   json_t **out, struct tgx_store_err *err)
{
    struct one_ctx c = {cols, ncols, groups, NULL, err, what};
    *out = NULL;
    int rc = run(st, q, params, one_cb, &c, err);
    if (rc < 0) {
        json_decref(c.out);
        return rc;
    }
    *out = c.out;
    return 0;
}

/* The first column of the first row as an int64 (NOT_FOUND when there is no row). */
struct int_ctx {
    int64_t value;
    bool found;
};

static int int_cb(const PGresult *res, void *arg)
{
    struct int_ctx *c = arg;
    c->found = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0);
    if (c->found)
        c->value = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    return 0;
}

static int run_int(struct tgx_store *st, const struct tgx_pg_query *q, const char *const *params,
                   const char *what, int64_t *out, struct tgx_store_err *err)
{
    struct int_ctx c = {0, false};
    int rc = run(st, q, params, int_cb, &c, err);
    if (rc < 0)
        return rc;
    if (!c.found) {
        tgx_store_err_set(err, TGX_STORE_NOT_FOUND, NULL, "%s not found", what);
        return -TGX_ERR_NOTFOUND;
    }
    if (out != NULL)
        *out = c.value;
    return 0;
}

static int limit_of(const struct tgx_store_page *page)
{
    return page->limit < 1 ? 1 : page->limit > TGX_STORE_MAX_LIMIT ? TGX_STORE_MAX_LIMIT : page->limit;
}

/* Check that S is made only of characters of ALLOWED and is 1..MAX long. */
static bool made_of(const char *s, size_t n, const char *allowed, size_t max)
{
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\0' || strchr(allowed, s[i]) == NULL)
            return false;
    return true;
}

#define TS_CHARS    "0123456789-:. +"
#define DIGITS      "0123456789"
#define FLOAT_CHARS "0123456789.-+eEInfinityNa"
#define ADDR_CHARS  "0123456789abcdefx"

/*
 * The cursor key of a keyset-paged list: "A|B", or "A" when ALLOWED2 is NULL.  ALLOWED1/ALLOWED2
 * are the characters each part may hold; DEF1/DEF2 the sentinels of the first page.
 */
struct cursor_fmt {
    const char *allowed1, *def1;
    const char *allowed2, *def2;
};

static const struct cursor_fmt CUR_ID_DESC = {DIGITS, ID_MAX, NULL, NULL};          /* id, newest first */
static const struct cursor_fmt CUR_ID_ASC = {DIGITS, "0", NULL, NULL};              /* id, oldest first */
static const struct cursor_fmt CUR_JOB = {TS_CHARS, TS_MAX, DIGITS, UINT_MAX_TEXT}; /* created_at|job_id */
static const struct cursor_fmt CUR_SAFE = {TS_CHARS, TS_MAX, ADDR_CHARS, ADDR_MAX}; /* created_at|address */
static const struct cursor_fmt CUR_POINTS = {FLOAT_CHARS, POINTS_MAX, DIGITS, ID_MAX}; /* points|id */
static const struct cursor_fmt CUR_DUE = {TS_CHARS, "-infinity", DIGITS, "-1"}; /* next_fire_at|job_id */

/*
 * The parameters of one page of a list query: the query's leading arguments, then the cursor's
 * parts and the limit + 1 (to see whether more follow), as VALUES.
 */
struct page_params {
    char limit[16];
    char part1[128];
    char part2[128];
    const char *values[8]; /* ARGS..., part1, [part2], limit */
};

/*
 * Fill P for PAGE: NARGS leading ARGS, then PAGE's cursor key split by FMT (the sentinels without a
 * cursor) and the limit.  BAD_INPUT field "cursor" when the key is malformed.
 */
static int page_params(const struct tgx_store_page *page, const struct cursor_fmt *fmt,
                       const char *const *args, size_t nargs, struct page_params *p,
                       struct tgx_store_err *err)
{
    assert(nargs + 3 <= COUNT(p->values));
    snprintf(p->limit, sizeof p->limit, "%d", limit_of(page) + 1);
    if (page->after == NULL) {
        snprintf(p->part1, sizeof p->part1, "%s", fmt->def1);
        snprintf(p->part2, sizeof p->part2, "%s", fmt->def2 != NULL ? fmt->def2 : "");
    } else {
        const char *a = page->after;
        const char *bar = fmt->allowed2 != NULL ? strchr(a, '|') : NULL;
        size_t n1 = bar != NULL ? (size_t)(bar - a) : strlen(a);
        bool ok =
            made_of(a, n1, fmt->allowed1, sizeof p->part1 - 1) && (fmt->allowed2 == NULL) == (bar == NULL);
        if (ok && bar != NULL)
            ok = made_of(bar + 1, strlen(bar + 1), fmt->allowed2, sizeof p->part2 - 1);
        if (!ok) {
            tgx_store_err_set(err, TGX_STORE_BAD_INPUT, "cursor", "invalid cursor");
            return -TGX_ERR_INVAL;
        }
        snprintf(p->part1, sizeof p->part1, "%.*s", (int)n1, a);
        snprintf(p->part2, sizeof p->part2, "%s", bar != NULL ? bar + 1 : "");
    }
    size_t n = 0;
    for (size_t i = 0; i < nargs; i++)
        p->values[n++] = args[i];
    p->values[n++] = p->part1;
    if (fmt->allowed2 != NULL)
        p->values[n++] = p->part2;
    p->values[n] = p->limit;
    return 0;
}

/* A keyset-paged list query: the statement, its cursor, and how its rows become records. */
struct list_query {
    const struct tgx_pg_query *q;
    const struct cursor_fmt *cursor;
    const struct tgx_pgcol *cols; /* a row becomes the record of these columns of GROUPS ... */
    size_t ncols;
    unsigned groups;
    json_t *(*build)(const PGresult *res, int row); /* ... or BUILD's record when not NULL */
    int key_col;  /* the cursor key of a row: the last kept row's is the next cursor */
    bool per_job; /* starts with the JOBCHK_COL_* columns: NOT_FOUND / FORBIDDEN before the rows */
};

struct list_ctx {
    const struct list_query *lq;
    int limit;
    const char *owner; /* per-job lists: the key's owner, NULL for an admin */
    struct tgx_store_list *out;
    struct tgx_store_err *err;
};

/* Check the job of a per-job list (the first row's JOBCHK_COL_* columns). */
static int job_check(const PGresult *res, const struct list_ctx *c)
{
    if (PQntuples(res) == 0 || PQgetvalue(res, 0, JOBCHK_COL_FOUND)[0] != 't') {
        tgx_store_err_set(c->err, TGX_STORE_NOT_FOUND, NULL, "job not found");
        return -TGX_ERR_NOTFOUND;
    }
    if (c->owner != NULL && strcmp(PQgetvalue(res, 0, JOBCHK_COL_OWNER), c->owner) != 0) {
        tgx_store_err_set(c->err, TGX_STORE_FORBIDDEN, NULL, "forbidden: the job belongs to another owner");
        return -TGX_ERR_NOTFOUND;
    }
    return 0;
}

static int list_cb(const PGresult *res, void *arg)
{
    struct list_ctx *c = arg;
    const struct list_query *lq = c->lq;
    int n = PQntuples(res);
    if (lq->per_job) {
        int rc = job_check(res, c);
        if (rc < 0)
            return rc;
    }
    c->out->items = json_array();
    if (c->out->items == NULL)
        goto oom;
    int kept = 0;
    int last = -1;
    for (int i = 0; i < n; i++) {
        if (kept == c->limit) {
            /* one row more than asked: the last kept row's key is the next cursor */
            if (last >= 0 && !PQgetisnull(res, last, lq->key_col)) {
                c->out->next = strdup(PQgetvalue(res, last, lq->key_col));
                if (c->out->next == NULL)
                    goto oom;
            }
            break;
        }
        json_t *rec =
            lq->build != NULL ? lq->build(res, i) : tgx_pg_object(res, i, lq->cols, lq->ncols, lq->groups);
        if (rec == NULL || json_array_append_new(c->out->items, rec) < 0)
            goto oom;
        kept++;
        last = i;
    }
    return 0;
oom:
    tgx_store_err_set(c->err, TGX_STORE_FAILED, NULL, "internal server error");
    return -TGX_ERR_NOMEM;
}

/*
 * Run the page PAGE of list LQ with the NARGS leading ARGS into *OUT (emptied on failure).  OWNER:
 * the key's owner for a per-job list (NULL for an admin or another list).
 */
static int run_list(struct tgx_store *st, const struct list_query *lq, const char *const *args, size_t nargs,
                    const char *owner, const struct tgx_store_page *page, struct tgx_store_list *out,
                    struct tgx_store_err *err)
{
    struct page_params p;
    memset(out, 0, sizeof *out);
    if (page_params(page, lq->cursor, args, nargs, &p, err) < 0)
        return -TGX_ERR_INVAL;
    struct list_ctx c = {lq, limit_of(page), owner, out, err};
    int rc = run(st, lq->q, p.values, list_cb, &c, err);
    if (rc < 0)
        tgx_store_list_cleanup(out);
    return rc;
}

/* The decimal text of ID, the text form of a bigint parameter. */
static void id_param(int64_t id, char out[24])
{
    snprintf(out, 24, "%lld", (long long)id);
}

/* "\x<hex>" of a SHA-256, the text form of a bytea parameter. */
static void bytea_param(const uint8_t hash[32], char out[67])
{
    out[0] = '\\';
    out[1] = 'x';
    tgx_hex_encode(hash, 32, out + 2);
}

/* =============================================================================================
 * Operations
 * ============================================================================================= */

static void pg_destroy(struct tgx_store *st)
{
    free(st->impl);
    free(st);
}

static int pg_ping(struct tgx_store *st, struct tgx_store_err *err)
{
    return run(st, &Q_PING, NULL, NULL, NULL, err);
}

/* --- keys --- */

struct auth_ctx {
    struct tgx_store_key *out;
    bool found;
};

static int auth_cb(const PGresult *res, void *arg)
{
    struct auth_ctx *c = arg;
    if (PQntuples(res) == 0)
        return 0;
    c->found = true;
    c->out->key_id = strtoll(PQgetvalue(res, 0, KEY_AUTH_ID), NULL, 10);
    snprintf(c->out->owner, sizeof c->out->owner, "%s", PQgetvalue(res, 0, KEY_AUTH_OWNER));
    c->out->is_admin = PQgetvalue(res, 0, KEY_AUTH_ADMIN)[0] == 't';
    c->out->rate_limit = atoi(PQgetvalue(res, 0, KEY_AUTH_RATE));
    return 0;
}

static int pg_key_authenticate(struct tgx_store *st, const uint8_t hash[32], struct tgx_store_key *out,
                               struct tgx_store_err *err)
{
    char h[67];
    bytea_param(hash, h);
    const char *params[] = {h};
    memset(out, 0, sizeof *out);
    struct auth_ctx c = {out, false};
    int rc = run(st, &Q_KEY_AUTH, params, auth_cb, &c, err);
    if (rc < 0)
        return rc;
    if (!c.found) {
        tgx_store_err_set(err, TGX_STORE_NOT_FOUND, NULL, "invalid or inactive API key");
        return -TGX_ERR_NOTFOUND;
    }
    return 0;
}

static int pg_key_create(struct tgx_store *st, const struct tgx_store_new_key *nk, json_t **out,
                         struct tgx_store_err *err)
{
    char h[67], rate[16];
    bytea_param(nk->hash, h);
    snprintf(rate, sizeof rate, "%d", nk->rate_limit);
    const char *params[] = {h, nk->hint, nk->owner, nk->is_admin ? "true" : "false", rate};
    return run_one(st, &Q_KEY_CREATE, params, KEY_COLS, COUNT(KEY_COLS), G_MAIN, "API key", out, err);
}

static int pg_key_update(struct tgx_store *st, const uint8_t hash[32], const struct tgx_store_key_change *ch,
                         json_t **out, struct tgx_store_err *err)
{
    char h[67], rate[16];
    bytea_param(hash, h);
    snprintf(rate, sizeof rate, "%d", ch->rate_limit);
    const char *params[] = {h,
                            ch->is_active < 0 ? NULL
                            : ch->is_active   ? "true"
                                              : "false",
                            ch->rate_limit > 0 ? rate : NULL};
    return run_one(st, &Q_KEY_UPDATE, params, KEY_COLS, COUNT(KEY_COLS), G_MAIN, "API key", out, err);
}

static int pg_key_delete(struct tgx_store *st, const uint8_t hash[32], struct tgx_store_err *err)
{
    char h[67];
    bytea_param(hash, h);
    const char *params[] = {h};
    return run_int(st, &Q_KEY_DELETE, params, "API key", NULL, err);
}

struct count_ctx {
    int n;
};

static int count_cb(const PGresult *res, void *arg)
{
    ((struct count_ctx *)arg)->n = PQntuples(res);
    return 0;
}

static int pg_key_delete_masked(struct tgx_store *st, const char *hint, const char *owner, int *deleted,
                                struct tgx_store_err *err)
{
    const char *params[] = {hint, owner};
    struct count_ctx c = {0};
    *deleted = 0;
    int rc = run(st, &Q_KEY_DELETE_MASKED, params, count_cb, &c, err);
    if (rc < 0)
        return rc;
    *deleted = c.n;
    if (c.n == 0) {
        tgx_store_err_set(err, TGX_STORE_NOT_FOUND, NULL, "API key not found");
        return -TGX_ERR_NOTFOUND;
    }
    return 0;
}

static const struct list_query L_KEYS_BY_OWNER = {.q = &Q_KEYS_BY_OWNER,
                                                  .cursor = &CUR_ID_DESC,
                                                  .cols = KEY_COLS,
                                                  .ncols = COUNT(KEY_COLS),
                                                  .groups = G_MAIN,
                                                  .key_col = KEY_COL_ID};

static int pg_keys_by_owner(struct tgx_store *st, const char *owner, const struct tgx_store_page *page,
                            struct tgx_store_list *out, struct tgx_store_err *err)
{
    const char *args[] = {owner};
    return run_list(st, &L_KEYS_BY_OWNER, args, COUNT(args), NULL, page, out, err);
}

/* --- users --- */

static int pg_user_get(struct tgx_store *st, const char *address, json_t **out, struct tgx_store_err *err)
{
    const char *params[] = {address};
    return run_one(st, &Q_USER_GET, params, USER_COLS, COUNT(USER_COLS), G_MAIN, "user", out, err);
}

static int pg_user_set_email(struct tgx_store *st, const char *address, const char *email,
                             struct tgx_store_err *err)
{
    const char *params[] = {address, email};
    int rc = run_int(st, &Q_USER_SET_EMAIL, params, "user", NULL, err);
    if (rc < 0 && err->status == TGX_STORE_BAD_INPUT && err->field[0] == '\0')
        snprintf(err->field, sizeof err->field, "email_id");
    return rc;
}

static const struct list_query L_SAFE_ADDRESSES = {.q = &Q_SAFE_ADDRESSES,
                                                   .cursor = &CUR_SAFE,
                                                   .cols = SAFE_COLS,
                                                   .ncols = COUNT(SAFE_COLS),
                                                   .groups = G_MAIN,
                                                   .key_col = SAFE_COL_KEY};

static int pg_safe_addresses(struct tgx_store *st, const char *address, const struct tgx_store_page *page,
                             struct tgx_store_list *out, struct tgx_store_err *err)
{
    const char *args[] = {address};
    return run_list(st, &L_SAFE_ADDRESSES, args, COUNT(args), NULL, page, out, err);
}

static const struct list_query L_USERS_BOARD = {.q = &Q_USERS_BOARD,
                                                .cursor = &CUR_POINTS,
                                                .cols = USER_BOARD_COLS,
                                                .ncols = COUNT(USER_BOARD_COLS),
                                                .groups = G_MAIN,
                                                .key_col = USER_BOARD_COL_KEY};

static int pg_users_board(struct tgx_store *st, const struct tgx_store_page *page, struct tgx_store_list *out,
                          struct tgx_store_err *err)
{
    return run_list(st, &L_USERS_BOARD, NULL, 0, NULL, page, out, err);
}

static int pg_user_board_entry(struct tgx_store *st, const char *address, json_t **out,
                               struct tgx_store_err *err)
{
    const char *params[] = {address};
    return run_one(st, &Q_USER_BOARD_ENTRY, params, USER_BOARD_COLS, COUNT(USER_BOARD_COLS), G_MAIN, "user",
                   out, err);
}

/* --- jobs --- */

static int pg_jobs_create(struct tgx_store *st, const char *owner, const char *body, const char *trace_id,
                          json_t **out, struct tgx_store_err *err)
{
    const char *params[] = {owner, body, trace_id};
    return run_one(st, &Q_JOBS_CREATE, params, CREATE_COLS, COUNT(CREATE_COLS), G_MAIN, "job", out, err);
}

static int pg_job_get(struct tgx_store *st, const char *job_id, json_t **out, struct tgx_store_err *err)
{
    const char *params[] = {job_id};
    return run_one(st, &Q_JOB_GET, params, JOB_COLS, COUNT(JOB_COLS), G_MAIN, "job", out, err);
}

/* A JobResponse: {"job_data": JobData, "<kind>_job_data": trigger sub-object}. */
static json_t *job_response(const PGresult *res, int row)
{
    int tdid = atoi(PQgetvalue(res, row, JOB_COL_TDID));
    unsigned kind = tdid == 3 || tdid == 4 ? G_EVENT : tdid == 5 || tdid == 6 ? G_COND : G_TIME;
    const char *name = kind == G_EVENT  ? "event_job_data"
                       : kind == G_COND ? "condition_job_data"
                                        : "time_job_data";
    json_t *data = tgx_pg_object(res, row, JOB_COLS, COUNT(JOB_COLS), G_MAIN);
    json_t *sub = tgx_pg_object(res, row, JOB_COLS, COUNT(JOB_COLS), G_SUB | kind);
    json_t *rec = json_object();
    if (data == NULL || sub == NULL || rec == NULL || json_object_set_new(rec, "job_data", data) < 0) {
        json_decref(data);
        json_decref(sub);
        json_decref(rec);
        return NULL;
    }
    if (json_object_set_new(rec, name, sub) < 0) {
        json_decref(rec);
        return NULL;
    }
    return rec;
}

static const struct list_query L_JOBS_BY_USER = {
    .q = &Q_JOBS_BY_USER, .cursor = &CUR_JOB, .build = job_response, .key_col = JOB_COL_KEY};
static const struct list_query L_JOBS_BY_SAFE = {
    .q = &Q_JOBS_BY_SAFE, .cursor = &CUR_JOB, .build = job_response, .key_col = JOB_COL_KEY};

static int pg_jobs_by_user(struct tgx_store *st, const char *address, const char *chain_id,
                           const struct tgx_store_page *page, struct tgx_store_list *out,
                           struct tgx_store_err *err)
{
    const char *args[] = {address, chain_id};
    return run_list(st, &L_JOBS_BY_USER, args, COUNT(args), NULL, page, out, err);
}

static int pg_jobs_by_safe(struct tgx_store *st, const char *safe, const char *owner,
                           const struct tgx_store_page *page, struct tgx_store_list *out,
                           struct tgx_store_err *err)
{
    const char *args[] = {safe, owner};
    return run_list(st, &L_JOBS_BY_SAFE, args, COUNT(args), NULL, page, out, err);
}

static const struct list_query L_JOB_TASK_FEES = {.q = &Q_JOB_TASK_FEES,
                                                  .cursor = &CUR_ID_DESC,
                                                  .cols = TASK_FEE_COLS,
                                                  .ncols = COUNT(TASK_FEE_COLS),
                                                  .groups = G_MAIN,
                                                  .key_col = FEE_COL_KEY,
                                                  .per_job = true};

static int pg_job_task_fees(struct tgx_store *st, const char *job_id, const char *owner,
                            const struct tgx_store_page *page, struct tgx_store_list *out,
                            struct tgx_store_err *err)
{
    const char *args[] = {job_id};
    /* a job without tasks gives one row with a NULL task: skip it by the task column */
    int rc = run_list(st, &L_JOB_TASK_FEES, args, COUNT(args), owner, page, out, err);
    if (rc == 0) {
        size_t i;
        json_t *v;
        json_array_foreach(out->items, i, v)
        {
            if (json_is_null(json_object_get(v, "task_id")) ||
                json_integer_value(json_object_get(v, "task_id")) == 0) {
                json_array_remove(out->items, i);
                break;
            }
        }
    }
    return rc;
}

static int pg_job_update(struct tgx_store *st, const char *owner, const char *job_id, const char *fields,
                         json_t **out, struct tgx_store_err *err)
{
    const char *params[] = {owner, job_id, fields};
    return run_one(st, &Q_JOB_UPDATE, params, JOB_UPDATE_COLS, COUNT(JOB_UPDATE_COLS), G_MAIN, "job", out,
                   err);
}

static int pg_job_set_status(struct tgx_store *st, const char *owner, const char *job_id, const char *status,
                             json_t **out, struct tgx_store_err *err)
{
    const char *params[] = {owner, job_id, status};
    return run_one(st, &Q_JOB_SET_STATUS, params, JOB_STATUS_COLS, COUNT(JOB_STATUS_COLS), G_MAIN, "job", out,
                   err);
}

static int pg_job_set_last_executed(struct tgx_store *st, const char *owner, const char *job_id,
                                    const char *at, const char *cost, json_t **out, struct tgx_store_err *err)
{
    const char *params[] = {owner, job_id, at, cost};
    int rc = run_one(st, &Q_JOB_SET_LAST_EXECUTED, params, JOB_LAST_COLS, COUNT(JOB_LAST_COLS), G_MAIN, "job",
                     out, err);
    if (rc < 0 && err->status == TGX_STORE_BAD_INPUT && err->field[0] == '\0')
        snprintf(err->field, sizeof err->field, "last_executed_at");
    return rc;
}

static int pg_job_delete(struct tgx_store *st, const char *owner, const char *job_id, int *cancelled,
                         struct tgx_store_err *err)
{
    const char *params[] = {owner, job_id};
    int64_t n = 0;
    int rc = run_int(st, &Q_JOB_DELETE, params, "job", &n, err);
    if (cancelled != NULL)
        *cancelled = (int)n;
    return rc;
}

/* --- tasks --- */

static int pg_task_get(struct tgx_store *st, int64_t task_id, json_t **out, struct tgx_store_err *err)
{
    char id[24];
    id_param(task_id, id);
    const char *params[] = {id};
    return run_one(st, &Q_TASK_GET, params, TASK_COLS, COUNT(TASK_COLS), G_MAIN, "task", out, err);
}

static const struct list_query L_TASKS_BY_JOB = {.q = &Q_TASKS_BY_JOB,
                                                 .cursor = &CUR_ID_DESC,
                                                 .cols = TASKS_BY_JOB_COLS,
                                                 .ncols = COUNT(TASKS_BY_JOB_COLS),
                                                 .groups = G_SUB,
                                                 .key_col = TBJ_COL_KEY,
                                                 .per_job = true};

static int pg_tasks_by_job(struct tgx_store *st, const char *job_id, const char *owner,
                           const struct tgx_store_page *page, struct tgx_store_list *out,
                           struct tgx_store_err *err)
{
    const char *args[] = {job_id};
    int rc = run_list(st, &L_TASKS_BY_JOB, args, COUNT(args), owner, page, out, err);
    if (rc == 0 && json_array_size(out->items) == 1 &&
        json_integer_value(json_object_get(json_array_get(out->items, 0), "task_id")) == 0)
        json_array_clear(out->items); /* the job has no task: its one row had NULL task columns */
    return rc;
}

static const struct list_query L_TASKS_RECENT = {.q = &Q_TASKS_RECENT,
                                                 .cursor = &CUR_ID_DESC,
                                                 .cols = RECENT_COLS,
                                                 .ncols = COUNT(RECENT_COLS),
                                                 .groups = G_MAIN,
                                                 .key_col = RECENT_COL_KEY};

static int pg_tasks_recent(struct tgx_store *st, const char *owner, const struct tgx_store_page *page,
                           struct tgx_store_list *out, struct tgx_store_err *err)
{
    const char *args[] = {owner};
    return run_list(st, &L_TASKS_RECENT, args, COUNT(args), NULL, page, out, err);
}

/* Task groups: consecutive rows of one job become {"job_id","tasks":[...]}; LIMIT counts jobs. */
struct groups_ctx {
    int limit;
    bool found;
    struct tgx_store_list *out;
    struct tgx_store_err *err;
};

static int groups_cb(const PGresult *res, void *arg)
{
    struct groups_ctx *c = arg;
    int n = PQntuples(res);
    c->out->items = json_array();
    if (c->out->items == NULL)
        goto oom;
    c->found = n > 0 && PQgetvalue(res, 0, TG_COL_FOUND)[0] == 't';
    json_t *tasks = NULL;
    int groups = 0;
    const char *cur = NULL;
    int last_group_row = -1;
    for (int i = 0; i < n; i++) {
        if (PQgetisnull(res, i, TG_COL_JOB))
            continue; /* a known user without jobs */
        const char *job = PQgetvalue(res, i, TG_COL_JOB);
        if (cur == NULL || strcmp(cur, job) != 0) {
            if (groups == c->limit) {
                c->out->next = strdup(PQgetvalue(res, last_group_row, TG_COL_KEY));
                if (c->out->next == NULL)
                    goto oom;
                break;
            }
            json_t *g = json_pack("{s:s, s:[]}", "job_id", job, "tasks");
            if (g == NULL || json_array_append_new(c->out->items, g) < 0)
                goto oom;
            tasks = json_object_get(g, "tasks");
            cur = job;
            groups++;
            last_group_row = i;
        }
        if (!PQgetisnull(res, i, TG_COL_TASK)) {
            json_t *t = tgx_pg_object(res, i, TASK_GROUP_COLS, COUNT(TASK_GROUP_COLS), G_SUB);
            if (t == NULL || json_array_append_new(tasks, t) < 0)
                goto oom;
        }
    }
    return 0;
oom:
    tgx_store_err_set(c->err, TGX_STORE_FAILED, NULL, "internal server error");
    return -TGX_ERR_NOMEM;
}

/* Run the page PAGE of task-group query Q with the NARGS leading ARGS; *FOUND from its first row. */
static int run_groups(struct tgx_store *st, const struct tgx_pg_query *q, const char *const *args,
                      size_t nargs, const struct tgx_store_page *page, struct tgx_store_list *out,
                      bool *found, struct tgx_store_err *err)
{
    struct page_params p;
    memset(out, 0, sizeof *out);
    if (page_params(page, &CUR_JOB, args, nargs, &p, err) < 0)
        return -TGX_ERR_INVAL;
    struct groups_ctx c = {limit_of(page), false, out, err};
    int rc = run(st, q, p.values, groups_cb, &c, err);
    if (rc < 0) {
        tgx_store_list_cleanup(out);
        return rc;
    }
    *found = c.found;
    return 0;
}

static int pg_task_groups_by_user(struct tgx_store *st, const char *address,
                                  const struct tgx_store_page *page, struct tgx_store_list *out,
                                  struct tgx_store_err *err)
{
    const char *args[] = {address};
    bool found;
    int rc = run_groups(st, &Q_TASK_GROUPS_BY_USER, args, COUNT(args), page, out, &found, err);
    if (rc == 0 && !found) {
        tgx_store_list_cleanup(out);
        tgx_store_err_set(err, TGX_STORE_NOT_FOUND, NULL, "user not found");
        return -TGX_ERR_NOTFOUND;
    }
    return rc;
}

static int pg_task_groups_by_safe(struct tgx_store *st, const char *safe, const char *owner,
                                  const struct tgx_store_page *page, struct tgx_store_list *out,
                                  struct tgx_store_err *err)
{
    const char *args[] = {safe, owner};
    bool found;
    int rc = run_groups(st, &Q_TASK_GROUPS_BY_SAFE, args, COUNT(args), page, out, &found, err);
    if (rc == 0 && !found && page->after == NULL) {
        tgx_store_list_cleanup(out);
        tgx_store_err_set(err, TGX_STORE_NOT_FOUND, NULL, "no jobs found for this safe address");
        return -TGX_ERR_NOTFOUND;
    }
    return rc;
}

static int pg_task_create(struct tgx_store *st, const char *job_id, int task_definition_id, int is_imua,
                          const char *trace_id, int64_t *task_id, struct tgx_store_err *err)
{
    char tdid[16];
    snprintf(tdid, sizeof tdid, "%d", task_definition_id);
    const char *params[] = {job_id, tdid, is_imua < 0 ? NULL : is_imua ? "true" : "false", trace_id};
    return run_int(st, &Q_TASK_CREATE, params, "task", task_id, err);
}

static int pg_task_record_execution(struct tgx_store *st, int64_t task_id,
                                    const struct tgx_store_execution *x, struct tgx_store_err *err)
{
    char id[24], performer[24];
    id_param(task_id, id);
    id_param(x->task_performer_id, performer);
    const char *params[] = {id,
                            x->task_performer_id != 0 ? performer : NULL,
                            x->execution_timestamp,
                            x->execution_tx_hash,
                            x->proof_of_task,
                            x->task_opx_cost};
    int rc = run(st, &Q_TASK_EXECUTION, params, NULL, NULL, err);
    if (rc < 0 && err->status == TGX_STORE_BAD_INPUT && err->field[0] == '\0')
        snprintf(err->field, sizeof err->field, "execution_timestamp");
    return rc;
}

/* --- keepers --- */

struct register_ctx {
    int64_t id;
    bool existed;
    bool found;
};

static int register_cb(const PGresult *res, void *arg)
{
    struct register_ctx *c = arg;
    c->found = PQntuples(res) > 0;
    if (c->found) {
        c->id = strtoll(PQgetvalue(res, 0, KREG_COL_ID), NULL, 10);
        c->existed = PQgetvalue(res, 0, KREG_COL_EXISTED)[0] == 't';
    }
    return 0;
}

static int pg_keeper_register(struct tgx_store *st, const struct tgx_store_keeper_form *f, int64_t *id,
                              bool *existed, struct tgx_store_err *err)
{
    const char *params[] = {f->keeper_address, f->keeper_name, f->email_id, f->rewards_address,
                            f->on_imua < 0 ? NULL
                            : f->on_imua   ? "true"
                                           : "false"};
    struct register_ctx c = {0, false, false};
    int rc = run(st, f->upsert ? &Q_KEEPER_UPSERT : &Q_KEEPER_CREATE, params, register_cb, &c, err);
    if (rc < 0) {
        if (err->status == TGX_STORE_BAD_INPUT && err->field[0] == '\0')
            snprintf(err->field, sizeof err->field, "email_id");
        return rc;
    }
    if (!c.found) {
        tgx_store_err_set(err, TGX_STORE_FAILED, NULL, "internal server error");
        return -TGX_ERR_DB;
    }
    *id = c.id;
    *existed = c.existed;
    return 0;
}

static const struct list_query L_KEEPERS_PERFORMERS = {.q = &Q_KEEPERS_PERFORMERS,
                                                       .cursor = &CUR_ID_ASC,
                                                       .cols = PERFORMER_COLS,
                                                       .ncols = COUNT(PERFORMER_COLS),
                                                       .groups = G_MAIN,
                                                       .key_col = PERF_COL_KEY};

static int pg_keepers_performers(struct tgx_store *st, const struct tgx_store_page *page,
                                 struct tgx_store_list *out, struct tgx_store_err *err)
{
    return run_list(st, &L_KEEPERS_PERFORMERS, NULL, 0, NULL, page, out, err);
}

/* Run Q, whose one parameter is keeper ID: its first row as the record of COLS into *OUT. */
static int keeper_record(struct tgx_store *st, const struct tgx_pg_query *q, const struct tgx_pgcol *cols,
                         size_t ncols, int64_t id, json_t **out, struct tgx_store_err *err)
{
    char k[24];
    id_param(id, k);
    const char *params[] = {k};
    return run_one(st, q, params, cols, ncols, G_MAIN, "keeper", out, err);
}

/* Run Q, whose one parameter is keeper ID: its one number into *COUNT. */
static int keeper_count(struct tgx_store *st, const struct tgx_pg_query *q, int64_t id, int64_t *count,
                        struct tgx_store_err *err)
{
    char k[24];
    id_param(id, k);
    const char *params[] = {k};
    return run_int(st, q, params, "keeper", count, err);
}

static int pg_keeper_get(struct tgx_store *st, int64_t id, json_t **out, struct tgx_store_err *err)
{
    return keeper_record(st, &Q_KEEPER_GET, KEEPER_COLS, COUNT(KEEPER_COLS), id, out, err);
}

static int pg_keeper_increment_tasks(struct tgx_store *st, int64_t id, int64_t *count,
                                     struct tgx_store_err *err)
{
    return keeper_count(st, &Q_KEEPER_INCREMENT, id, count, err);
}

static int pg_keeper_task_count(struct tgx_store *st, int64_t id, int64_t *count, struct tgx_store_err *err)
{
    return keeper_count(st, &Q_KEEPER_TASK_COUNT, id, count, err);
}

struct add_points_ctx {
    json_t *out;
    bool task_found, keeper_found;
};

static int add_points_cb(const PGresult *res, void *arg)
{
    struct add_points_ctx *c = arg;
    if (PQntuples(res) == 0)
        return 0;
    c->task_found = PQgetvalue(res, 0, ADDP_COL_TASK_FOUND)[0] == 't';
    c->keeper_found = PQgetvalue(res, 0, ADDP_COL_KEEPER_FOUND)[0] == 't';
    if (c->task_found && c->keeper_found) {
        c->out = tgx_pg_object(res, 0, ADD_POINTS_COLS, COUNT(ADD_POINTS_COLS), G_MAIN);
        if (c->out == NULL)
            return -TGX_ERR_NOMEM;
    }
    return 0;
}

static int pg_keeper_add_points(struct tgx_store *st, int64_t id, int64_t task_id, json_t **out,
                                struct tgx_store_err *err)
{
    char k[24], t[24];
    id_param(id, k);
    id_param(task_id, t);
    const char *params[] = {k, t};
    struct add_points_ctx c = {NULL, false, false};
    *out = NULL;
    int rc = run(st, &Q_KEEPER_ADD_POINTS, params, add_points_cb, &c, err);
    if (rc < 0)
        return rc;
    if (!c.keeper_found || !c.task_found) {
        json_decref(c.out);
        if (!c.keeper_found)
            tgx_store_err_set(err, TGX_STORE_NOT_FOUND, NULL, "keeper not found");
        else
            tgx_store_err_set(err, TGX_STORE_NOT_FOUND, "task_id", "task not found");
        return -TGX_ERR_NOTFOUND;
    }
    *out = c.out;
    return 0;
}

static int pg_keeper_points(struct tgx_store *st, int64_t id, json_t **out, struct tgx_store_err *err)
{
    return keeper_record(st, &Q_KEEPER_POINTS, POINTS_COLS, COUNT(POINTS_COLS), id, out, err);
}

static int pg_keeper_set_chat_id(struct tgx_store *st, const char *address, int64_t chat_id,
                                 struct tgx_store_err *err)
{
    char chat[24];
    id_param(chat_id, chat);
    const char *params[] = {address, chat};
    return run_int(st, &Q_KEEPER_CHAT_ID, params, "keeper", NULL, err);
}

static int pg_keeper_com_info(struct tgx_store *st, int64_t id, json_t **out, struct tgx_store_err *err)
{
    return keeper_record(st, &Q_KEEPER_COM_INFO, COM_INFO_COLS, COUNT(COM_INFO_COLS), id, out, err);
}

static const struct list_query L_KEEPERS_BOARD = {.q = &Q_KEEPERS_BOARD,
                                                  .cursor = &CUR_POINTS,
                                                  .cols = KEEPER_BOARD_COLS,
                                                  .ncols = COUNT(KEEPER_BOARD_COLS),
                                                  .groups = G_MAIN,
                                                  .key_col = KBOARD_COL_KEY};

static int pg_keepers_board(struct tgx_store *st, int on_imua, const struct tgx_store_page *page,
                            struct tgx_store_list *out, struct tgx_store_err *err)
{
    const char *args[] = {on_imua < 0 ? NULL : on_imua ? "true" : "false"};
    return run_list(st, &L_KEEPERS_BOARD, args, COUNT(args), NULL, page, out, err);
}

static int pg_keeper_board_entry(struct tgx_store *st, const char *address, const char *name, json_t **out,
                                 struct tgx_store_err *err)
{
    const char *params[] = {address, name};
    return run_one(st, &Q_KEEPER_BOARD_ENTRY, params, KEEPER_BOARD_COLS, COUNT(KEEPER_BOARD_COLS), G_SUB,
                   "keeper", out, err);
}

/* --- inspection --- */

struct gauges_ctx {
    struct tgx_store_gauges *out;
};

static int gauges_cb(const PGresult *res, void *arg)
{
    struct tgx_store_gauges *g = ((struct gauges_ctx *)arg)->out;
    if (PQntuples(res) == 0)
        return -TGX_ERR_DB;
    for (int i = 0; i < 5; i++)
        g->queue_depth[i] = strtoll(PQgetvalue(res, 0, i), NULL, 10);
    g->keepers_online = strtoll(PQgetvalue(res, 0, GAUGE_COL_ONLINE), NULL, 10);
    g->keepers_eligible = strtoll(PQgetvalue(res, 0, GAUGE_COL_ELIGIBLE), NULL, 10);
    g->scheduler_lag_seconds = strtod(PQgetvalue(res, 0, GAUGE_COL_LAG), NULL);
    g->schedules_due = strtoll(PQgetvalue(res, 0, GAUGE_COL_DUE), NULL, 10);
    return 0;
}

static int pg_gauges(struct tgx_store *st, struct tgx_store_gauges *out, struct tgx_store_err *err)
{
    memset(out, 0, sizeof *out);
    struct gauges_ctx c = {out};
    int rc = run(st, &Q_GAUGES, NULL, gauges_cb, &c, err);
    if (rc < 0 && err->status == TGX_STORE_OK)
        tgx_store_err_set(err, TGX_STORE_FAILED, NULL, "internal server error");
    return rc;
}

static json_t *time_due_record(const PGresult *res, int row)
{
    json_t *rec = tgx_pg_object(res, row, TIME_DUE_COLS, COUNT(TIME_DUE_COLS), G_MAIN);
    json_t *target = tgx_pg_object(res, row, TIME_DUE_COLS, COUNT(TIME_DUE_COLS), G_SUB);
    if (rec == NULL || target == NULL || json_object_set_new(rec, "task_target_data", target) < 0) {
        json_decref(rec);
        json_decref(target);
        return NULL;
    }
    /* is_imua last, as the original */
    json_t *imua = json_incref(json_object_get(rec, "is_imua"));
    json_object_del(rec, "is_imua");
    json_object_set_new(rec, "is_imua", imua);
    return rec;
}

static const struct list_query L_JOBS_TIME_DUE = {
    .q = &Q_JOBS_TIME_DUE, .cursor = &CUR_DUE, .build = time_due_record, .key_col = TIME_DUE_COL_KEY};

static int pg_jobs_time_due(struct tgx_store *st, int lookahead_s, const struct tgx_store_page *page,
                            struct tgx_store_list *out, struct tgx_store_err *err)
{
    char ahead[16];
    snprintf(ahead, sizeof ahead, "%d", lookahead_s);
    const char *args[] = {ahead};
    return run_list(st, &L_JOBS_TIME_DUE, args, COUNT(args), NULL, page, out, err);
}

static const struct tgx_store_ops PG_OPS = {
    .name = "postgresql",
    .destroy = pg_destroy,
    .ping = pg_ping,
    .key_authenticate = pg_key_authenticate,
    .key_create = pg_key_create,
    .key_update = pg_key_update,
    .key_delete = pg_key_delete,
    .key_delete_masked = pg_key_delete_masked,
    .keys_by_owner = pg_keys_by_owner,
    .user_get = pg_user_get,
    .user_set_email = pg_user_set_email,
    .safe_addresses = pg_safe_addresses,
    .users_board = pg_users_board,
    .user_board_entry = pg_user_board_entry,
    .jobs_create = pg_jobs_create,
    .job_get = pg_job_get,
    .jobs_by_user = pg_jobs_by_user,
    .jobs_by_safe = pg_jobs_by_safe,
    .job_task_fees = pg_job_task_fees,
    .jobs_time_due = pg_jobs_time_due,
    .job_update = pg_job_update,
    .job_set_status = pg_job_set_status,
    .job_set_last_executed = pg_job_set_last_executed,
    .job_delete = pg_job_delete,
    .task_get = pg_task_get,
    .tasks_by_job = pg_tasks_by_job,
    .tasks_recent = pg_tasks_recent,
    .task_groups_by_user = pg_task_groups_by_user,
    .task_groups_by_safe = pg_task_groups_by_safe,
    .task_create = pg_task_create,
    .task_record_execution = pg_task_record_execution,
    .keeper_register = pg_keeper_register,
    .keepers_performers = pg_keepers_performers,
    .keeper_get = pg_keeper_get,
    .keeper_increment_tasks = pg_keeper_increment_tasks,
    .keeper_task_count = pg_keeper_task_count,
    .keeper_add_points = pg_keeper_add_points,
    .keeper_points = pg_keeper_points,
    .keeper_set_chat_id = pg_keeper_set_chat_id,
    .keeper_com_info = pg_keeper_com_info,
    .keepers_board = pg_keepers_board,
    .keeper_board_entry = pg_keeper_board_entry,
    .gauges = pg_gauges,
};

int tgx_store_pg_create(struct tgx_pool *pool, struct tgx_store **out)
{
    *out = NULL;
    struct tgx_store *st = calloc(1, sizeof *st);
    struct pgstore *ps = calloc(1, sizeof *ps);
    if (st == NULL || ps == NULL) {
        free(st);
        free(ps);
        return -TGX_ERR_NOMEM;
    }
    ps->pool = pool;
    st->ops = &PG_OPS;
    st->impl = ps;
    *out = st;
    return 0;
}
