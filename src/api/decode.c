/* decode.c: request bodies checked in C before the store sees them: JSON syntax, nesting depth,
 * and the JSON types of the fields of a job (their meaning is checked in SQL). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tgx/api.h"

static void set_err(struct tgx_api_decode_err *err, const char *code, const char *field, const char *fmt, ...)
    TGX_PRINTF(4, 5);

static void set_err(struct tgx_api_decode_err *err, const char *code, const char *field, const char *fmt, ...)
{
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field != NULL ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

int tgx_api_json_depth(const char *text, size_t len)
{
    int depth = 0, max = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                max = depth;
        } else if (c == ']' || c == '}') {
            if (--depth < 0)
                return -1;
        }
    }
    return depth == 0 && !in_string ? max : -1;
}

int tgx_api_decode_json(const char *body, size_t len, unsigned max_depth, json_t **out,
                        struct tgx_api_decode_err *err)
{
    *out = NULL;
    if (body == NULL || len == 0) {
        set_err(err, "INVALID_REQUEST", NULL, "the request body is empty");
        return -TGX_ERR_INVAL;
    }
    int depth = tgx_api_json_depth(body, len);
    if (depth > (int)max_depth) {
        set_err(err, "INVALID_REQUEST", NULL, "the request body is nested deeper than %u levels", max_depth);
        return -TGX_ERR_INVAL;
    }
    json_error_t je;
    json_t *j =
        json_loadb(body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &je);
    if (j == NULL) {
        set_err(err, "INVALID_REQUEST", NULL, "invalid JSON in the request body: %s", je.text);
        return -TGX_ERR_INVAL;
    }
    *out = j;
    return 0;
}

/* The JSON types a field of a job may have (bit mask of (1 << json_type)). */
#define T(t)   (1u << (t))
#define T_STR  T(JSON_STRING)
#define T_NUM  (T(JSON_INTEGER) | T(JSON_REAL))
#define T_BOOL (T(JSON_TRUE) | T(JSON_FALSE))
#define T_ARR  T(JSON_ARRAY)
#define T_OBJ  T(JSON_OBJECT)
#define T_NULL T(JSON_NULL)

struct field_rule {
    const char *name;
    unsigned types; /* null is always allowed: an absent value */
    const char *expect;
};

/* CreateJobData (triggerx-api.md 2.3).  Ids and chain ids may be strings or numbers; balances
 * numbers or decimal strings; abi JSON text or the ABI itself. */
static const struct field_rule JOB_RULES[] = {
    {"job_id", T_STR | T_NUM, "a decimal string"},
    {"user_address", T_STR, "a string"},
    {"ether_balance", T_NUM | T_STR, "an integer"},
    {"token_balance", T_NUM | T_STR, "an integer"},
    {"job_title", T_STR, "a string"},
    {"task_definition_id", T_NUM, "an integer"},
    {"custom", T_BOOL, "true or false"},
    {"language", T_STR, "a string"},
    {"time_frame", T_NUM, "an integer"},
    {"recurring", T_BOOL, "true or false"},
    {"job_cost_prediction", T_NUM, "a number"},
    {"timezone", T_STR, "a string"},
    {"created_chain_id", T_STR | T_NUM, "a string"},
    {"is_safe", T_BOOL, "true or false"},
    {"safe_address", T_STR, "a string"},
    {"safe_name", T_STR, "a string"},
    {"schedule_type", T_STR, "a string"},
    {"time_interval", T_NUM, "an integer"},
    {"cron_expression", T_STR, "a string"},
    {"specific_schedule", T_STR, "a string"},
    {"trigger_chain_id", T_STR | T_NUM, "a string"},
    {"trigger_contract_address", T_STR, "a string"},
    {"trigger_event", T_STR, "a string"},
    {"event_filter_para_name", T_STR, "a string"},
    {"event_filter_value", T_STR, "a string"},
    {"condition_type", T_STR, "a string"},
    {"upper_limit", T_NUM, "a number"},
    {"lower_limit", T_NUM, "a number"},
    {"value_source_type", T_STR, "a string"},
    {"value_source_url", T_STR, "a string"},
    {"selected_key_route", T_STR, "a string"},
    {"target_chain_id", T_STR | T_NUM, "a string"},
    {"target_contract_address", T_STR, "a string"},
    {"target_function", T_STR, "a string"},
    {"abi", T_STR | T_ARR | T_OBJ, "JSON text"},
    {"arg_type", T_NUM, "an integer"},
    {"arguments", T_ARR, "an array of strings"},
    {"dynamic_arguments_script_url", T_STR, "a string"},
    {"is_imua", T_BOOL, "true or false"},
};

/* PUT /api/jobs/update/:id */
static const struct field_rule UPDATE_RULES[] = {
    {"job_id", T_STR | T_NUM, "a decimal string"},
    {"job_title", T_STR, "a string"},
    {"recurring", T_BOOL, "true or false"},
    {"status", T_STR, "a string"},
    {"time_frame", T_NUM, "an integer"},
    {"job_cost_prediction", T_NUM, "a number"},
    {"timezone", T_STR, "a string"},
    {"time_interval", T_NUM, "an integer"},
    {"schedule_type", T_STR, "a string"},
    {"cron_expression", T_STR, "a string"},
    {"specific_schedule", T_STR, "a string"},
};

static int check_fields(const json_t *obj, const struct field_rule *rules, size_t n,
                        struct tgx_api_decode_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_object_get(obj, rules[i].name);
        if (v == NULL || json_is_null(v))
            continue;
        if ((rules[i].types & T(json_typeof(v))) == 0) {
            set_err(err, "VALIDATION_FAILED", rules[i].name, "%s must be %s", rules[i].name, rules[i].expect);
            return -TGX_ERR_INVAL;
        }
    }
    /* the elements of arguments: strings, or numbers and booleans kept as their text */
    const json_t *args = json_object_get(obj, "arguments");
    size_t k;
    const json_t *a;
    json_array_foreach(args, k, a)
    {
        if (!json_is_string(a) && !json_is_number(a) && !json_is_boolean(a)) {
            set_err(err, "VALIDATION_FAILED", "arguments",
                    "every element of arguments must be a string or a number");
            return -TGX_ERR_INVAL;
        }
    }
    return 0;
}

int tgx_api_check_jobs(const json_t *body, struct tgx_api_decode_err *err)
{
    if (!json_is_array(body)) {
        set_err(err, "INVALID_REQUEST", NULL, "the request body must be a JSON array of jobs");
        return -TGX_ERR_INVAL;
    }
    size_t n = json_array_size(body);
    if (n == 0) {
        set_err(err, "EMPTY_REQUEST", NULL, "no jobs provided");
        return -TGX_ERR_INVAL;
    }
    if (n > 100) {
        set_err(err, "INVALID_REQUEST", NULL, "at most 100 jobs can be created in one request");
        return -TGX_ERR_INVAL;
    }
    size_t i;
    const json_t *job;
    json_array_foreach(body, i, job)
    {
        if (!json_is_object(job)) {
            set_err(err, "INVALID_REQUEST", NULL, "job %zu of the request is not a JSON object", i + 1);
            return -TGX_ERR_INVAL;
        }
        if (check_fields(job, JOB_RULES, sizeof JOB_RULES / sizeof JOB_RULES[0], err) < 0)
            return -TGX_ERR_INVAL;
    }
    return 0;
}

int tgx_api_check_job_update(const json_t *body, struct tgx_api_decode_err *err)
{
    if (!json_is_object(body)) {
        set_err(err, "INVALID_REQUEST", NULL, "the request body must be a JSON object");
        return -TGX_ERR_INVAL;
    }
    return check_fields(body, UPDATE_RULES, sizeof UPDATE_RULES / sizeof UPDATE_RULES[0], err);
}

/* ---------------------------------------------------------------------------------------------
 * Raw member text of a top-level object (exact numbers beyond 64 bits)
 * ------------------------------------------------------------------------------------------- */

static size_t skip_ws(const char *t, size_t i, size_t n)
{
    while (i < n && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
        i++;
    return i;
}

/* The index after the string starting at T[I] (a quote); N when unterminated. */
static size_t skip_string(const char *t, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (t[i] == '\\')
            i++;
        else if (t[i] == '"')
            return i + 1;
    }
    return n;
}

/* The index after the value starting at T[I]. */
static size_t skip_value(const char *t, size_t i, size_t n)
{
    if (i >= n)
        return n;
    if (t[i] == '"')
        return skip_string(t, i, n);
    if (t[i] == '{' || t[i] == '[') {
        int depth = 0;
        for (; i < n; i++) {
            if (t[i] == '"') {
                i = skip_string(t, i, n) - 1;
            } else if (t[i] == '{' || t[i] == '[') {
                depth++;
            } else if (t[i] == '}' || t[i] == ']') {
                if (--depth == 0)
                    return i + 1;
            }
        }
        return n;
    }
    while (i < n && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' && t[i] != '\t' &&
           t[i] != '\n' && t[i] != '\r')
        i++;
    return i;
}

int tgx_api_json_member_raw(const char *text, size_t len, const char *key, char *out, size_t outlen)
{
    size_t klen = strlen(key);
    size_t i = skip_ws(text, 0, len);
    if (i >= len || text[i] != '{')
        return -TGX_ERR_INVAL;
    i++;
    while (i < len) {
        i = skip_ws(text, i, len);
        if (i >= len || text[i] != '"')
            return -TGX_ERR_NOTFOUND;
        size_t kstart = i + 1;
        size_t kend = skip_string(text, i, len);
        bool match = kend - 1 - kstart == klen && memcmp(text + kstart, key, klen) == 0;
        i = skip_ws(text, kend, len);
        if (i >= len || text[i] != ':')
            return -TGX_ERR_INVAL;
        i = skip_ws(text, i + 1, len);
        size_t vend = skip_value(text, i, len);
        if (match) {
            if (vend <= i || (vend - i == 4 && memcmp(text + i, "null", 4) == 0))
                return -TGX_ERR_NOTFOUND;
            const char *v = text + i;
            size_t vlen = vend - i;
            if (v[0] == '"') {
                v++;
                vlen = vlen >= 2 ? vlen - 2 : 0;
                if (memchr(v, '\\', vlen) != NULL)
                    return -TGX_ERR_INVAL;
            } else if (!((v[0] >= '0' && v[0] <= '9') || v[0] == '-')) {
                return -TGX_ERR_INVAL;
            }
            if (vlen + 1 > outlen)
                return -TGX_ERR_INVAL;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return 0;
        }
        i = skip_ws(text, vend, len);
        if (i < len && text[i] == ',')
            i++;
        else
            break;
    }
    return -TGX_ERR_NOTFOUND;
}
