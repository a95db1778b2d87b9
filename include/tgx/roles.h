/* roles.h: the roles of `tgxd serve`, each built from the configuration and run by the process.
 * Only the api role exists for now. */
#ifndef TGX_ROLES_H
#define TGX_ROLES_H

#include <stdint.h>

#include "tgx/buf.h"
#include "tgx/config.h"
#include "tgx/err.h"

/*
 * The api role (opaque): the database pool, the store over it, the fee estimator and its chain
 * table, the handlers' context, and engineer A's HTTP server with the route table of
 * src/api/routes.c, the authenticate callback (through the store), the /metrics gauges and the
 * WebSocket callbacks.
 */
struct tgx_role_api;

/*
 * Build the role from CFG (borrowed during the call; strings are copied by the parts that keep
 * them): connects the first database connection, checks the routes and the fee settings.  *OUT
 * gets a new role (tgx_role_api_free).  On failure a negative enum tgx_err with one line appended
 * to ERRMSG.
 */
int tgx_role_api_create(const struct tgx_config *cfg, struct tgx_role_api **out /* OUT: new */,
                        struct tgx_buf *errmsg /* OUT: appended */) TGX_MUSTCHECK;
/* Bind and start serving (returns at once).  -TGX_ERR_IO when the address cannot be bound. */
int tgx_role_api_start(struct tgx_role_api *r) TGX_MUSTCHECK;
/* The TCP port listened on (useful with port 0), 0 before start. */
uint16_t tgx_role_api_port(const struct tgx_role_api *r);
/* Stop serving: no new request, every thread joined.  Idempotent. */
void tgx_role_api_stop(struct tgx_role_api *r);
/* Stop if needed and free everything (NULL is fine). */
void tgx_role_api_free(struct tgx_role_api *r);

/* The rows of tgxd's command table (see tgx_cli_fn): `tgxd serve`, `tgxd keys`, `tgxd routes`. */
int tgx_serve_command(const char *prog, int argc, char **argv, const struct tgx_cli_io *io);
int tgx_keys_command(const char *prog, int argc, char **argv, const struct tgx_cli_io *io);
int tgx_routes_command(const char *prog, int argc, char **argv, const struct tgx_cli_io *io);

#endif
