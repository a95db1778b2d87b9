/* err.c: names of the error codes of enum tgx_err. */
#include "tgx/err.h"

const char *tgx_err_str(int rc)
{
    switch (rc < 0 ? -rc : rc) {
    case TGX_OK:
        return "success";
    case TGX_ERR_NOMEM:
        return "out of memory";
    case TGX_ERR_INVAL:
        return "invalid input";
    case TGX_ERR_IO:
        return "input/output error";
    case TGX_ERR_DB:
        return "database error";
    case TGX_ERR_NOTFOUND:
        return "not found";
    case TGX_ERR_STATE:
        return "conflicts with the current state";
    case TGX_ERR_USAGE:
        return "bad command line";
    case TGX_ERR_CRYPTO:
        return "crypto library error";
    default:
        return "unknown error";
    }
}
