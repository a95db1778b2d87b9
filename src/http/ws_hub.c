/* ws_hub.c: the WebSocket hub: one epoll thread owns every upgraded socket, rooms and send
 * queues; one worker thread runs the room checks and snapshots that may touch the database. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "tgx/log.h"
#include "tgx/ws.h"

#define WS_MAX_FRAME      512        /* largest client payload (triggerx-api.md §3) */
#define WS_IN_CAP         1024       /* read buffer: one frame and a bit */
#define WS_SENDQ_MAX      (1u << 20) /* bytes queued for one client before it is dropped */
#define WS_MAX_ROOMS      64         /* rooms per client */
#define WS_MAX_PENDING    16         /* room checks in flight per client */
#define WS_PER_IP         100        /* open sockets per client address */
#define WS_CLOSE_GRACE_MS 5000       /* a closing client that does not read is dropped after this */
#define ROOM_NAME_MAX     (TGX_WS_ROOM_MAX + 8) /* "task:" + id */
#define ID_BUCKETS        1024
#define ROOM_BUCKETS      1024
#define IP_BUCKETS        256

struct room;

struct client {
    uint64_t id;
    struct client *hnext; /* id hash chain */
    int fd;
    struct MHD_UpgradeResponseHandle *urh;
    struct tgx_http_auth auth;
    char ip[64];
    uint8_t in[WS_IN_CAP];
    size_t inlen;
    struct tgx_buf out;
    size_t outoff;
    bool want_out;
    bool closing;
    int64_t closing_since;
    int64_t last_rx, last_ping;
    struct room *rooms[WS_MAX_ROOMS];
    size_t nrooms;
    size_t pending;
    uint64_t event_seq;
};

struct room {
    struct room *next;
    char *name;
    struct client **members;
    size_t n, cap;
};

enum msg_kind { MSG_ADOPT, MSG_PUBLISH, MSG_SUB_RESULT };

struct msg {
    struct msg *next;
    enum msg_kind kind;
    struct client *client; /* MSG_ADOPT */
    /* MSG_PUBLISH */
    char **rooms;
    size_t nrooms;
    char *text;
    /* MSG_SUB_RESULT (text: the snapshot frame or NULL) */
    uint64_t client_id;
    char room[ROOM_NAME_MAX];
    char request_id[72];
    int rc;
};

struct sub_job {
    struct sub_job *next;
    uint64_t client_id;
    struct tgx_http_auth auth;
    enum tgx_ws_room_kind kind;
    char room[ROOM_NAME_MAX];
    char id[TGX_WS_ROOM_MAX];
    char request_id[72];
};

struct ip_count {
    struct ip_count *next;
    char ip[64];
    unsigned n;
};

struct tgx_ws_hub {
    struct tgx_http_server *srv;
    int ep, efd;
    pthread_t thread, worker;
    bool running;
    _Atomic bool stop;

    pthread_mutex_t mail_lock; /* guards mail and stopped */
    struct msg *mail, *mail_tail;
    bool stopped; /* no more adoptions */

    pthread_mutex_t work_lock; /* guards work and work_stop */
    pthread_cond_t work_cond;
    struct sub_job *work, *work_tail;
    bool work_stop;

    /* hub thread only */
    struct client *by_id[ID_BUCKETS];
    uint64_t next_id;
    uint64_t event_seq;
    int64_t last_sweep;

    pthread_mutex_t room_lock; /* rooms are changed by the hub thread under it; readers take it */
    struct room *rooms[ROOM_BUCKETS];
    size_t nrooms;

    pthread_mutex_t ip_lock;
    struct ip_count *ips[IP_BUCKETS];
    _Atomic size_t nclients; /* adopted and not yet closed */
};

static size_t str_hash(const char *s, size_t nb)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)(h % nb);
}

/* ---------------------------------------------------------------- per-address counts */

static bool ip_adjust(struct tgx_ws_hub *hub, const char *ip, int delta, unsigned limit)
{
    size_t h = str_hash(ip, IP_BUCKETS);
    struct ip_count **pp, *c;
    bool ok = true;

    pthread_mutex_lock(&hub->ip_lock);
    for (pp = &hub->ips[h]; *pp != NULL; pp = &(*pp)->next)
        if (strcmp((*pp)->ip, ip) == 0)
            break;
    c = *pp;
    if (delta > 0) {
        if (c == NULL) {
            c = calloc(1, sizeof *c);
            if (c != NULL) {
                snprintf(c->ip, sizeof c->ip, "%s", ip);
                *pp = c;
            }
        }
        if (c == NULL || c->n >= limit)
            ok = false;
        else
            c->n++;
    } else if (c != NULL) {
        if (c->n > 0)
            c->n--;
        if (c->n == 0) {
            *pp = c->next;
            free(c);
        }
    }
    pthread_mutex_unlock(&hub->ip_lock);
    return ok;
}

static unsigned ip_current(struct tgx_ws_hub *hub, const char *ip)
{
    unsigned n = 0;
    pthread_mutex_lock(&hub->ip_lock);
    for (struct ip_count *c = hub->ips[str_hash(ip, IP_BUCKETS)]; c != NULL; c = c->next)
        if (strcmp(c->ip, ip) == 0)
            n = c->n;
    pthread_mutex_unlock(&hub->ip_lock);
    return n;
}

bool tgx_ws_hub_admit(struct tgx_ws_hub *hub, const char *ip)
{
    return atomic_load(&hub->nclients) < hub->srv->cfg.ws_max_clients && ip_current(hub, ip) < WS_PER_IP;
}

/* ---------------------------------------------------------------- rooms (hub thread) */

static struct room *room_find(struct tgx_ws_hub *hub, const char *name)
{
    for (struct room *r = hub->rooms[str_hash(name, ROOM_BUCKETS)]; r != NULL; r = r->next)
        if (strcmp(r->name, name) == 0)
            return r;
    return NULL;
}

static bool client_in(const struct client *c, const struct room *r)
{
    for (size_t i = 0; i < c->nrooms; i++)
        if (c->rooms[i] == r)
            return true;
    return false;
}

/* Add C to room NAME; -TGX_ERR_NOMEM, -TGX_ERR_STATE when C has too many rooms. */
static int room_join(struct tgx_ws_hub *hub, struct client *c, const char *name)
{
    struct room *r = room_find(hub, name);
    int rc = 0;

    if (r != NULL && client_in(c, r))
        return 0;
    if (c->nrooms == WS_MAX_ROOMS)
        return -TGX_ERR_STATE;
    pthread_mutex_lock(&hub->room_lock);
    if (r == NULL) {
        size_t h = str_hash(name, ROOM_BUCKETS);
        r = calloc(1, sizeof *r);
        if (r == NULL || (r->name = strdup(name)) == NULL) {
            free(r);
            rc = -TGX_ERR_NOMEM;
            goto out;
        }
        r->next = hub->rooms[h];
        hub->rooms[h] = r;
        hub->nrooms++;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4;
        struct client **m = realloc(r->members, cap * sizeof *m);
        if (m == NULL) {
            rc = -TGX_ERR_NOMEM;
            goto out;
        }
        r->members = m;
        r->cap = cap;
    }
    r->members[r->n++] = c;
    c->rooms[c->nrooms++] = r;
out:
    pthread_mutex_unlock(&hub->room_lock);
    return rc;
}

static void room_leave(struct tgx_ws_hub *hub, struct client *c, struct room *r)
{
    pthread_mutex_lock(&hub->room_lock);
    for (size_t i = 0; i < r->n; i++) {
        if (r->members[i] == c) {
            r->members[i] = r->members[--r->n];
            break;
        }
    }
    for (size_t i = 0; i < c->nrooms; i++) {
        if (c->rooms[i] == r) {
            c->rooms[i] = c->rooms[--c->nrooms];
            break;
        }
    }
    if (r->n == 0) {
        struct room **pp = &hub->rooms[str_hash(r->name, ROOM_BUCKETS)];
        while (*pp != r)
            pp = &(*pp)->next;
        *pp = r->next;
        hub->nrooms--;
        free(r->members);
        free(r->name);
        free(r);
    }
    pthread_mutex_unlock(&hub->room_lock);
}

void tgx_ws_hub_counts(struct tgx_ws_hub *hub, size_t *clients, size_t *rooms)
{
    *clients = atomic_load(&hub->nclients);
    pthread_mutex_lock(&hub->room_lock);
    *rooms = hub->nrooms;
    pthread_mutex_unlock(&hub->room_lock);
}

json_t *tgx_ws_hub_room_counts(struct tgx_ws_hub *hub)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    pthread_mutex_lock(&hub->room_lock);
    for (size_t i = 0; i < ROOM_BUCKETS; i++)
        for (struct room *r = hub->rooms[i]; r != NULL; r = r->next)
            if (json_object_set_new(o, r->name, json_integer((json_int_t)r->n)) < 0) {
                pthread_mutex_unlock(&hub->room_lock);
                json_decref(o);
                return NULL;
            }
    pthread_mutex_unlock(&hub->room_lock);
    return o;
}

bool tgx_ws_hub_has_subscribers(struct tgx_ws_hub *hub)
{
    bool any;
    pthread_mutex_lock(&hub->room_lock);
    any = hub->nrooms > 0;
    pthread_mutex_unlock(&hub->room_lock);
    return any;
}

/* ---------------------------------------------------------------- clients (hub thread) */

static struct client *client_find(struct tgx_ws_hub *hub, uint64_t id)
{
    for (struct client *c = hub->by_id[id % ID_BUCKETS]; c != NULL; c = c->hnext)
        if (c->id == id)
            return c;
    return NULL;
}

static void set_events(struct tgx_ws_hub *hub, struct client *c, bool want_out)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0u), .data.u64 = c->id};
    if (c->want_out == want_out)
        return;
    c->want_out = want_out;
    epoll_ctl(hub->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Close and free C now. */
static void client_drop(struct tgx_ws_hub *hub, struct client *c, const char *why)
{
    struct client **pp = &hub->by_id[c->id % ID_BUCKETS];
    while (*pp != NULL && *pp != c)
        pp = &(*pp)->hnext;
    if (*pp == c)
        *pp = c->hnext;
    while (c->nrooms > 0)
        room_leave(hub, c, c->rooms[c->nrooms - 1]);
    if (c->fd >= 0)
        epoll_ctl(hub->ep, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->urh != NULL)
        MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
    ip_adjust(hub, c->ip, -1, 0);
    atomic_fetch_sub(&hub->nclients, 1);
    tgx_log_debug("ws", "client=%llu closed: %s", (unsigned long long)c->id, why);
    tgx_buf_cleanup(&c->out);
    free(c);
}

/* Write what is queued; false when C was dropped. */
static bool client_flush(struct tgx_ws_hub *hub, struct client *c)
{
    while (c->outoff < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->outoff, c->out.len - c->outoff, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->outoff += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_events(hub, c, true);
            return true;
        }
        client_drop(hub, c, "write failed");
        return false;
    }
    tgx_buf_reset(&c->out);
    c->outoff = 0;
    set_events(hub, c, false);
    if (c->closing) {
        client_drop(hub, c, "closed");
        return false;
    }
    return true;
}

/* Queue one frame; false when C was dropped (queue overflow or write error). */
static bool client_send(struct tgx_ws_hub *hub, struct client *c, enum tgx_ws_opcode op, const void *p,
                        size_t len)
{
    if (c->closing)
        return true;
    if (c->out.len - c->outoff + len > WS_SENDQ_MAX && c->out.len > c->outoff) {
        tgx_log_warning("ws", "client=%llu send queue full, closing", (unsigned long long)c->id);
        client_drop(hub, c, "send queue full");
        return false;
    }
    tgx_ws_encode(&c->out, op, p, len, NULL);
    if (tgx_buf_oom(&c->out)) {
        client_drop(hub, c, "out of memory");
        return false;
    }
    if (c->want_out)
        return true; /* EPOLLOUT will flush */
    return client_flush(hub, c);
}

/* Send a close frame with CODE and drop C once it is written (or after a grace time). */
static bool client_close(struct tgx_ws_hub *hub, struct client *c, unsigned code, const char *reason)
{
    uint8_t p[64];
    size_t rl = strlen(reason);
    if (c->closing)
        return true;
    if (rl > sizeof p - 2)
        rl = sizeof p - 2;
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    memcpy(p + 2, reason, rl);
    if (!client_send(hub, c, TGX_WS_CLOSE, p, rl + 2))
        return false;
    c->closing = true;
    c->closing_since = tgx_http_mono_ms();
    shutdown(c->fd, SHUT_RD);
    if (c->outoff >= c->out.len) {
        client_drop(hub, c, reason);
        return false;
    }
    return true;
}

/* Send the JSON frame {"type": TYPE, "data": DATA (stolen, may be NULL), "timestamp", "request_id"?}. */
static bool send_json(struct tgx_ws_hub *hub, struct client *c, const char *type, json_t *data,
                      const char *request_id)
{
    char ts[40];
    json_t *f;
    char *text;
    bool ok;

    tgx_http_rfc3339_now(ts);
    f = json_pack("{s:s, s:s}", "type", type, "timestamp", ts);
    if (f != NULL && data != NULL)
        json_object_set(f, "data", data);
    if (f != NULL && request_id != NULL && *request_id != '\0')
        json_object_set_new(f, "request_id", json_string(request_id));
    json_decref(data);
    text = f != NULL ? json_dumps(f, JSON_COMPACT) : NULL;
    json_decref(f);
    if (text == NULL) {
        client_drop(hub, c, "out of memory");
        return false;
    }
    ok = client_send(hub, c, TGX_WS_TEXT, text, strlen(text));
    free(text);
    return ok;
}

static bool send_error(struct tgx_ws_hub *hub, struct client *c, const char *code, const char *message,
                       const char *request_id)
{
    return send_json(hub, c, "ERROR", json_pack("{s:s, s:s}", "code", code, "message", message), request_id);
}

static bool send_success(struct tgx_ws_hub *hub, struct client *c, const char *message, const char *room,
                         const char *request_id)
{
    return send_json(hub, c, "SUCCESS", json_pack("{s:s, s:{s:s}}", "message", message, "data", "room", room),
                     request_id);
}

/* ---------------------------------------------------------------- client messages (hub thread) */

static void queue_work(struct tgx_ws_hub *hub, struct sub_job *j)
{
    pthread_mutex_lock(&hub->work_lock);
    if (hub->work_tail != NULL)
        hub->work_tail->next = j;
    else
        hub->work = j;
    hub->work_tail = j;
    pthread_cond_signal(&hub->work_cond);
    pthread_mutex_unlock(&hub->work_lock);
}

static bool handle_subscribe(struct tgx_ws_hub *hub, struct client *c, json_t *data, bool subscribe,
                             const char *request_id)
{
    const char *room;
    enum tgx_ws_room_kind kind;
    char id[TGX_WS_ROOM_MAX];
    struct room *r;

    if (!json_is_object(data))
        return send_error(hub, c, subscribe ? "INVALID_SUBSCRIPTION_DATA" : "INVALID_UNSUBSCRIPTION_DATA",
                          subscribe ? "Invalid subscription data format"
                                    : "Invalid unsubscription data format",
                          request_id);
    room = json_string_value(json_object_get(data, "room"));
    if (room == NULL || *room == '\0')
        return send_error(hub, c, "INVALID_ROOM",
                          subscribe ? "Room is required for subscription"
                                    : "Room is required for unsubscription",
                          request_id);
    if (tgx_ws_room_parse(room, &kind, id) < 0)
        return send_error(hub, c, "INVALID_ROOM",
                          "Invalid room name: expected job:<id>, task:<id> or user:<address>", request_id);
    if (!subscribe) {
        char canon[ROOM_NAME_MAX];
        snprintf(canon, sizeof canon, "%s:%s",
                 kind == TGX_WS_ROOM_JOB    ? "job"
                 : kind == TGX_WS_ROOM_TASK ? "task"
                                            : "user",
                 id);
        r = room_find(hub, canon);
        if (r != NULL && client_in(c, r))
            room_leave(hub, c, r);
        return send_success(hub, c, "Unsubscribed from room", room, request_id);
    }
    if (kind == TGX_WS_ROOM_USER) {
        const char *uid = json_string_value(json_object_get(data, "user_id"));
        char canon[ROOM_NAME_MAX];
        int rc;
        if (!c->auth.is_admin &&
            (strcasecmp(id, c->auth.owner) != 0 || (uid != NULL && strcasecmp(uid, c->auth.owner) != 0)))
            return send_error(hub, c, "ACCESS_DENIED", "Access denied to room", request_id);
        snprintf(canon, sizeof canon, "user:%s", id);
        rc = room_join(hub, c, canon);
        if (rc == -TGX_ERR_STATE)
            return send_error(hub, c, "TOO_MANY_SUBSCRIPTIONS", "Too many rooms for one connection",
                              request_id);
        if (rc < 0) {
            client_drop(hub, c, "out of memory");
            return false;
        }
        return send_success(hub, c, "Subscribed to room", room, request_id);
    }
    if (c->pending >= WS_MAX_PENDING)
        return send_error(hub, c, "TOO_MANY_REQUESTS", "Too many subscriptions in progress", request_id);
    {
        struct sub_job *j = calloc(1, sizeof *j);
        if (j == NULL) {
            client_drop(hub, c, "out of memory");
            return false;
        }
        j->client_id = c->id;
        j->auth = c->auth;
        j->kind = kind;
        snprintf(j->room, sizeof j->room, "%s:%s", kind == TGX_WS_ROOM_JOB ? "job" : "task", id);
        snprintf(j->id, sizeof j->id, "%s", id);
        snprintf(j->request_id, sizeof j->request_id, "%s", request_id != NULL ? request_id : "");
        c->pending++;
        queue_work(hub, j);
    }
    return true;
}

/* One text message from C; false when C was dropped. */
static bool handle_text(struct tgx_ws_hub *hub, struct client *c, const uint8_t *p, size_t len)
{
    json_error_t jerr;
    json_t *m;
    const char *type, *rid;
    char request_id[72] = "";
    bool ok;

    if (tgx_http_json_too_deep((const char *)p, len, 8) ||
        (m = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
        return send_error(hub, c, "INVALID_MESSAGE_TYPE", "Invalid message format", NULL);
    if (!json_is_object(m)) {
        json_decref(m);
        return send_error(hub, c, "INVALID_MESSAGE_TYPE", "Invalid message format", NULL);
    }
    rid = json_string_value(json_object_get(m, "request_id"));
    if (rid != NULL && strlen(rid) < sizeof request_id)
        snprintf(request_id, sizeof request_id, "%s", rid);
    type = json_string_value(json_object_get(m, "type"));
    if (type != NULL && strcmp(type, "PING") == 0)
        ok = send_json(hub, c, "PONG", NULL, request_id);
    else if (type != NULL && strcmp(type, "PONG") == 0)
        ok = true;
    else if (type != NULL && strcmp(type, "SUBSCRIBE") == 0)
        ok = handle_subscribe(hub, c, json_object_get(m, "data"), true, request_id);
    else if (type != NULL && strcmp(type, "UNSUBSCRIBE") == 0)
        ok = handle_subscribe(hub, c, json_object_get(m, "data"), false, request_id);
    else
        ok = send_error(hub, c, "INVALID_MESSAGE_TYPE", "Unknown message type", request_id);
    json_decref(m);
    return ok;
}

/* Decode and handle every complete frame in C's buffer; false when C was dropped. */
static bool client_frames(struct tgx_ws_hub *hub, struct client *c)
{
    size_t off = 0;
    while (off < c->inlen && !c->closing) {
        struct tgx_ws_frame f;
        long n = tgx_ws_decode(c->in + off, c->inlen - off, WS_MAX_FRAME, true, &f);
        if (n == 0)
            break;
        if (n == -TGX_ERR_STATE)
            return client_close(hub, c, TGX_WS_CLOSE_TOO_BIG, "message too big");
        if (n < 0)
            return client_close(hub, c, TGX_WS_CLOSE_PROTOCOL, "protocol error");
        off += (size_t)n;
        c->last_rx = tgx_http_mono_ms();
        switch (f.opcode) {
        case TGX_WS_TEXT:
            if (!f.fin)
                return client_close(hub, c, TGX_WS_CLOSE_UNSUPPORTED,
                                    "fragmented messages are not supported");
            if (!handle_text(hub, c, f.payload, f.len))
                return false;
            break;
        case TGX_WS_PING:
            if (!client_send(hub, c, TGX_WS_PONG, f.payload, f.len))
                return false;
            break;
        case TGX_WS_PONG:
            break;
        case TGX_WS_CLOSE:
            return client_close(hub, c, TGX_WS_CLOSE_NORMAL, "bye");
        case TGX_WS_BINARY:
        case TGX_WS_CONT:
        default:
            return client_close(hub, c, TGX_WS_CLOSE_UNSUPPORTED, "text frames only");
        }
    }
    if (off > 0) {
        memmove(c->in, c->in + off, c->inlen - off);
        c->inlen -= off;
    }
    if (c->inlen == sizeof c->in) /* cannot happen with a 512-byte limit; be safe */
        return client_close(hub, c, TGX_WS_CLOSE_TOO_BIG, "message too big");
    return true;
}

static void client_readable(struct tgx_ws_hub *hub, struct client *c)
{
    for (;;) {
        ssize_t n;
        if (c->closing)
            c->inlen = 0; /* a closing client's input is read and ignored */
        if (c->inlen == sizeof c->in) {
            if (!client_frames(hub, c))
                return;
            continue;
        }
        n = recv(c->fd, c->in + c->inlen, sizeof c->in - c->inlen, MSG_DONTWAIT);
        if (n > 0) {
            c->inlen += (size_t)n;
            if (!client_frames(hub, c))
                return;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        client_drop(hub, c, n == 0 ? "peer closed" : "read failed");
        return;
    }
}

/* ---------------------------------------------------------------- mailbox (hub thread) */

static void msg_free(struct msg *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nrooms; i++)
        free(m->rooms[i]);
    free(m->rooms);
    free(m->text);
    free(m);
}

static void wake(struct tgx_ws_hub *hub)
{
    uint64_t one = 1;
    if (write(hub->efd, &one, sizeof one) < 0) {
        /* EAGAIN: the counter is full, so the hub is awake anyway */
    }
}

/* Append M to the mailbox (dropped when the hub has stopped) and wake the hub. */
static void post(struct tgx_ws_hub *hub, struct msg *m)
{
    bool stopped;
    pthread_mutex_lock(&hub->mail_lock);
    stopped = hub->stopped;
    if (!stopped) {
        if (hub->mail_tail != NULL)
            hub->mail_tail->next = m;
        else
            hub->mail = m;
        hub->mail_tail = m;
    }
    pthread_mutex_unlock(&hub->mail_lock);
    if (stopped) {
        msg_free(m);
        return;
    }
    wake(hub);
}

static void adopt(struct tgx_ws_hub *hub, struct client *c)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = 0};
    c->id = ++hub->next_id;
    ev.data.u64 = c->id;
    c->hnext = hub->by_id[c->id % ID_BUCKETS];
    hub->by_id[c->id % ID_BUCKETS] = c;
    c->last_rx = c->last_ping = tgx_http_mono_ms();
    if (epoll_ctl(hub->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        tgx_log_warning("ws", "could not watch a WebSocket client: %s", strerror(errno));
        client_drop(hub, c, "epoll failed");
        return;
    }
    tgx_log_debug("ws", "client=%llu connected key=%lld", (unsigned long long)c->id,
                  (long long)c->auth.key_id);
    if (c->inlen > 0)
        client_frames(hub, c);
}

static void publish(struct tgx_ws_hub *hub, struct msg *m)
{
    uint64_t seq = ++hub->event_seq;
    size_t len = strlen(m->text);
    for (size_t i = 0; i < m->nrooms; i++) {
        struct room *r = room_find(hub, m->rooms[i]);
        /* walk backwards: a dropped client leaves the room, moving the last member into its slot */
        for (size_t k = r != NULL ? r->n : 0; k > 0; k--) {
            struct client *c;
            r = room_find(hub, m->rooms[i]);
            if (r == NULL || k > r->n)
                break;
            c = r->members[k - 1];
            if (c->event_seq == seq)
                continue;
            c->event_seq = seq;
            client_send(hub, c, TGX_WS_TEXT, m->text, len);
        }
    }
}

static void sub_result(struct tgx_ws_hub *hub, struct msg *m)
{
    struct client *c = client_find(hub, m->client_id);
    int rc;
    if (c == NULL || c->closing)
        return;
    c->pending--;
    if (m->rc == -TGX_ERR_NOTFOUND) {
        send_error(hub, c, "ACCESS_DENIED", "Access denied to room", m->request_id);
        return;
    }
    if (m->rc < 0) {
        send_error(hub, c, "INTERNAL", "could not check the room; try again later", m->request_id);
        return;
    }
    rc = room_join(hub, c, m->room);
    if (rc == -TGX_ERR_STATE) {
        send_error(hub, c, "TOO_MANY_SUBSCRIPTIONS", "Too many rooms for one connection", m->request_id);
        return;
    }
    if (rc < 0) {
        client_drop(hub, c, "out of memory");
        return;
    }
    if (!send_success(hub, c, "Subscribed to room", m->room, m->request_id))
        return;
    if (m->text != NULL)
        client_send(hub, c, TGX_WS_TEXT, m->text, strlen(m->text));
}

static void drain_mail(struct tgx_ws_hub *hub)
{
    struct msg *m;
    pthread_mutex_lock(&hub->mail_lock);
    m = hub->mail;
    hub->mail = hub->mail_tail = NULL;
    pthread_mutex_unlock(&hub->mail_lock);
    while (m != NULL) {
        struct msg *next = m->next;
        switch (m->kind) {
        case MSG_ADOPT:
            adopt(hub, m->client);
            break;
        case MSG_PUBLISH:
            publish(hub, m);
            break;
        case MSG_SUB_RESULT:
            sub_result(hub, m);
            break;
        }
        msg_free(m);
        m = next;
    }
}

/* Pings and timeouts, once a second. */
static void sweep(struct tgx_ws_hub *hub)
{
    int64_t now = tgx_http_mono_ms();
    const struct tgx_http_config *cfg = &hub->srv->cfg;
    if (now - hub->last_sweep < 1000)
        return;
    hub->last_sweep = now;
    for (size_t b = 0; b < ID_BUCKETS; b++) {
        struct client *c = hub->by_id[b];
        while (c != NULL) {
            struct client *next = c->hnext;
            if (c->closing) {
                if (now - c->closing_since > WS_CLOSE_GRACE_MS)
                    client_drop(hub, c, "close timed out");
            } else if (now - c->last_rx > (int64_t)cfg->ws_timeout_ms) {
                client_drop(hub, c, "silent too long");
            } else if (now - c->last_ping >= (int64_t)cfg->ws_ping_ms) {
                c->last_ping = now;
                client_send(hub, c, TGX_WS_PING, "", 0);
            }
            c = next;
        }
    }
}

static void *hub_main(void *arg)
{
    struct tgx_ws_hub *hub = arg;
    struct epoll_event evs[64];

    while (!atomic_load(&hub->stop)) {
        int n = epoll_wait(hub->ep, evs, 64, 1000);
        if (n < 0 && errno != EINTR) {
            tgx_log_error("ws", "epoll_wait failed: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            struct client *c;
            if (evs[i].data.u64 == 0) {
                uint64_t v;
                if (read(hub->efd, &v, sizeof v) < 0) {
                    /* EAGAIN: another wake-up already consumed it */
                }
                drain_mail(hub);
                continue;
            }
            c = client_find(hub, evs[i].data.u64);
            if (c == NULL)
                continue; /* dropped earlier in this pass */
            if (evs[i].events & EPOLLOUT) {
                if (!client_flush(hub, c))
                    continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                client_readable(hub, c);
        }
        sweep(hub);
    }
    /* stopping: no more adoptions, then close everyone */
    pthread_mutex_lock(&hub->mail_lock);
    hub->stopped = true;
    pthread_mutex_unlock(&hub->mail_lock);
    drain_mail(hub);
    for (size_t b = 0; b < ID_BUCKETS; b++)
        while (hub->by_id[b] != NULL) {
            struct client *c = hub->by_id[b];
            uint8_t p[2] = {TGX_WS_CLOSE_GOING_AWAY >> 8, TGX_WS_CLOSE_GOING_AWAY & 0xff};
            tgx_buf_reset(&c->out);
            c->outoff = 0;
            tgx_ws_encode(&c->out, TGX_WS_CLOSE, p, 2, NULL);
            if (send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
                /* best effort */
            }
            client_drop(hub, c, "server stopping");
        }
    return NULL;
}

/* ---------------------------------------------------------------- worker thread */

static void *worker_main(void *arg)
{
    struct tgx_ws_hub *hub = arg;
    const struct tgx_http_config *cfg = &hub->srv->cfg;

    for (;;) {
        struct sub_job *j;
        struct msg *m;
        pthread_mutex_lock(&hub->work_lock);
        while (hub->work == NULL && !hub->work_stop)
            pthread_cond_wait(&hub->work_cond, &hub->work_lock);
        j = hub->work;
        if (j == NULL) {
            pthread_mutex_unlock(&hub->work_lock);
            break;
        }
        hub->work = j->next;
        if (hub->work == NULL)
            hub->work_tail = NULL;
        pthread_mutex_unlock(&hub->work_lock);

        m = calloc(1, sizeof *m);
        if (m == NULL) {
            free(j);
            continue;
        }
        m->kind = MSG_SUB_RESULT;
        m->client_id = j->client_id;
        snprintf(m->room, sizeof m->room, "%s", j->room);
        snprintf(m->request_id, sizeof m->request_id, "%s", j->request_id);
        m->rc = 0;
        if (cfg->ws_authorize != NULL)
            m->rc =
                cfg->ws_authorize(cfg->ws_ctx, &j->auth, j->kind == TGX_WS_ROOM_JOB ? "job" : "task", j->id);
        if (m->rc == 0 && j->kind == TGX_WS_ROOM_JOB && cfg->ws_snapshot != NULL) {
            json_t *data = NULL;
            int rc = cfg->ws_snapshot(cfg->ws_ctx, &j->auth, j->id, &data);
            if (rc == 0 && data != NULL) {
                char ts[40];
                json_t *f;
                tgx_http_rfc3339_now(ts);
                f = json_pack("{s:s, s:o, s:s}", "type", "JOB_TASKS_SNAPSHOT", "data", data, "timestamp", ts);
                m->text = f != NULL ? json_dumps(f, JSON_COMPACT) : NULL;
                json_decref(f);
            } else if (rc < 0) {
                tgx_log_warning("ws", "could not build the snapshot of job %s: %s", j->id, tgx_err_str(rc));
                json_decref(data);
            }
        }
        free(j);
        post(hub, m);
    }
    return NULL;
}

/* ---------------------------------------------------------------- life cycle */

int tgx_ws_hub_create(struct tgx_http_server *srv, struct tgx_ws_hub **out)
{
    struct tgx_ws_hub *hub = calloc(1, sizeof *hub);
    *out = NULL;
    if (hub == NULL)
        return -TGX_ERR_NOMEM;
    hub->srv = srv;
    hub->ep = hub->efd = -1;
    pthread_mutex_init(&hub->mail_lock, NULL);
    pthread_mutex_init(&hub->work_lock, NULL);
    pthread_cond_init(&hub->work_cond, NULL);
    pthread_mutex_init(&hub->room_lock, NULL);
    pthread_mutex_init(&hub->ip_lock, NULL);
    *out = hub;
    return 0;
}

int tgx_ws_hub_start(struct tgx_ws_hub *hub)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
    if (hub->running)
        return -TGX_ERR_STATE;
    hub->ep = epoll_create1(EPOLL_CLOEXEC);
    hub->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (hub->ep < 0 || hub->efd < 0 || epoll_ctl(hub->ep, EPOLL_CTL_ADD, hub->efd, &ev) < 0) {
        tgx_log_error("ws", "could not create the WebSocket event loop: %s", strerror(errno));
        return -TGX_ERR_IO;
    }
    atomic_store(&hub->stop, false);
    hub->stopped = false;
    hub->work_stop = false;
    if (pthread_create(&hub->thread, NULL, hub_main, hub) != 0)
        return -TGX_ERR_NOMEM;
    if (pthread_create(&hub->worker, NULL, worker_main, hub) != 0) {
        uint64_t one = 1;
        atomic_store(&hub->stop, true);
        if (write(hub->efd, &one, sizeof one) < 0) {
        }
        pthread_join(hub->thread, NULL);
        return -TGX_ERR_NOMEM;
    }
    hub->running = true;
    return 0;
}

void tgx_ws_hub_stop(struct tgx_ws_hub *hub)
{
    uint64_t one = 1;
    if (hub == NULL || !hub->running)
        return;
    pthread_mutex_lock(&hub->work_lock);
    hub->work_stop = true;
    pthread_cond_broadcast(&hub->work_cond);
    pthread_mutex_unlock(&hub->work_lock);
    pthread_join(hub->worker, NULL);
    atomic_store(&hub->stop, true);
    if (write(hub->efd, &one, sizeof one) < 0) {
    }
    pthread_join(hub->thread, NULL);
    hub->running = false;
    /* whatever the worker left behind */
    while (hub->work != NULL) {
        struct sub_job *j = hub->work;
        hub->work = j->next;
        free(j);
    }
    hub->work_tail = NULL;
}

void tgx_ws_hub_free(struct tgx_ws_hub *hub)
{
    if (hub == NULL)
        return;
    tgx_ws_hub_stop(hub);
    {
        struct msg *m = hub->mail;
        while (m != NULL) {
            struct msg *next = m->next;
            if (m->kind == MSG_ADOPT && m->client != NULL) {
                MHD_upgrade_action(m->client->urh, MHD_UPGRADE_ACTION_CLOSE);
                tgx_buf_cleanup(&m->client->out);
                free(m->client);
            }
            msg_free(m);
            m = next;
        }
    }
    for (size_t i = 0; i < IP_BUCKETS; i++)
        while (hub->ips[i] != NULL) {
            struct ip_count *c = hub->ips[i];
            hub->ips[i] = c->next;
            free(c);
        }
    if (hub->ep >= 0)
        close(hub->ep);
    if (hub->efd >= 0)
        close(hub->efd);
    pthread_mutex_destroy(&hub->mail_lock);
    pthread_mutex_destroy(&hub->work_lock);
    pthread_cond_destroy(&hub->work_cond);
    pthread_mutex_destroy(&hub->room_lock);
    pthread_mutex_destroy(&hub->ip_lock);
    free(hub);
}

void tgx_ws_hub_adopt(struct tgx_ws_hub *hub, MHD_socket fd, struct MHD_UpgradeResponseHandle *urh,
                      const char *extra_in, size_t extra_len, const struct tgx_http_auth *auth,
                      const char *ip)
{
    struct client *c = calloc(1, sizeof *c);
    struct msg *m = calloc(1, sizeof *m);
    bool stopped;

    if (c == NULL || m == NULL || extra_len > sizeof c->in) {
        free(c);
        free(m);
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        return;
    }
    c->fd = fd;
    c->urh = urh;
    c->auth = *auth;
    snprintf(c->ip, sizeof c->ip, "%s", ip != NULL ? ip : "");
    memcpy(c->in, extra_in, extra_len);
    c->inlen = extra_len;
    tgx_buf_init(&c->out);
    m->kind = MSG_ADOPT;
    m->client = c;
    if (!ip_adjust(hub, c->ip, +1, WS_PER_IP)) {
        free(c);
        free(m);
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        return;
    }
    atomic_fetch_add(&hub->nclients, 1);
    /* check and append under one lock: the hub's final drain sees every adoption it accepted */
    pthread_mutex_lock(&hub->mail_lock);
    stopped = hub->stopped;
    if (!stopped) {
        if (hub->mail_tail != NULL)
            hub->mail_tail->next = m;
        else
            hub->mail = m;
        hub->mail_tail = m;
    }
    pthread_mutex_unlock(&hub->mail_lock);
    if (stopped) {
        ip_adjust(hub, c->ip, -1, 0);
        atomic_fetch_sub(&hub->nclients, 1);
        free(c);
        free(m);
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        return;
    }
    wake(hub);
}

void tgx_ws_hub_publish(struct tgx_ws_hub *hub, const char *const *rooms, size_t nrooms, const char *text)
{
    struct msg *m = calloc(1, sizeof *m);
    if (m == NULL)
        return;
    m->kind = MSG_PUBLISH;
    m->rooms = calloc(nrooms ? nrooms : 1, sizeof *m->rooms);
    m->text = strdup(text);
    if (m->rooms == NULL || m->text == NULL) {
        msg_free(m);
        return;
    }
    for (size_t i = 0; i < nrooms; i++) {
        m->rooms[i] = strdup(rooms[i]);
        if (m->rooms[i] == NULL) {
            msg_free(m);
            return;
        }
        m->nrooms = i + 1;
    }
    post(hub, m);
}
