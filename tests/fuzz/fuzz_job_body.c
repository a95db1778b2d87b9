/* fuzz_job_body.c: libFuzzer harness over the request-body decoding of the REST API: the JSON
 * decoder with its depth limit, the field types of POST /api/jobs and PUT /api/jobs/update/:id,
 * the raw-number reader, the exact-number encoder, and the small parsers that see request text
 * (cursors, times, ids).  It checks for crashes, sanitizer reports and leaks, not output.
 *
 *   clang -fsanitize=fuzzer,address ... (see the Makefile's fuzz target)
 *   build/tests/fuzz_job_body tests/fuzz/corpus      run the fuzzer on the kept corpus
 *   build/tests/fuzz_replay tests/fuzz/corpus        replay it without libFuzzer (gcc, `make test`)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tgx/api.h"
#include "tgx/jsonnum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* results the harness does not look at (the functions are TGX_MUSTCHECK) */
static volatile int sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct tgx_api_decode_err err;
    json_t *j = NULL;
    if (tgx_api_decode_json(text, size, 32, &j, &err) == 0) {
        if (tgx_api_check_jobs(j, &err) < 0 && (err.code == NULL || err.message[0] == '\0'))
            abort(); /* a refusal always says why */
        sink += tgx_api_check_job_update(j, &err);
        char *out = tgx_json_dump(j);
        free(out);
        json_decref(j);
    }
    (void)tgx_api_json_depth(text, size);
    char raw[96];
    sink += tgx_api_json_member_raw(text, size, "job_id", raw, sizeof raw);
    sink += tgx_api_json_member_raw(text, size, "task_opx_cost", raw, sizeof raw);

    /* the parsers of path and query text get a NUL-terminated copy */
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char buf[256], id[80], addr[43];
    int64_t n;
    sink += tgx_api_b64url_decode(s, buf, sizeof buf);
    (void)tgx_api_is_rfc3339(s);
    (void)tgx_api_parse_job_id(s, id);
    (void)tgx_api_parse_address(s, addr);
    (void)tgx_api_parse_id(s, &n);
    json_t *num = tgx_json_rawnumn(s, size);
    if (num != NULL) {
        char *out = tgx_json_dump(num);
        if (out != NULL && !json_is_null(num) && strcmp(out, s) != 0)
            abort(); /* a valid literal is written back exactly */
        free(out);
        json_decref(num);
    }
    free(s);
    return 0;
}
