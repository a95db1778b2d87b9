/* err.h: the return convention of TriggerX-PG: 0 on success, a negative enum tgx_err on failure. */
#ifndef TGX_ERR_H
#define TGX_ERR_H

/* Mark every fallible function: the caller must look at the result. */
#define TGX_MUSTCHECK __attribute__((warn_unused_result))
/* Mark every printf-like function: argument FMT is the format, the arguments start at ARGS. */
#define TGX_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/*
 * Failures.  Functions return 0 on success or the NEGATED value (-TGX_ERR_NOMEM, ...), so that
 * `if (rc < 0)` tests for any failure; the message for a person travels separately (an error
 * buffer or the object's last error), never in the code.
 */
enum tgx_err {
    TGX_OK = 0,           /* success */
    TGX_ERR_NOMEM = 1,    /* out of memory */
    TGX_ERR_INVAL = 2,    /* invalid input: a bad argument, file name, URL or file content */
    TGX_ERR_IO = 3,       /* a file or directory could not be read (errno says why) */
    TGX_ERR_DB = 4,       /* the database refused or failed; the connection holds the details */
    TGX_ERR_NOTFOUND = 5, /* an object that must exist does not */
    TGX_ERR_STATE = 6,    /* the request conflicts with the current state (a changed migration) */
    TGX_ERR_USAGE = 7,    /* a bad command line; the one-line message was already printed */
    TGX_ERR_CRYPTO = 8,   /* the crypto library failed */
};

/* The name of error code RC (negative or positive), e.g. "out of memory"; never NULL. */
const char *tgx_err_str(int rc);

#endif
