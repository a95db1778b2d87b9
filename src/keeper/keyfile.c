/* keyfile.c: the keeper's key file (create 0600 exclusively, refuse to read one others can access),
 * keygen/address. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tgx/hex.h"
#include "tgx/keyfile.h"

#define KEYFILE_MAX 256 /* bytes read from a key file: a key line and some whitespace */

/* Write a message into ERR (ERRLEN bytes; ERR may be NULL). */
static void TGX_PRINTF(3, 4) keyfile_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int tgx_keyfile_create(const char *path, uint8_t secret[TGX_SECP_SECRET_LEN], char *err, size_t errlen)
{
    int rc = tgx_secp_key_generate(secret);
    if (rc < 0) {
        keyfile_err(err, errlen, "could not generate a key: %s", tgx_err_str(rc));
        return rc;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        explicit_bzero(secret, TGX_SECP_SECRET_LEN);
        if (e == EEXIST) {
            keyfile_err(err, errlen, "key file \"%s\" already exists; refusing to overwrite it", path);
            return -TGX_ERR_STATE;
        }
        keyfile_err(err, errlen, "could not create key file \"%s\": %s", path, strerror(e));
        errno = e;
        return -TGX_ERR_IO;
    }
    char line[2 + 2 * TGX_SECP_SECRET_LEN + 2];
    line[0] = '0';
    line[1] = 'x';
    tgx_hex_encode(secret, TGX_SECP_SECRET_LEN, line + 2);
    line[sizeof line - 2] = '\n';
    line[sizeof line - 1] = '\0';
    size_t want = sizeof line - 1, done = 0;
    int e = 0;
    if (fchmod(fd, 0600) < 0) /* the umask can only clear bits, but be explicit */
        e = errno;
    while (e == 0 && done < want) {
        ssize_t w = write(fd, line + done, want - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            e = w < 0 ? errno : EIO;
            break;
        }
        done += (size_t)w;
    }
    explicit_bzero(line, sizeof line);
    if (e == 0 && fsync(fd) < 0)
        e = errno;
    if (close(fd) < 0 && e == 0)
        e = errno;
    if (e != 0) {
        unlink(path);
        explicit_bzero(secret, TGX_SECP_SECRET_LEN);
        keyfile_err(err, errlen, "could not write key file \"%s\": %s", path, strerror(e));
        errno = e;
        return -TGX_ERR_IO;
    }
    return 0;
}

/* Parse the text S (LEN bytes) of a key file into SECRET; -TGX_ERR_INVAL. */
static int keyfile_parse(const char *s, size_t len, uint8_t secret[TGX_SECP_SECRET_LEN])
{
    while (len > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        len -= 2;
    }
    size_t got;
    if (len != 2 * TGX_SECP_SECRET_LEN || tgx_hex_decode(s, len, secret, TGX_SECP_SECRET_LEN, &got) < 0)
        return -TGX_ERR_INVAL;
    return 0;
}

int tgx_keyfile_read(const char *path, uint8_t secret[TGX_SECP_SECRET_LEN], char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        keyfile_err(err, errlen, "could not open key file \"%s\": %s", path, strerror(e));
        errno = e;
        return -TGX_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        keyfile_err(err, errlen, "could not stat key file \"%s\": %s", path, strerror(e));
        errno = e;
        return -TGX_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        keyfile_err(err, errlen, "key file \"%s\" is not a regular file", path);
        return -TGX_ERR_STATE;
    }
    if ((st.st_mode & 077) != 0) {
        close(fd);
        keyfile_err(
            err, errlen,
            "permissions %04o for key file \"%s\" are too open: it must not be accessible by group or "
            "others (chmod 600 %s)",
            (unsigned)(st.st_mode & 07777), path, path);
        return -TGX_ERR_STATE;
    }
    char text[KEYFILE_MAX + 1];
    size_t len = 0;
    int e = 0;
    while (len < sizeof text) {
        ssize_t r = read(fd, text + len, sizeof text - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            e = errno;
            break;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    int rc = 0;
    if (e != 0) {
        keyfile_err(err, errlen, "could not read key file \"%s\": %s", path, strerror(e));
        errno = e;
        rc = -TGX_ERR_IO;
    } else if (len > KEYFILE_MAX || keyfile_parse(text, len, secret) < 0) {
        keyfile_err(err, errlen,
                    "key file \"%s\" does not hold a key: expected one line of 0x and 64 hex digits", path);
        rc = -TGX_ERR_INVAL;
    } else if (!tgx_secp_key_valid(secret)) {
        keyfile_err(err, errlen,
                    "key file \"%s\" holds an invalid secp256k1 key (zero or not below the order)", path);
        rc = -TGX_ERR_INVAL;
    }
    explicit_bzero(text, sizeof text);
    if (rc < 0)
        explicit_bzero(secret, TGX_SECP_SECRET_LEN);
    return rc;
}

/* ------------------------------------------------------------------ commands */

static const char KEYGEN_USAGE[] =
    "Usage: tgx-keeper keygen --key FILE\n"
    "Create FILE (mode 0600; an existing file is never overwritten) holding a new secp256k1 key,\n"
    "and print the keeper's address.\n\n"
    "  -k, --key FILE   the key file to create (default: $" TGX_KEYFILE_ENV ")\n"
    "  -h, --help       print this help\n";

static const char ADDRESS_USAGE[] =
    "Usage: tgx-keeper address --key FILE\n"
    "Print the EIP-55 address of the key in FILE (which must not be readable by group or others).\n\n"
    "  -k, --key FILE   the key file (default: $" TGX_KEYFILE_ENV ")\n"
    "  -h, --help       print this help\n";

/* Parse `CMD [--key FILE] [--help]`: 0 and *PATH, or an exit status (> 0) to return, or -1 for help shown. */
static int keyfile_args(const char *who, const char *usage, int argc, char **argv,
                        const struct tgx_cli_io *io, const char **path)
{
    enum { O_KEY = 1, O_HELP };
    static const struct option opts[] = {
        {"key", required_argument, NULL, O_KEY},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    *path = getenv(TGX_KEYFILE_ENV);
    if (*path != NULL && (*path)[0] == '\0')
        *path = NULL;
    struct tgx_cli_parser p;
    tgx_cli_parser_init(&p, who, argc, argv, "hk:", opts, io);
    for (int o; (o = tgx_cli_next(&p)) != TGX_CLI_END;) {
        switch (o) {
        case O_KEY:
        case 'k':
            *path = p.optarg;
            break;
        case O_HELP:
        case 'h':
            fputs(usage, io->out);
            return -1;
        default:
            return TGX_EXIT_USAGE;
        }
    }
    if (p.optind < argc)
        return tgx_cli_unexpected(&p, argv[p.optind]);
    if (*path == NULL) {
        fprintf(io->err, "%s: no key file: give --key FILE or set " TGX_KEYFILE_ENV "\n", who);
        return TGX_EXIT_USAGE;
    }
    return 0;
}

int tgx_keyfile_keygen_command(const char *prog, int argc, char **argv, const struct tgx_cli_io *io)
{
    char who[64], err[512];
    snprintf(who, sizeof who, "%s keygen", prog);
    const char *path;
    int rc = keyfile_args(who, KEYGEN_USAGE, argc, argv, io, &path);
    if (rc != 0)
        return rc < 0 ? TGX_EXIT_OK : rc;
    uint8_t secret[TGX_SECP_SECRET_LEN], addr[TGX_ADDRESS_LEN];
    if (tgx_keyfile_create(path, secret, err, sizeof err) < 0) {
        fprintf(io->err, "%s: %s\n", who, err);
        return TGX_EXIT_FAILURE;
    }
    rc = tgx_secp_address(secret, addr);
    explicit_bzero(secret, sizeof secret);
    if (rc < 0) {
        fprintf(io->err, "%s: could not derive the address: %s\n", who, tgx_err_str(rc));
        return TGX_EXIT_FAILURE;
    }
    char text[TGX_ADDRESS_TEXT_LEN + 1];
    tgx_secp_address_text(addr, text);
    fprintf(io->out, "%s\n", text);
    return TGX_EXIT_OK;
}

int tgx_keyfile_address_command(const char *prog, int argc, char **argv, const struct tgx_cli_io *io)
{
    char who[64], err[512];
    snprintf(who, sizeof who, "%s address", prog);
    const char *path;
    int rc = keyfile_args(who, ADDRESS_USAGE, argc, argv, io, &path);
    if (rc != 0)
        return rc < 0 ? TGX_EXIT_OK : rc;
    uint8_t secret[TGX_SECP_SECRET_LEN], addr[TGX_ADDRESS_LEN];
    if (tgx_keyfile_read(path, secret, err, sizeof err) < 0) {
        fprintf(io->err, "%s: %s\n", who, err);
        return TGX_EXIT_FAILURE;
    }
    rc = tgx_secp_address(secret, addr);
    explicit_bzero(secret, sizeof secret);
    if (rc < 0) {
        fprintf(io->err, "%s: could not derive the address: %s\n", who, tgx_err_str(rc));
        return TGX_EXIT_FAILURE;
    }
    char text[TGX_ADDRESS_TEXT_LEN + 1];
    tgx_secp_address_text(addr, text);
    fprintf(io->out, "%s\n", text);
    return TGX_EXIT_OK;
}
