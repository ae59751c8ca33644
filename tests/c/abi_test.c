/* C ABI test of msntv-messenger: calls every msgr_* function through the public header only,
 * with every bad-argument case, re-entrant calls from inside each hook, calls in the wrong
 * state, and a real MSNP7 sign-in and conversation played in process by fake transport hooks
 * that act as a scripted server.
 *
 * C99, freestanding: no libc (the guest has none). Output goes through board_puts and
 * board_put_u32 (abi_test.h). Built on the host by tests/c_abi.rs and for the QEMU guest by
 * board/qemu-malta (bin c-abi-test).
 *
 * The scripted server lines follow the MSNP7 sessions recorded against Escargot
 * (../shared/transcripts/escargot, accounts alice/bob/carol/dave); the MD5 answer for alice is the
 * one given in that directory's README. */
#include "msntv_messenger.h"
#include "abi_test.h"

/* ----- checks ------------------------------------------------------------------------------ */

static uint32_t g_passed;
static uint32_t g_failed;

static void check(int ok, const char *what, int line)
{
    if (ok) {
        g_passed++;
        return;
    }
    g_failed++;
    board_puts("FAIL abi_test.c:");
    board_put_u32((uint32_t)line);
    board_puts(": ");
    board_puts(what);
    board_puts("\n");
}

static void check_res(msgr_result got, msgr_result want, const char *what, int line)
{
    if (got == want) {
        g_passed++;
        return;
    }
    g_failed++;
    board_puts("FAIL abi_test.c:");
    board_put_u32((uint32_t)line);
    board_puts(": ");
    board_puts(what);
    board_puts(": got ");
    board_put_u32((uint32_t)got);
    board_puts(" (");
    board_puts(msgr_strerror((uint32_t)got));
    board_puts("), want ");
    board_put_u32((uint32_t)want);
    board_puts(" (");
    board_puts(msgr_strerror((uint32_t)want));
    board_puts(")\n");
}

#define CHECK(c) check((c) ? 1 : 0, #c, __LINE__)
#define CHECK_RES(call, want) check_res((call), (want), #call, __LINE__)

/* ----- tiny string helpers (no libc) ------------------------------------------------------- */

static size_t t_strlen(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    return n;
}

static int t_memeq(const void *a, const void *b, size_t n)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;
    size_t i;
    for (i = 0; i < n; i++) {
        if (x[i] != y[i]) {
            return 0;
        }
    }
    return 1;
}

static void t_memcpy(void *d, const void *s, size_t n)
{
    unsigned char *x = (unsigned char *)d;
    const unsigned char *y = (const unsigned char *)s;
    size_t i;
    for (i = 0; i < n; i++) {
        x[i] = y[i];
    }
}

static void t_memset(void *d, int v, size_t n)
{
    unsigned char *x = (unsigned char *)d;
    size_t i;
    for (i = 0; i < n; i++) {
        x[i] = (unsigned char)v;
    }
}

/* Does the msgr_str equal the NUL-terminated literal? */
static int str_is(msgr_str s, const char *lit)
{
    size_t n = t_strlen(lit);
    if (s.len != n) {
        return 0;
    }
    if (n == 0) {
        return 1;
    }
    return s.ptr != 0 && t_memeq(s.ptr, lit, n);
}

/* Does `hay` (length n) start with the literal? */
static int starts_with(const char *hay, size_t n, const char *lit)
{
    size_t m = t_strlen(lit);
    return n >= m && t_memeq(hay, lit, m);
}

/* Does `hay` (length n) contain the literal? */
static int contains(const char *hay, size_t n, const char *lit)
{
    size_t m = t_strlen(lit);
    size_t i;
    if (m > n) {
        return 0;
    }
    for (i = 0; i + m <= n; i++) {
        if (t_memeq(hay + i, lit, m)) {
            return 1;
        }
    }
    return 0;
}

/* Parse a decimal number at *p, advancing it. */
static uint32_t parse_u32(const char **p, const char *end)
{
    uint32_t v = 0;
    while (*p < end && **p >= '0' && **p <= '9') {
        v = v * 10u + (uint32_t)(**p - '0');
        (*p)++;
    }
    return v;
}

/* Append the decimal form of v to buf at *n. */
static void put_dec(char *buf, size_t cap, size_t *n, uint32_t v)
{
    char tmp[10];
    size_t k = 0;
    do {
        tmp[k++] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0 && k < sizeof tmp);
    while (k > 0 && *n + 1 < cap) {
        buf[(*n)++] = tmp[--k];
    }
    buf[*n] = '\0';
}

/* Append a literal to buf at *n. */
static void put_str(char *buf, size_t cap, size_t *n, const char *s)
{
    while (*s != '\0' && *n + 1 < cap) {
        buf[(*n)++] = *s++;
    }
    buf[*n] = '\0';
}

/* Print `len` bytes, escaping CR and LF, for failure reports. */
static void put_escaped(const char *s, size_t len)
{
    char one[2];
    size_t i;
    one[1] = '\0';
    for (i = 0; i < len; i++) {
        if (s[i] == '\r') {
            board_puts("\\r");
        } else if (s[i] == '\n') {
            board_puts("\\n");
        } else {
            one[0] = s[i];
            board_puts(one);
        }
    }
}

/* ----- the fake network: hooks and a scripted server --------------------------------------- */

#define MAX_CONN 8
#define OUT_CAP 8192

typedef struct {
    int open;
    char host[64];
    size_t host_len;
    uint16_t port;
    uint8_t out[OUT_CAP];
    size_t out_len;
} fake_conn;

enum { PROBE_NONE = 0, PROBE_OPEN = 1, PROBE_SEND = 2, PROBE_CLOSE = 4 };

typedef struct {
    fake_conn conn[MAX_CONN];
    uint32_t opens, sends, closes;
    uint32_t last_open, last_close;
    int32_t send_take; /* < 0: take everything; else at most this many bytes per call */
    int send_fail;     /* the send hook reports a failed connection */
    int open_fail;     /* the open hook refuses to start */
    int probe;         /* PROBE_* bits: hooks that still have to run their re-entrancy probe */
    msgr_client *client;
} fake_net;

static fake_net g_net;
static uint64_t g_now = 1000;

static void reentry_probe(const char *hook);

static int32_t hook_open(void *userdata, uint32_t conn, const char *host, size_t host_len,
                         uint16_t port)
{
    fake_net *n = (fake_net *)userdata;
    n->opens++;
    n->last_open = conn;
    if (n->probe & PROBE_OPEN) {
        n->probe &= ~PROBE_OPEN;
        reentry_probe("open");
    }
    if (n->open_fail || conn >= MAX_CONN || host_len > sizeof n->conn[0].host) {
        return -1;
    }
    n->conn[conn].open = 1;
    t_memcpy(n->conn[conn].host, host, host_len);
    n->conn[conn].host_len = host_len;
    n->conn[conn].port = port;
    n->conn[conn].out_len = 0;
    return 0;
}

static int32_t hook_send(void *userdata, uint32_t conn, const uint8_t *buf, size_t len)
{
    fake_net *n = (fake_net *)userdata;
    fake_conn *c;
    size_t take = len;
    n->sends++;
    if (n->probe & PROBE_SEND) {
        n->probe &= ~PROBE_SEND;
        reentry_probe("send");
    }
    if (n->send_fail || conn >= MAX_CONN) {
        return -1;
    }
    c = &n->conn[conn];
    if (n->send_take >= 0 && take > (size_t)n->send_take) {
        take = (size_t)n->send_take;
    }
    if (take > OUT_CAP - c->out_len) {
        take = OUT_CAP - c->out_len;
    }
    t_memcpy(c->out + c->out_len, buf, take);
    c->out_len += take;
    return (int32_t)take;
}

static void hook_close(void *userdata, uint32_t conn)
{
    fake_net *n = (fake_net *)userdata;
    n->closes++;
    n->last_close = conn;
    if (n->probe & PROBE_CLOSE) {
        n->probe &= ~PROBE_CLOSE;
        reentry_probe("close");
    }
    if (conn < MAX_CONN) {
        n->conn[conn].open = 0;
    }
}

static msgr_transport fake_transport(void)
{
    msgr_transport t;
    t.userdata = &g_net;
    t.open = hook_open;
    t.send = hook_send;
    t.close = hook_close;
    return t;
}

static void net_reset(void)
{
    t_memset(&g_net, 0, sizeof g_net);
    g_net.send_take = -1;
}

/* Take the first line (through CR LF) the client sent on `conn` into buf; its length, or 0. */
static size_t pop_line(uint32_t conn, char *buf, size_t cap)
{
    fake_conn *c = &g_net.conn[conn];
    size_t i;
    for (i = 0; i + 1 < c->out_len; i++) {
        if (c->out[i] == '\r' && c->out[i + 1] == '\n') {
            size_t n = i + 2;
            size_t k;
            if (n >= cap) {
                return 0;
            }
            t_memcpy(buf, c->out, n);
            buf[n] = '\0';
            for (k = n; k < c->out_len; k++) {
                c->out[k - n] = c->out[k];
            }
            c->out_len -= n;
            return n;
        }
    }
    return 0;
}

/* Take `n` raw bytes (a payload) the client sent on `conn`; 1 if they were there. */
static int pop_bytes(uint32_t conn, char *buf, size_t n)
{
    fake_conn *c = &g_net.conn[conn];
    size_t k;
    if (c->out_len < n) {
        return 0;
    }
    t_memcpy(buf, c->out, n);
    for (k = n; k < c->out_len; k++) {
        c->out[k - n] = c->out[k];
    }
    c->out_len -= n;
    return 1;
}

/* Check that the client's next line on `conn` is exactly `want` (CR LF included). */
static void expect_line_at(uint32_t conn, const char *want, int line)
{
    char got[512];
    size_t n = pop_line(conn, got, sizeof got);
    size_t m = t_strlen(want);
    if (n == m && t_memeq(got, want, m)) {
        g_passed++;
        return;
    }
    g_failed++;
    board_puts("FAIL abi_test.c:");
    board_put_u32((uint32_t)line);
    board_puts(": client sent \"");
    put_escaped(got, n);
    board_puts("\", want \"");
    put_escaped(want, m);
    board_puts("\"\n");
}
#define EXPECT_LINE(conn, want) expect_line_at((conn), (want), __LINE__)

/* Take the client's next line on `conn`, check it starts with `prefix`, and return its TrID
 * (the number after the verb); 0 if the line is not there. */
static uint32_t expect_trid_at(uint32_t conn, const char *prefix, char *line_out, size_t cap,
                               int line)
{
    char got[512];
    size_t n = pop_line(conn, got, sizeof got);
    const char *p = got + 4;
    uint32_t trid;
    if (n == 0 || !starts_with(got, n, prefix)) {
        g_failed++;
        board_puts("FAIL abi_test.c:");
        board_put_u32((uint32_t)line);
        board_puts(": client sent \"");
        put_escaped(got, n);
        board_puts("\", want a line starting \"");
        board_puts(prefix);
        board_puts("\"\n");
        return 0;
    }
    g_passed++;
    trid = parse_u32(&p, got + n);
    if (line_out != 0 && cap > 0) {
        size_t k = n < cap - 1 ? n : cap - 1;
        t_memcpy(line_out, got, k);
        line_out[k] = '\0';
    }
    return trid;
}
#define EXPECT_TRID(conn, prefix) expect_trid_at((conn), (prefix), 0, 0, __LINE__)

/* Check that the client sent nothing (more) on `conn`. */
#define EXPECT_QUIET(cn) check(g_net.conn[(cn)].out_len == 0, "nothing more sent on conn " #cn, __LINE__)

/* ----- events ------------------------------------------------------------------------------ */

#define EV_MAX 64

typedef struct {
    uint32_t kind, conversation, message, status, code;
    bool online;
    char passport[128];
    size_t passport_len;
    char name[160];
    size_t name_len;
    char text[512];
    size_t text_len;
    int used;
} ev_copy;

static ev_copy g_ev[EV_MAX];
static uint32_t g_ev_len;

static void copy_str(char *d, size_t cap, size_t *dl, msgr_str s)
{
    size_t n = s.len < cap ? s.len : cap;
    if (n > 0 && s.ptr != 0) {
        t_memcpy(d, s.ptr, n);
    }
    *dl = n;
}

/* Poll every event (copying its strings: they live only until the next call). */
static void drain_at(msgr_client *c, int line)
{
    uint32_t guard = 0;
    for (;;) {
        msgr_event e;
        msgr_result r = msgr_client_poll_event(c, &e);
        if (r != MSGR_RESULT_OK) {
            check_res(r, MSGR_RESULT_OK, "msgr_client_poll_event", line);
            return;
        }
        if (e.kind == MSGR_EVENT_KIND_NONE) {
            return;
        }
        if (++guard > 200) {
            check(0, "event queue drains", line);
            return;
        }
        if (g_ev_len < EV_MAX) {
            ev_copy *d = &g_ev[g_ev_len++];
            d->kind = e.kind;
            d->conversation = e.conversation;
            d->message = e.message;
            d->status = e.status;
            d->code = e.code;
            d->online = e.online;
            copy_str(d->passport, sizeof d->passport, &d->passport_len, e.passport);
            copy_str(d->name, sizeof d->name, &d->name_len, e.name);
            copy_str(d->text, sizeof d->text, &d->text_len, e.text);
            d->used = 0;
        }
    }
}
#define DRAIN(c) drain_at((c), __LINE__)

static void events_clear(void)
{
    g_ev_len = 0;
}

/* Take the first unused event of `kind`, or report its absence (listing what did arrive). */
static ev_copy *take_event_at(uint32_t kind, int line)
{
    uint32_t i;
    for (i = 0; i < g_ev_len; i++) {
        if (!g_ev[i].used && g_ev[i].kind == kind) {
            g_ev[i].used = 1;
            g_passed++;
            return &g_ev[i];
        }
    }
    g_failed++;
    board_puts("FAIL abi_test.c:");
    board_put_u32((uint32_t)line);
    board_puts(": no event of kind ");
    board_put_u32(kind);
    board_puts("; unused events:");
    for (i = 0; i < g_ev_len; i++) {
        if (!g_ev[i].used) {
            board_puts(" ");
            board_put_u32(g_ev[i].kind);
        }
    }
    board_puts("\n");
    return 0;
}
#define TAKE_EVENT(kind) take_event_at((kind), __LINE__)

static int ev_is(const char *s, size_t n, const char *lit)
{
    return n == t_strlen(lit) && t_memeq(s, lit, n);
}

/* Feed server bytes on `conn` (all of them, draining events between partial takes). */
static void feed_at(msgr_client *c, uint32_t conn, const char *data, int line)
{
    size_t len = t_strlen(data);
    size_t off = 0;
    uint32_t rounds = 0;
    while (off < len) {
        size_t used = 0;
        msgr_result r =
            msgr_client_received(c, g_now, conn, (const uint8_t *)data + off, len - off, &used);
        if (r != MSGR_RESULT_OK) {
            check_res(r, MSGR_RESULT_OK, "msgr_client_received", line);
            return;
        }
        off += used;
        DRAIN(c);
        if (++rounds > 64) {
            check(0, "the client takes the fed bytes", line);
            return;
        }
    }
}
#define FEED(c, conn, data) feed_at((c), (conn), (data), __LINE__)

/* Feed a switchboard `MSG` from the server: `head` (such as "MSG bob@example.com Bob ") then
 * the payload's length, CR LF and the payload. */
static void feed_msg_at(msgr_client *c, uint32_t conn, const char *head, const char *payload,
                        int line)
{
    static char buf[2048];
    size_t n = 0;
    put_str(buf, sizeof buf, &n, head);
    put_dec(buf, sizeof buf, &n, (uint32_t)t_strlen(payload));
    put_str(buf, sizeof buf, &n, "\r\n");
    put_str(buf, sizeof buf, &n, payload);
    feed_at(c, conn, buf, line);
}
#define FEED_MSG(c, conn, head, payload) feed_msg_at((c), (conn), (head), (payload), __LINE__)

/* ----- configuration ----------------------------------------------------------------------- */

#define ARENA_CAP (192u * 1024u)
static uint64_t g_arena_words[ARENA_CAP / 8u + 1u];
static uint64_t g_arena2_words[ARENA_CAP / 8u + 1u];

static const char ALICE[] = "alice@example.com";
static const char BOB[] = "bob@example.com";
static const char CAROL[] = "carol@example.com";
static const char DAVE[] = "dave@example.com";
static const char BAD_UTF8[] = "\xff\xfe\xfd";
static char g_big[40000];

static msgr_config base_config(void)
{
    msgr_config cfg;
    t_memset(&cfg, 0, sizeof cfg);
    cfg.passport = ALICE;
    cfg.passport_len = t_strlen(ALICE);
    cfg.password = "alice123";
    cfg.password_len = 8;
    cfg.server_host = "127.0.0.1";
    cfg.server_host_len = 9;
    cfg.server_port = 1863;
    cfg.msnp_versions = 1u << 7; /* MSNP7 only: MD5 login, groups */
    cfg.login_mode = MSGR_LOGIN_MODE_PASSWORD;
    cfg.limits.contacts = 20;
    cfg.limits.groups = 8;
    cfg.limits.conversations = 2;
    cfg.limits.queued_messages = 4;
    return cfg;
}

/* Make a client in `arena` with `cfg` and the fake hooks, checking it succeeds. */
static msgr_client *make_client_at(uint64_t *arena, const msgr_config *cfg, int line)
{
    msgr_transport t = fake_transport();
    msgr_client *c = 0;
    size_t need = msgr_client_arena_size(&cfg->limits);
    check(need > 0 && need <= ARENA_CAP, "arena size fits the test's arena", line);
    check_res(msgr_client_init(arena, ARENA_CAP, cfg, &t, &c), MSGR_RESULT_OK,
              "msgr_client_init", line);
    check(c != 0, "msgr_client_init gives a handle", line);
    return c;
}
#define MAKE_CLIENT(arena, cfg) make_client_at((arena), (cfg), __LINE__)

/* ----- msgr_strerror and msgr_abi_version --------------------------------------------------- */

static void test_strerror(void)
{
    static const uint32_t known[] = {
        MSGR_RESULT_OK, MSGR_RESULT_NULL_PARAMETER, MSGR_RESULT_INVALID_PARAMETER,
        MSGR_RESULT_NOT_UTF8, MSGR_RESULT_TOO_LONG, MSGR_RESULT_EMPTY, MSGR_RESULT_REENTRANT,
        MSGR_RESULT_WRONG_STATE, MSGR_RESULT_ARENA_TOO_SMALL, MSGR_RESULT_ARENA_MISALIGNED,
        MSGR_RESULT_PANIC, MSGR_RESULT_BUFFER_TOO_SMALL, MSGR_RESULT_MALFORMED,
        MSGR_RESULT_UNEXPECTED, MSGR_RESULT_CAPACITY, MSGR_RESULT_AUTH, MSGR_RESULT_SERVER,
        MSGR_RESULT_TIMEOUT, MSGR_RESULT_CLOSED, MSGR_RESULT_NOT_AUTHORIZED,
    };
    static const uint32_t unknown[] = {1, 200, 911, 7000, 7012, 7100, 7109, 0xffffffffu};
    const char *generic = msgr_strerror(4242);
    size_t i, j;
    CHECK(msgr_abi_version() == 2);
    CHECK(generic != 0 && ev_is(generic, t_strlen(generic), "unknown result code"));
    for (i = 0; i < sizeof known / sizeof known[0]; i++) {
        const char *s = msgr_strerror(known[i]);
        CHECK(s != 0 && t_strlen(s) > 0 && s != generic);
        for (j = 0; j < i; j++) {
            CHECK(msgr_strerror(known[j]) != s);
        }
    }
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK(msgr_strerror(unknown[i]) == generic);
    }
    CHECK(ev_is(msgr_strerror(MSGR_RESULT_REENTRANT), t_strlen(msgr_strerror(MSGR_RESULT_REENTRANT)),
                "call not allowed from inside a hook"));
}

/* ----- msgr_client_arena_size and msgr_client_init ----------------------------------------- */

static void test_init_args(void)
{
    msgr_config cfg = base_config();
    msgr_transport t = fake_transport();
    msgr_client *c = 0;
    msgr_limits l;
    size_t need = msgr_client_arena_size(&cfg.limits);
    size_t dflt = msgr_client_arena_size(0);

    net_reset();
    CHECK(need > 0);
    CHECK(dflt > need); /* 150 contacts need more than 20 */
    t_memset(&l, 0, sizeof l);
    CHECK(msgr_client_arena_size(&l) == dflt);
    l.groups = 31;
    CHECK(msgr_client_arena_size(&l) == 0);
    l.groups = 0;
    l.contact_bytes = 65536; /* the name pool's offsets are 16-bit */
    CHECK(msgr_client_arena_size(&l) == 0);
    l.contact_bytes = 1000; /* less than the default for 150 contacts: a smaller arena */
    CHECK(msgr_client_arena_size(&l) > 0 && msgr_client_arena_size(&l) < dflt);
    l.contact_bytes = 0;
    l.contacts = 4097;
    CHECK(msgr_client_arena_size(&l) == 0);

    CHECK_RES(msgr_client_init(0, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, 0, &t, &c), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, 0, &c), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, 0), MSGR_RESULT_NULL_PARAMETER);
    CHECK(c == 0);
    t.open = 0;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_NULL_PARAMETER);
    t = fake_transport();
    t.send = 0;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_NULL_PARAMETER);
    t = fake_transport();
    t.close = 0;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_NULL_PARAMETER);
    t = fake_transport();

    /* arena too small: zero, one byte short */
    CHECK_RES(msgr_client_init(g_arena_words, 0, &cfg, &t, &c), MSGR_RESULT_ARENA_TOO_SMALL);
    CHECK_RES(msgr_client_init(g_arena_words, need - 1, &cfg, &t, &c), MSGR_RESULT_ARENA_TOO_SMALL);
    CHECK(c == 0);

    /* limits */
    cfg.limits.groups = 31;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c),
              MSGR_RESULT_INVALID_PARAMETER);
    cfg = base_config();
    cfg.limits.conversations = 100000;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c),
              MSGR_RESULT_INVALID_PARAMETER);

    /* passport: NULL, empty, no '@', not UTF-8, too long */
    cfg = base_config();
    cfg.passport = 0;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_NULL_PARAMETER);
    cfg.passport = ALICE;
    cfg.passport_len = 0;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_EMPTY);
    cfg.passport = "alice";
    cfg.passport_len = 5;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c),
              MSGR_RESULT_INVALID_PARAMETER);
    cfg.passport = BAD_UTF8;
    cfg.passport_len = 3;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_NOT_UTF8);
    cfg.passport = g_big;
    cfg.passport_len = 200;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_TOO_LONG);

    /* password: empty in password mode, NULL with a length, not UTF-8 */
    cfg = base_config();
    cfg.password_len = 0;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_EMPTY);
    cfg.password = 0;
    cfg.password_len = 4;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_NULL_PARAMETER);
    cfg.password = BAD_UTF8;
    cfg.password_len = 3;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_NOT_UTF8);

    /* server host: NULL with a length, not UTF-8, too long for a host name */
    cfg = base_config();
    cfg.server_host = 0;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_NULL_PARAMETER);
    cfg.server_host = BAD_UTF8;
    cfg.server_host_len = 3;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_NOT_UTF8);
    cfg.server_host = g_big;
    cfg.server_host_len = 100;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_TOO_LONG);
    cfg.server_host_len = 300;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_TOO_LONG);

    /* enums and version masks */
    cfg = base_config();
    cfg.login_mode = 3;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c),
              MSGR_RESULT_INVALID_PARAMETER);
    cfg.login_mode = 0xffffffffu;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c),
              MSGR_RESULT_INVALID_PARAMETER);
    cfg = base_config();
    cfg.msnp_versions = 1u << 1; /* MSNP1 does not exist */
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c),
              MSGR_RESULT_INVALID_PARAMETER);
    cfg.msnp_versions = 1u << 9;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c),
              MSGR_RESULT_INVALID_PARAMETER);
    cfg.msnp_versions = 1u << 8; /* MSNP8 needs a Passport ticket: not with a password */
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c),
              MSGR_RESULT_INVALID_PARAMETER);

    /* WTVP mode: host and port required, SSID of 16 hex digits */
    cfg = base_config();
    cfg.login_mode = MSGR_LOGIN_MODE_WTVP;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_EMPTY);
    cfg.wtvp_host = "127.0.0.1";
    cfg.wtvp_host_len = 9;
    cfg.wtvp_port = 1615;
    cfg.ssid = "81zz00ab12cd34ef";
    cfg.ssid_len = 16;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c),
              MSGR_RESULT_INVALID_PARAMETER);
    cfg.ssid = "8100";
    cfg.ssid_len = 4;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c),
              MSGR_RESULT_INVALID_PARAMETER);
    cfg.ssid = 0;
    cfg.ssid_len = 16;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_NULL_PARAMETER);
    cfg.ssid = "8100aa00bb11cc22";
    cfg.wtvp_host = BAD_UTF8;
    cfg.wtvp_host_len = 3;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_NOT_UTF8);
    cfg.wtvp_host = "127.0.0.1";
    cfg.wtvp_host_len = 9;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_OK);
    CHECK(c != 0);
    msgr_client_deinit(c);
    c = 0;

    /* head-waiter block: NULL with a length; Messenger not authorised */
    cfg = base_config();
    cfg.headwaiter = 0;
    cfg.headwaiter_len = 10;
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c), MSGR_RESULT_NULL_PARAMETER);
    cfg.headwaiter = "wtv-messenger-authorized: 0\r\nwtv-messenger-enable: 1\r\n"
                     "wtv-user-name: alice\r\n";
    cfg.headwaiter_len = t_strlen(cfg.headwaiter);
    CHECK_RES(msgr_client_init(g_arena_words, ARENA_CAP, &cfg, &t, &c),
              MSGR_RESULT_NOT_AUTHORIZED);
    CHECK(c == 0);

    /* the arena needs no particular alignment: the core aligns inside it */
    cfg = base_config();
    CHECK_RES(msgr_client_init((uint8_t *)g_arena_words + 1, need, &cfg, &t, &c), MSGR_RESULT_OK);
    CHECK(c != 0);
    CHECK(msgr_client_arena_high_water(c) > 0);
    CHECK(msgr_client_arena_high_water(c) <= need);
    msgr_client_deinit(c);
    /* the exact size msgr_client_arena_size gives is enough (defaults too) */
    c = 0;
    cfg.limits.contacts = 0;
    cfg.limits.groups = 0;
    cfg.limits.conversations = 0;
    cfg.limits.queued_messages = 0;
    CHECK(dflt <= ARENA_CAP);
    CHECK_RES(msgr_client_init(g_arena_words, dflt, &cfg, &t, &c), MSGR_RESULT_OK);
    CHECK(msgr_client_arena_high_water(c) <= dflt);
    msgr_client_deinit(c);
    msgr_client_deinit(0); /* NULL is ignored */
    CHECK(g_net.opens == 0 && g_net.sends == 0 && g_net.closes == 0);
}

/* ----- every function with a NULL handle ---------------------------------------------------- */

static void test_null_handle(void)
{
    msgr_event e;
    msgr_contact ct;
    uint64_t t;
    uint32_t id;
    size_t n;
    uint8_t buf[16];
    msgr_client *c = 0;
    CHECK(msgr_client_arena_high_water(c) == 0);
    CHECK(msgr_client_contact_count(c) == 0);
    CHECK(!msgr_client_input_paused(c, 0));
    CHECK_RES(msgr_client_connected(c, g_now, 0), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_received(c, g_now, 0, buf, 1, &n), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_closed(c, g_now, 0), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_tick(c, g_now), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_next_timeout(c, &t), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_poll_event(c, &e), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_login_reply(c, g_now, 200, 0, 0, 0, 0, 0, 0), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_login_failed(c, g_now), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_sign_in(c, g_now), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_sign_out(c, g_now), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_user_activity(c, g_now), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_set_status(c, g_now, MSGR_STATUS_BUSY), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_set_ims(c, g_now, true), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_add_contact(c, g_now, MSGR_LIST_FORWARD, BOB, 15, 0, 0),
              MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_remove_contact(c, g_now, MSGR_LIST_FORWARD, BOB, 15),
              MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_block(c, g_now, BOB, 15), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_allow(c, g_now, BOB, 15), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_answer_added(c, g_now, BOB, 15, true), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_rename_self(c, g_now, "Al", 2), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_rename_contact(c, g_now, BOB, 15, "B", 1), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_add_group(c, g_now, "G", 1), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_remove_group(c, g_now, 1), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_rename_group(c, g_now, 1, "G", 1), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_set_privacy(c, g_now, true, true), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_request_url(c, g_now, "INBOX", 5), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_send_email_invite(c, g_now, DAVE, 16), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_page(c, g_now, BOB, 15, "hi", 2), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_open_conversation(c, g_now, BOB, 15, &id), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_invite(c, g_now, 1, BOB, 15), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_send_message(c, g_now, 1, "hi", 2, &id), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_send_typing(c, g_now, 1), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_leave(c, g_now, 1), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_contact_at(c, 0, &ct), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_save_lists(c, buf, sizeof buf, &n), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_restore_lists(c, buf, sizeof buf), MSGR_RESULT_NULL_PARAMETER);
}

/* ----- bad arguments and wrong state on a client that has not signed in --------------------- */

static void test_fresh_client_args(void)
{
    msgr_config cfg = base_config();
    msgr_client *c;
    msgr_contact ct;
    msgr_event e;
    uint64_t t = 0;
    uint32_t id = 0;
    size_t n = 0;
    uint8_t buf[64];
    const char *nul = 0;

    net_reset();
    c = MAKE_CLIENT(g_arena_words, &cfg);
    if (c == 0) {
        return;
    }
    /* output pointers */
    CHECK_RES(msgr_client_next_timeout(c, 0), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_poll_event(c, 0), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_contact_at(c, 0, 0), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_received(c, g_now, 0, buf, 1, 0), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_received(c, g_now, 0, 0, 1, &n), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_open_conversation(c, g_now, BOB, 15, 0), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_send_message(c, g_now, 1, "hi", 2, 0), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_save_lists(c, 0, 64, &n), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_save_lists(c, buf, sizeof buf, 0), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_save_lists(c, buf, 1, &n), MSGR_RESULT_BUFFER_TOO_SMALL);
    CHECK_RES(msgr_client_restore_lists(c, 0, 8), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_restore_lists(c, (const uint8_t *)"garbage!", 8), MSGR_RESULT_MALFORMED);
    CHECK_RES(msgr_client_restore_lists(c, buf, 0), MSGR_RESULT_MALFORMED);
    CHECK_RES(msgr_client_login_reply(c, g_now, 200, 0, 3, 0, 0, 0, 0), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_login_reply(c, g_now, 200, 0, 0, 0, 3, 0, 0), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_login_reply(c, g_now, 200, 0, 0, 0, 0, 0, 3), MSGR_RESULT_NULL_PARAMETER);

    /* nothing to report before sign-in */
    CHECK_RES(msgr_client_next_timeout(c, &t), MSGR_RESULT_OK);
    CHECK(t == UINT64_MAX);
    CHECK_RES(msgr_client_poll_event(c, &e), MSGR_RESULT_OK);
    CHECK(e.kind == MSGR_EVENT_KIND_NONE);
    CHECK(msgr_client_contact_count(c) == 0);
    CHECK_RES(msgr_client_contact_at(c, 0, &ct), MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_tick(c, g_now), MSGR_RESULT_OK);

    /* connection numbers: unknown ones are refused */
    CHECK_RES(msgr_client_connected(c, g_now, 99), MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_closed(c, g_now, 99), MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_received(c, g_now, 99, buf, 1, &n), MSGR_RESULT_INVALID_PARAMETER);
    CHECK(!msgr_client_input_paused(c, 99));
    CHECK(!msgr_client_input_paused(c, 0));
    CHECK_RES(msgr_client_connected(c, g_now, 2), MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_connected(c, g_now, 0xffffffffu), MSGR_RESULT_INVALID_PARAMETER);
    /* no NS connection was asked for */
    CHECK_RES(msgr_client_connected(c, g_now, 0), MSGR_RESULT_INVALID_PARAMETER);

    /* bad enum values (checked before the state) */
    CHECK_RES(msgr_client_set_status(c, g_now, MSGR_STATUS_OFFLINE), MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_set_status(c, g_now, MSGR_STATUS_UNKNOWN), MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_set_status(c, g_now, 77), MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_add_contact(c, g_now, MSGR_LIST_REVERSE, BOB, 15, 0, 0),
              MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_add_contact(c, g_now, 9, BOB, 15, 0, 0), MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_remove_contact(c, g_now, MSGR_LIST_REVERSE, BOB, 15),
              MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_remove_contact(c, g_now, 4, BOB, 15), MSGR_RESULT_INVALID_PARAMETER);

    /* strings: NULL with a length, empty, not UTF-8, too long -- for every text argument */
    CHECK_RES(msgr_client_add_contact(c, g_now, 0, nul, 15, 0, 0), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_add_contact(c, g_now, 0, BOB, 0, 0, 0), MSGR_RESULT_EMPTY);
    CHECK_RES(msgr_client_add_contact(c, g_now, 0, BAD_UTF8, 3, 0, 0), MSGR_RESULT_NOT_UTF8);
    CHECK_RES(msgr_client_add_contact(c, g_now, 0, g_big, 200, 0, 0), MSGR_RESULT_TOO_LONG);
    CHECK_RES(msgr_client_add_contact(c, g_now, 0, BOB, 15, nul, 3), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_add_contact(c, g_now, 0, BOB, 15, BAD_UTF8, 3), MSGR_RESULT_NOT_UTF8);
    CHECK_RES(msgr_client_remove_contact(c, g_now, 0, nul, 15), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_remove_contact(c, g_now, 0, BOB, 0), MSGR_RESULT_EMPTY);
    CHECK_RES(msgr_client_remove_contact(c, g_now, 0, BAD_UTF8, 3), MSGR_RESULT_NOT_UTF8);
    CHECK_RES(msgr_client_remove_contact(c, g_now, 0, g_big, 200), MSGR_RESULT_TOO_LONG);
    CHECK_RES(msgr_client_block(c, g_now, nul, 15), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_block(c, g_now, BOB, 0), MSGR_RESULT_EMPTY);
    CHECK_RES(msgr_client_block(c, g_now, BAD_UTF8, 3), MSGR_RESULT_NOT_UTF8);
    CHECK_RES(msgr_client_block(c, g_now, g_big, 200), MSGR_RESULT_TOO_LONG);
    CHECK_RES(msgr_client_allow(c, g_now, nul, 15), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_allow(c, g_now, BOB, 0), MSGR_RESULT_EMPTY);
    CHECK_RES(msgr_client_allow(c, g_now, BAD_UTF8, 3), MSGR_RESULT_NOT_UTF8);
    CHECK_RES(msgr_client_allow(c, g_now, g_big, 200), MSGR_RESULT_TOO_LONG);
    CHECK_RES(msgr_client_answer_added(c, g_now, nul, 15, true), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_answer_added(c, g_now, BOB, 0, true), MSGR_RESULT_EMPTY);
    CHECK_RES(msgr_client_answer_added(c, g_now, BAD_UTF8, 3, false), MSGR_RESULT_NOT_UTF8);
    CHECK_RES(msgr_client_answer_added(c, g_now, g_big, 200, false), MSGR_RESULT_TOO_LONG);
    CHECK_RES(msgr_client_rename_self(c, g_now, nul, 3), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_rename_self(c, g_now, "x", 0), MSGR_RESULT_EMPTY);
    CHECK_RES(msgr_client_rename_self(c, g_now, BAD_UTF8, 3), MSGR_RESULT_NOT_UTF8);
    CHECK_RES(msgr_client_rename_self(c, g_now, g_big, 1000), MSGR_RESULT_TOO_LONG);
    CHECK_RES(msgr_client_rename_contact(c, g_now, nul, 15, "B", 1), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_rename_contact(c, g_now, BOB, 15, nul, 1), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_rename_contact(c, g_now, BOB, 0, "B", 1), MSGR_RESULT_EMPTY);
    CHECK_RES(msgr_client_rename_contact(c, g_now, BOB, 15, "B", 0), MSGR_RESULT_EMPTY);
    CHECK_RES(msgr_client_rename_contact(c, g_now, BOB, 15, BAD_UTF8, 3), MSGR_RESULT_NOT_UTF8);
    CHECK_RES(msgr_client_rename_contact(c, g_now, g_big, 200, "B", 1), MSGR_RESULT_TOO_LONG);
    CHECK_RES(msgr_client_rename_contact(c, g_now, BOB, 15, g_big, 1000), MSGR_RESULT_TOO_LONG);
    CHECK_RES(msgr_client_add_group(c, g_now, nul, 3), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_add_group(c, g_now, "G", 0), MSGR_RESULT_EMPTY);
    CHECK_RES(msgr_client_add_group(c, g_now, BAD_UTF8, 3), MSGR_RESULT_NOT_UTF8);
    CHECK_RES(msgr_client_add_group(c, g_now, g_big, 1000), MSGR_RESULT_TOO_LONG);
    CHECK_RES(msgr_client_rename_group(c, g_now, 1, nul, 3), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_rename_group(c, g_now, 1, "G", 0), MSGR_RESULT_EMPTY);
    CHECK_RES(msgr_client_rename_group(c, g_now, 1, BAD_UTF8, 3), MSGR_RESULT_NOT_UTF8);
    CHECK_RES(msgr_client_rename_group(c, g_now, 1, g_big, 1000), MSGR_RESULT_TOO_LONG);
    CHECK_RES(msgr_client_request_url(c, g_now, nul, 5), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_request_url(c, g_now, "INBOX", 0), MSGR_RESULT_EMPTY);
    CHECK_RES(msgr_client_request_url(c, g_now, BAD_UTF8, 3), MSGR_RESULT_NOT_UTF8);
    CHECK_RES(msgr_client_request_url(c, g_now, g_big, 100), MSGR_RESULT_TOO_LONG);
    CHECK_RES(msgr_client_send_email_invite(c, g_now, nul, 16), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_send_email_invite(c, g_now, DAVE, 0), MSGR_RESULT_EMPTY);
    CHECK_RES(msgr_client_send_email_invite(c, g_now, BAD_UTF8, 3), MSGR_RESULT_NOT_UTF8);
    CHECK_RES(msgr_client_send_email_invite(c, g_now, g_big, 200), MSGR_RESULT_TOO_LONG);
    CHECK_RES(msgr_client_page(c, g_now, nul, 15, "hi", 2), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_page(c, g_now, BOB, 15, nul, 2), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_page(c, g_now, BOB, 0, "hi", 2), MSGR_RESULT_EMPTY);
    CHECK_RES(msgr_client_page(c, g_now, BOB, 15, "hi", 0), MSGR_RESULT_EMPTY);
    CHECK_RES(msgr_client_page(c, g_now, BOB, 15, BAD_UTF8, 3), MSGR_RESULT_NOT_UTF8);
    CHECK_RES(msgr_client_page(c, g_now, BOB, 15, g_big, 114), MSGR_RESULT_TOO_LONG);
    CHECK_RES(msgr_client_page(c, g_now, g_big, 200, "hi", 2), MSGR_RESULT_TOO_LONG);
    CHECK_RES(msgr_client_open_conversation(c, g_now, nul, 15, &id), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_open_conversation(c, g_now, BOB, 0, &id), MSGR_RESULT_EMPTY);
    CHECK_RES(msgr_client_open_conversation(c, g_now, BAD_UTF8, 3, &id), MSGR_RESULT_NOT_UTF8);
    CHECK_RES(msgr_client_open_conversation(c, g_now, g_big, 200, &id), MSGR_RESULT_TOO_LONG);
    CHECK_RES(msgr_client_invite(c, g_now, 1, nul, 15), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_invite(c, g_now, 1, BOB, 0), MSGR_RESULT_EMPTY);
    CHECK_RES(msgr_client_invite(c, g_now, 1, BAD_UTF8, 3), MSGR_RESULT_NOT_UTF8);
    CHECK_RES(msgr_client_invite(c, g_now, 1, g_big, 200), MSGR_RESULT_TOO_LONG);
    CHECK_RES(msgr_client_send_message(c, g_now, 1, nul, 2, &id), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_client_send_message(c, g_now, 1, "hi", 0, &id), MSGR_RESULT_EMPTY);
    CHECK_RES(msgr_client_send_message(c, g_now, 1, BAD_UTF8, 3, &id), MSGR_RESULT_NOT_UTF8);
    CHECK_RES(msgr_client_send_message(c, g_now, 1, g_big, sizeof g_big, &id),
              MSGR_RESULT_TOO_LONG);

    /* the wrong state: nothing but sign-in works before signing in */
    CHECK_RES(msgr_client_sign_out(c, g_now), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_set_status(c, g_now, MSGR_STATUS_BUSY), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_set_ims(c, g_now, false), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_add_contact(c, g_now, MSGR_LIST_FORWARD, DAVE, 16, "Dave", 4),
              MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_remove_contact(c, g_now, MSGR_LIST_FORWARD, BOB, 15),
              MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_block(c, g_now, BOB, 15), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_allow(c, g_now, BOB, 15), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_answer_added(c, g_now, DAVE, 16, true), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_rename_self(c, g_now, "Al", 2), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_rename_contact(c, g_now, BOB, 15, "B", 1), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_add_group(c, g_now, "G", 1), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_remove_group(c, g_now, 1), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_rename_group(c, g_now, 1, "G", 1), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_set_privacy(c, g_now, true, true), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_request_url(c, g_now, "INBOX", 5), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_send_email_invite(c, g_now, DAVE, 16), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_page(c, g_now, BOB, 15, "hi", 2), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_open_conversation(c, g_now, BOB, 15, &id), MSGR_RESULT_WRONG_STATE);
    /* no conversation exists yet: its number is refused */
    CHECK_RES(msgr_client_invite(c, g_now, 1, BOB, 15), MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_send_message(c, g_now, 1, "hi", 2, &id), MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_send_typing(c, g_now, 1), MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_leave(c, g_now, 1), MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_login_reply(c, g_now, 200, 0, 0, 0, 0, 0, 0), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_login_failed(c, g_now), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_user_activity(c, g_now), MSGR_RESULT_OK);
    CHECK(g_net.opens == 0 && g_net.sends == 0);

    /* a refused open is reported as a failed sign-in, not a hang */
    g_net.open_fail = 1;
    CHECK_RES(msgr_client_sign_in(c, g_now), MSGR_RESULT_OK);
    CHECK_RES(msgr_client_sign_in(c, g_now), MSGR_RESULT_WRONG_STATE); /* already started */
    events_clear();
    DRAIN(c);
    CHECK(g_net.opens == 1);
    msgr_client_deinit(c);
}

/* ----- re-entrant calls from inside a hook --------------------------------------------------- */

static void reentry_probe(const char *hook)
{
    msgr_client *c = g_net.client;
    msgr_event e;
    msgr_contact ct;
    uint64_t t;
    uint32_t id;
    size_t n;
    uint8_t buf[256];
    const msgr_result R = MSGR_RESULT_REENTRANT;
    board_puts("  (re-entrancy probe inside the ");
    board_puts(hook);
    board_puts(" hook)\n");
    CHECK_RES(msgr_client_connected(c, g_now, 0), R);
    CHECK_RES(msgr_client_received(c, g_now, 0, (const uint8_t *)"PNG\r\n", 5, &n), R);
    CHECK_RES(msgr_client_closed(c, g_now, 0), R);
    CHECK_RES(msgr_client_tick(c, g_now), R);
    CHECK_RES(msgr_client_next_timeout(c, &t), R);
    CHECK_RES(msgr_client_poll_event(c, &e), R);
    CHECK_RES(msgr_client_login_reply(c, g_now, 200, 0, 0, 0, 0, 0, 0), R);
    CHECK_RES(msgr_client_login_failed(c, g_now), R);
    CHECK_RES(msgr_client_sign_in(c, g_now), R);
    CHECK_RES(msgr_client_sign_out(c, g_now), R);
    CHECK_RES(msgr_client_user_activity(c, g_now), R);
    CHECK_RES(msgr_client_set_status(c, g_now, MSGR_STATUS_BUSY), R);
    CHECK_RES(msgr_client_set_ims(c, g_now, false), R);
    CHECK_RES(msgr_client_add_contact(c, g_now, MSGR_LIST_FORWARD, DAVE, 16, "Dave", 4), R);
    CHECK_RES(msgr_client_remove_contact(c, g_now, MSGR_LIST_FORWARD, BOB, 15), R);
    CHECK_RES(msgr_client_block(c, g_now, BOB, 15), R);
    CHECK_RES(msgr_client_allow(c, g_now, BOB, 15), R);
    CHECK_RES(msgr_client_answer_added(c, g_now, DAVE, 16, true), R);
    CHECK_RES(msgr_client_rename_self(c, g_now, "Al", 2), R);
    CHECK_RES(msgr_client_rename_contact(c, g_now, BOB, 15, "B", 1), R);
    CHECK_RES(msgr_client_add_group(c, g_now, "G", 1), R);
    CHECK_RES(msgr_client_remove_group(c, g_now, 1), R);
    CHECK_RES(msgr_client_rename_group(c, g_now, 1, "G", 1), R);
    CHECK_RES(msgr_client_set_privacy(c, g_now, true, true), R);
    CHECK_RES(msgr_client_request_url(c, g_now, "INBOX", 5), R);
    CHECK_RES(msgr_client_send_email_invite(c, g_now, DAVE, 16), R);
    CHECK_RES(msgr_client_page(c, g_now, BOB, 15, "hi", 2), R);
    CHECK_RES(msgr_client_open_conversation(c, g_now, BOB, 15, &id), R);
    CHECK_RES(msgr_client_invite(c, g_now, 1, BOB, 15), R);
    CHECK_RES(msgr_client_send_message(c, g_now, 1, "hi", 2, &id), R);
    CHECK_RES(msgr_client_send_typing(c, g_now, 1), R);
    CHECK_RES(msgr_client_leave(c, g_now, 1), R);
    CHECK_RES(msgr_client_contact_at(c, 0, &ct), R);
    CHECK_RES(msgr_client_save_lists(c, buf, sizeof buf, &n), R);
    CHECK_RES(msgr_client_restore_lists(c, buf, 16), R);
#ifdef MSGR_TEST_HOOKS
    CHECK_RES(msgr_test_force_panic(c), R); /* refused before it can panic */
#endif
    /* value-returning calls give their neutral value; deinit from a hook is ignored */
    CHECK(msgr_client_contact_count(c) == 0);
    CHECK(msgr_client_arena_high_water(c) == 0);
    msgr_client_deinit(c);
}

/* ----- the scripted session ---------------------------------------------------------------- */

/* Sign in as alice with MSNP7 MD5 and sync her lists (bob in group 1, carol in group 0). */
static void sign_in_alice(msgr_client *c, uint32_t syn_version_sent, int full_sync)
{
    ev_copy *ev;
    char line[64];
    size_t n = 0;
    CHECK_RES(msgr_client_sign_in(c, g_now), MSGR_RESULT_OK);
    DRAIN(c);
    CHECK(g_net.opens == 1 && g_net.last_open == 0);
    CHECK(g_net.conn[0].open && g_net.conn[0].port == 1863);
    CHECK(g_net.conn[0].host_len == 9 && t_memeq(g_net.conn[0].host, "127.0.0.1", 9));
    g_now += 20;
    CHECK_RES(msgr_client_connected(c, g_now, 0), MSGR_RESULT_OK);
    DRAIN(c);
    EXPECT_LINE(0, "VER 1 MSNP7 CVR0\r\n");
    FEED(c, 0, "VER 1 MSNP7\r\n");
    EXPECT_LINE(0, "CVR 2 0x0409 webtv 2.8 MIPS msntvim 2.8 msntv\r\n");
    FEED(c, 0, "CVR 2 2.8 2.8 2.8 https://escargot.log1p.xyz https://escargot.log1p.xyz\r\n");
    EXPECT_LINE(0, "INF 3\r\n");
    FEED(c, 0, "INF 3 MD5\r\n");
    EXPECT_LINE(0, "USR 4 MD5 I alice@example.com\r\n");
    FEED(c, 0, "USR 4 MD5 S a11ce5a17a11ce5\r\n");
    /* md5("a11ce5a17a11ce5" "alice123"), as in the recorded sessions */
    EXPECT_LINE(0, "USR 5 MD5 S 09737575b514aacd386bf2db61d46607\r\n");
    events_clear();
    FEED(c, 0, "USR 5 OK alice@example.com Alice 1\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_SIGNED_IN);
    CHECK(ev != 0 && ev_is(ev->name, ev->name_len, "Alice"));
    put_str(line, sizeof line, &n, "SYN 6 ");
    put_dec(line, sizeof line, &n, syn_version_sent);
    put_str(line, sizeof line, &n, "\r\n");
    EXPECT_LINE(0, line);
    if (full_sync) {
        FEED(c, 0,
             "SYN 6 1\r\n"
             "GTC 6 1 A\r\n"
             "BLP 6 1 AL\r\n"
             "LSG 6 1 1 2 0 Other%20Contacts 0\r\n"
             "LSG 6 1 2 2 1 Friends 0\r\n"
             "LST 6 FL 1 1 2 bob@example.com Bob%20Builder 1\r\n"
             "LST 6 FL 1 2 2 carol@example.com Carol 0\r\n"
             "LST 6 AL 1 1 2 bob@example.com Bob%20Builder\r\n"
             "LST 6 AL 1 2 2 carol@example.com Carol\r\n"
             "LST 6 BL 1 0 0\r\n"
             "LST 6 RL 1 1 2 bob@example.com Bob%20Builder\r\n"
             "LST 6 RL 1 2 2 carol@example.com Carol\r\n");
    } else {
        /* nothing changed since the saved version: the server repeats it */
        char syn[32];
        size_t k = 0;
        put_str(syn, sizeof syn, &k, "SYN 6 ");
        put_dec(syn, sizeof syn, &k, syn_version_sent);
        put_str(syn, sizeof syn, &k, "\r\n");
        FEED(c, 0, syn);
    }
    ev = TAKE_EVENT(MSGR_EVENT_KIND_LISTS_SYNCED);
    CHECK(ev != 0 && ev->code == (full_sync ? 1u : syn_version_sent));
    EXPECT_LINE(0, "CHG 7 NLN\r\n");
    FEED(c, 0, "CHG 7 NLN\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_STATUS_CHANGED);
    CHECK(ev != 0 && ev->status == MSGR_STATUS_ONLINE);
}

/* Find the contact with this passport; its index or -1. */
static int32_t find_contact(msgr_client *c, const char *passport)
{
    uint32_t i, n = msgr_client_contact_count(c);
    for (i = 0; i < n; i++) {
        msgr_contact ct;
        if (msgr_client_contact_at(c, i, &ct) == MSGR_RESULT_OK && str_is(ct.passport, passport)) {
            return (int32_t)i;
        }
    }
    return -1;
}

static msgr_contact contact_of(msgr_client *c, const char *passport)
{
    msgr_contact ct;
    int32_t i = find_contact(c, passport);
    t_memset(&ct, 0, sizeof ct);
    if (i >= 0) {
        (void)msgr_client_contact_at(c, (uint32_t)i, &ct);
    }
    return ct;
}

static uint8_t g_saved[4096];
static size_t g_saved_len;

/* The switchboard part: open a conversation with bob, send, receive, typing, outcomes, leave. */
static void conversation_with_bob(msgr_client *c)
{
    ev_copy *ev;
    uint32_t conv = 0, msg1 = 0, msg2 = 0, sb, trid;
    char head[128];
    char payload[1024];
    const char *p;
    uint32_t len;

    CHECK_RES(msgr_client_open_conversation(c, g_now, BOB, 15, &conv), MSGR_RESULT_OK);
    CHECK(conv != 0);
    /* a message queued before the switchboard is up goes out once bob joins */
    CHECK_RES(msgr_client_send_message(c, g_now, conv, "Hello Bob", 9, &msg1), MSGR_RESULT_OK);
    DRAIN(c);
    trid = EXPECT_TRID(0, "XFR ");
    {
        char xfr[96];
        size_t n = 0;
        put_str(xfr, sizeof xfr, &n, "XFR ");
        put_dec(xfr, sizeof xfr, &n, trid);
        put_str(xfr, sizeof xfr, &n, " SB 127.0.0.1:1864 CKI 995e6bf15d0c0631ea06\r\n");
        g_net.probe = PROBE_OPEN; /* the switchboard's open hook runs the re-entrancy probe */
        events_clear();
        FEED(c, 0, xfr);
        CHECK(g_net.probe == 0);
    }
    sb = g_net.last_open;
    CHECK(sb >= 2 && sb < MAX_CONN);
    if (sb < 2 || sb >= MAX_CONN) {
        return;
    }
    CHECK(g_net.conn[sb].open && g_net.conn[sb].port == 1864);
    CHECK(g_net.conn[sb].host_len == 9 && t_memeq(g_net.conn[sb].host, "127.0.0.1", 9));
    CHECK_RES(msgr_client_connected(c, g_now, sb), MSGR_RESULT_OK);
    DRAIN(c);
    EXPECT_LINE(sb, "USR 1 alice@example.com 995e6bf15d0c0631ea06\r\n");
    FEED(c, sb, "USR 1 OK alice@example.com Alice\r\n");
    EXPECT_LINE(sb, "CAL 2 bob@example.com\r\n");
    FEED(c, sb, "CAL 2 RINGING 96fc22346cfdf6d556de8253e42e953\r\n");
    FEED(c, sb, "JOI bob@example.com Bob%20Builder\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_JOINED);
    CHECK(ev != 0 && ev->conversation == conv && ev_is(ev->passport, ev->passport_len, BOB));
    CHECK(ev != 0 && ev_is(ev->name, ev->name_len, "Bob Builder"));
    ev = TAKE_EVENT(MSGR_EVENT_KIND_CONVERSATION_READY);
    CHECK(ev != 0 && ev->conversation == conv);

    /* the queued message: MSG 3 A <len> with a text/plain payload ending in the text */
    if (expect_trid_at(sb, "MSG 3 A ", head, sizeof head, __LINE__) == 3) {
        p = head + 8;
        len = parse_u32(&p, head + t_strlen(head));
        CHECK(len > 9 && len < sizeof payload);
        if (len > 9 && len < sizeof payload && pop_bytes(sb, payload, len)) {
            CHECK(starts_with(payload, len, "MIME-Version: 1.0\r\n"));
            CHECK(contains(payload, len, "Content-Type: text/plain; charset=UTF-8\r\n"));
            CHECK(t_memeq(payload + len - 13, "\r\n\r\nHello Bob", 13));
        } else {
            CHECK(0 && "payload of MSG 3");
        }
    }
    events_clear();
    FEED(c, sb, "ACK 3\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_OUTCOME);
    CHECK(ev != 0 && ev->message == msg1 && ev->code == MSGR_OUTCOME_DELIVERED);
    CHECK(ev != 0 && ev->conversation == conv);

    /* incoming typing and text */
    FEED_MSG(c, sb, "MSG bob@example.com Bob%20Builder ",
         "MIME-Version: 1.0\r\n"
         "Content-Type: text/x-msmsgscontrol\r\n"
         "TypingUser: bob@example.com\r\n"
         "\r\n\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_TYPING);
    CHECK(ev != 0 && ev->conversation == conv && ev_is(ev->passport, ev->passport_len, BOB));
    FEED_MSG(c, sb, "MSG bob@example.com Bob%20Builder ",
         "MIME-Version: 1.0\r\n"
         "Content-Type: text/plain; charset=UTF-8\r\n"
         "X-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n"
         "\r\n"
         "Hi Alice \xc3\xa9t\xc3\xa9");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_MESSAGE);
    CHECK(ev != 0 && ev->conversation == conv && ev_is(ev->passport, ev->passport_len, BOB));
    CHECK(ev != 0 && ev_is(ev->name, ev->name_len, "Bob Builder"));
    CHECK(ev != 0 && ev_is(ev->text, ev->text_len, "Hi Alice \xc3\xa9t\xc3\xa9"));

    /* outgoing typing: MSG n U with a TypingUser control message */
    CHECK_RES(msgr_client_send_typing(c, g_now, conv), MSGR_RESULT_OK);
    if (expect_trid_at(sb, "MSG 4 U ", head, sizeof head, __LINE__) == 4) {
        p = head + 8;
        len = parse_u32(&p, head + t_strlen(head));
        CHECK(len > 0 && len < sizeof payload && pop_bytes(sb, payload, len));
        CHECK(contains(payload, len, "Content-Type: text/x-msmsgscontrol\r\n"));
        CHECK(contains(payload, len, "TypingUser: alice@example.com\r\n"));
    }

    /* a message the switchboard refuses: NAK, sent in two partial writes */
    g_net.send_take = 7;
    CHECK_RES(msgr_client_send_message(c, g_now, conv, "second", 6, &msg2), MSGR_RESULT_OK);
    CHECK(msg2 != msg1);
    g_net.send_take = -1;
    DRAIN(c); /* draining offers the rest */
    CHECK_RES(msgr_client_tick(c, g_now), MSGR_RESULT_OK);
    if (expect_trid_at(sb, "MSG 5 A ", head, sizeof head, __LINE__) == 5) {
        p = head + 8;
        len = parse_u32(&p, head + t_strlen(head));
        CHECK(len > 6 && len < sizeof payload && pop_bytes(sb, payload, len));
        CHECK(t_memeq(payload + len - 6, "second", 6));
    }
    EXPECT_QUIET(sb);
    events_clear();
    FEED(c, sb, "NAK 5\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_OUTCOME);
    CHECK(ev != 0 && ev->message == msg2 && ev->code == MSGR_OUTCOME_FAILED_NAK);

    /* invite carol, then carol joins and leaves */
    CHECK_RES(msgr_client_invite(c, g_now, conv, CAROL, 17), MSGR_RESULT_OK);
    EXPECT_LINE(sb, "CAL 6 carol@example.com\r\n");
    FEED(c, sb, "CAL 6 RINGING 96fc22346cfdf6d556de8253e42e953\r\nJOI carol@example.com Carol\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_JOINED);
    CHECK(ev != 0 && ev_is(ev->passport, ev->passport_len, CAROL));
    FEED(c, sb, "BYE carol@example.com\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_LEFT);
    CHECK(ev != 0 && ev->conversation == conv && ev_is(ev->passport, ev->passport_len, CAROL));

    /* an invitation the switchboard refuses (217: offline): the verb and the MSNP code */
    CHECK_RES(msgr_client_invite(c, g_now, conv, DAVE, 16), MSGR_RESULT_OK);
    EXPECT_LINE(sb, "CAL 7 dave@example.com\r\n");
    events_clear();
    FEED(c, sb, "217 7\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_REQUEST_FAILED);
    CHECK(ev != 0 && ev->code == 217 && ev->conversation == conv &&
          ev_is(ev->text, ev->text_len, "CAL") && ev_is(ev->passport, ev->passport_len, DAVE));

    /* leave: OUT; the switchboard closes its end, which the box reports (so no close hook) */
    g_net.closes = 0;
    events_clear();
    CHECK_RES(msgr_client_leave(c, g_now, conv), MSGR_RESULT_OK);
    EXPECT_LINE(sb, "OUT\r\n");
    DRAIN(c);
    CHECK_RES(msgr_client_send_message(c, g_now, conv, "late", 4, &msg1), MSGR_RESULT_CLOSED);
    /* the switchboard closes its end after OUT */
    CHECK_RES(msgr_client_closed(c, g_now, sb), MSGR_RESULT_OK);
    DRAIN(c);
    ev = TAKE_EVENT(MSGR_EVENT_KIND_CONVERSATION_CLOSED);
    CHECK(ev != 0 && ev->conversation == conv && ev->code == MSGR_CLOSE_REASON_LEFT);
    CHECK(g_net.closes == 0);
    CHECK_RES(msgr_client_send_message(c, g_now, conv, "late", 4, &msg1),
              MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_leave(c, g_now, conv), MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_send_message(c, g_now, 999, "late", 4, &msg1),
              MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_send_typing(c, g_now, 999), MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_invite(c, g_now, 999, CAROL, 17), MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_leave(c, g_now, 999), MSGR_RESULT_INVALID_PARAMETER);
    {
        size_t used = 0;
        CHECK_RES(msgr_client_received(c, g_now, sb, (const uint8_t *)"ACK 5\r\n", 7, &used),
                  MSGR_RESULT_INVALID_PARAMETER);
    }
}

/* The notification-server features after sign-in. */
static void ns_features(msgr_client *c)
{
    ev_copy *ev;
    msgr_contact ct;
    uint32_t t;
    char reply[128];
    size_t n;

    /* contacts as synced */
    CHECK(msgr_client_contact_count(c) == 2);
    ct = contact_of(c, BOB);
    CHECK(str_is(ct.name, "Bob Builder"));
    CHECK(ct.lists == (1u | 2u | 8u));
    CHECK(ct.groups == (1u << 1));
    CHECK(ct.status == MSGR_STATUS_OFFLINE && !ct.online);
    ct = contact_of(c, CAROL);
    CHECK(str_is(ct.name, "Carol") && ct.groups == 1u);
    CHECK_RES(msgr_client_contact_at(c, 2, &ct), MSGR_RESULT_INVALID_PARAMETER);
    CHECK_RES(msgr_client_contact_at(c, 0xffffffffu, &ct), MSGR_RESULT_INVALID_PARAMETER);

    /* presence: ILN, NLN, FLN */
    events_clear();
    FEED(c, 0, "ILN 7 BRB bob@example.com Bob%20Builder\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_PRESENCE);
    CHECK(ev != 0 && ev_is(ev->passport, ev->passport_len, BOB));
    CHECK(ev != 0 && ev->status == MSGR_STATUS_BE_RIGHT_BACK && ev->online);
    CHECK(ev != 0 && ev_is(ev->name, ev->name_len, "Bob Builder"));
    FEED(c, 0, "NLN NLN carol@example.com Carol\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_PRESENCE);
    CHECK(ev != 0 && ev->status == MSGR_STATUS_ONLINE && ev->online);
    ct = contact_of(c, BOB);
    CHECK(ct.status == MSGR_STATUS_BE_RIGHT_BACK && ct.online);
    FEED(c, 0, "FLN carol@example.com\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_CONTACT_OFFLINE);
    CHECK(ev != 0 && ev_is(ev->passport, ev->passport_len, CAROL));
    ct = contact_of(c, CAROL);
    CHECK(ct.status == MSGR_STATUS_OFFLINE && !ct.online);

    /* own status */
    CHECK_RES(msgr_client_set_status(c, g_now, MSGR_STATUS_AWAY), MSGR_RESULT_OK);
    t = EXPECT_TRID(0, "CHG 8 AWY\r\n");
    FEED(c, 0, "CHG 8 AWY\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_STATUS_CHANGED);
    CHECK(t == 8 && ev != 0 && ev->status == MSGR_STATUS_AWAY);

    /* dave adds alice: "added you", answered with allow (AL and FL) */
    events_clear();
    FEED(c, 0, "ADD 0 RL 2 dave@example.com Dave\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_ADDED_BY);
    CHECK(ev != 0 && ev_is(ev->passport, ev->passport_len, DAVE));
    CHECK(ev != 0 && ev_is(ev->name, ev->name_len, "Dave"));
    CHECK_RES(msgr_client_answer_added(c, g_now, DAVE, 16, true), MSGR_RESULT_OK);
    t = EXPECT_TRID(0, "ADD 9 AL dave@example.com dave@example.com\r\n");
    n = 0;
    put_str(reply, sizeof reply, &n, "ADD ");
    put_dec(reply, sizeof reply, &n, t);
    put_str(reply, sizeof reply, &n, " AL 3 dave@example.com dave@example.com\r\n");
    FEED(c, 0, reply);
    ev = TAKE_EVENT(MSGR_EVENT_KIND_LIST_CHANGED);
    CHECK(ev != 0 && ev->code == MSGR_LIST_ALLOW && ev->online);
    CHECK(ev != 0 && ev_is(ev->passport, ev->passport_len, DAVE));
    t = EXPECT_TRID(0, "ADD 10 FL dave@example.com dave@example.com");
    n = 0;
    put_str(reply, sizeof reply, &n, "ADD ");
    put_dec(reply, sizeof reply, &n, t);
    put_str(reply, sizeof reply, &n, " FL 4 dave@example.com dave@example.com 0\r\n");
    FEED(c, 0, reply);
    ev = TAKE_EVENT(MSGR_EVENT_KIND_LIST_CHANGED);
    CHECK(ev != 0 && ev->code == MSGR_LIST_FORWARD && ev->online);
    ct = contact_of(c, DAVE);
    CHECK((ct.lists & (1u | 2u | 8u)) == (1u | 2u | 8u));
    CHECK(msgr_client_contact_count(c) == 3);

    /* block carol (AL -> BL) and allow her again (BL -> AL) */
    events_clear();
    CHECK_RES(msgr_client_block(c, g_now, CAROL, 17), MSGR_RESULT_OK);
    EXPECT_LINE(0, "REM 11 AL carol@example.com\r\n");
    FEED(c, 0, "REM 11 AL 5 carol@example.com\r\n");
    EXPECT_LINE(0, "ADD 12 BL carol@example.com Carol\r\n");
    FEED(c, 0, "ADD 12 BL 6 carol@example.com Carol\r\n");
    ct = contact_of(c, CAROL);
    CHECK((ct.lists & 4u) != 0 && (ct.lists & 2u) == 0);
    CHECK_RES(msgr_client_allow(c, g_now, CAROL, 17), MSGR_RESULT_OK);
    EXPECT_LINE(0, "REM 13 BL carol@example.com\r\n");
    FEED(c, 0, "REM 13 BL 7 carol@example.com\r\n");
    EXPECT_LINE(0, "ADD 14 AL carol@example.com Carol\r\n");
    FEED(c, 0, "ADD 14 AL 8 carol@example.com Carol\r\n");
    ct = contact_of(c, CAROL);
    CHECK((ct.lists & 4u) == 0 && (ct.lists & 2u) != 0);

    /* add and remove a contact explicitly; a refused request */
    CHECK_RES(msgr_client_add_contact(c, g_now, MSGR_LIST_FORWARD, "eve@example.com", 15, "Eve", 3),
              MSGR_RESULT_OK);
    EXPECT_LINE(0, "ADD 15 FL eve@example.com Eve\r\n");
    events_clear();
    FEED(c, 0, "205 15\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_REQUEST_FAILED);
    CHECK(ev != 0 && ev->code == 205 && ev_is(ev->text, ev->text_len, "ADD"));
    CHECK_RES(msgr_client_remove_contact(c, g_now, MSGR_LIST_FORWARD, DAVE, 16), MSGR_RESULT_OK);
    EXPECT_LINE(0, "REM 16 FL dave@example.com\r\n");
    FEED(c, 0, "REM 16 FL 9 dave@example.com\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_LIST_CHANGED);
    CHECK(ev != 0 && ev->code == MSGR_LIST_FORWARD && !ev->online);

    /* groups (MSNP7) */
    CHECK_RES(msgr_client_add_group(c, g_now, "Work Mates", 10), MSGR_RESULT_OK);
    EXPECT_LINE(0, "ADG 17 Work%20Mates 0\r\n");
    FEED(c, 0, "ADG 17 10 Work%20Mates 2 0\r\n");
    CHECK_RES(msgr_client_rename_group(c, g_now, 2, "Work", 4), MSGR_RESULT_OK);
    EXPECT_LINE(0, "REG 18 2 Work 0\r\n");
    FEED(c, 0, "REG 18 11 2 Work 0\r\n");
    CHECK_RES(msgr_client_remove_group(c, g_now, 2), MSGR_RESULT_OK);
    EXPECT_LINE(0, "RMG 19 2\r\n");
    FEED(c, 0, "RMG 19 12 2\r\n");

    /* renames */
    CHECK_RES(msgr_client_rename_self(c, g_now, "Alice W", 7), MSGR_RESULT_OK);
    EXPECT_LINE(0, "REA 20 alice@example.com Alice%20W\r\n");
    FEED(c, 0, "REA 20 13 alice@example.com Alice%20W\r\n");
    CHECK_RES(msgr_client_rename_contact(c, g_now, BOB, 15, "Bobby", 5), MSGR_RESULT_OK);
    EXPECT_LINE(0, "REA 21 bob@example.com Bobby\r\n");
    FEED(c, 0, "REA 21 14 bob@example.com Bobby\r\n");

    /* privacy: GTC and BLP */
    CHECK_RES(msgr_client_set_privacy(c, g_now, false, false), MSGR_RESULT_OK);
    EXPECT_LINE(0, "GTC 22 N\r\n");
    EXPECT_LINE(0, "BLP 23 BL\r\n");
    FEED(c, 0, "GTC 22 15 N\r\nBLP 23 16 BL\r\n");

    /* URL, SND, PAG */
    events_clear();
    CHECK_RES(msgr_client_request_url(c, g_now, "INBOX", 5), MSGR_RESULT_OK);
    EXPECT_LINE(0, "URL 24 INBOX\r\n");
    FEED(c, 0, "URL 24 /cgi-bin/HoTMaiL https://loginnet.passport.com/ppsecure/md5auth.srf?lc=1033 2\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_URL);
    CHECK(ev != 0 && ev_is(ev->text, ev->text_len, "/cgi-bin/HoTMaiL"));
    CHECK_RES(msgr_client_send_email_invite(c, g_now, "frank@example.com", 17), MSGR_RESULT_OK);
    t = EXPECT_TRID(0, "SND 25 frank@example.com");
    CHECK(t == 25);
    FEED(c, 0, "SND 25 frank@example.com\r\n");
    /* PAG needs a server with pager support (MSNP5+, and not Escargot): refused here */
    CHECK_RES(msgr_client_page(c, g_now, BOB, 15, "call me", 7), MSGR_RESULT_WRONG_STATE);
    EXPECT_QUIET(0);

    /* IMS by hand */
    CHECK_RES(msgr_client_set_ims(c, g_now, false), MSGR_RESULT_OK);
    EXPECT_LINE(0, "IMS 26 OFF\r\n");
    FEED(c, 0, "IMS 26 0 OFF\r\n");
    CHECK_RES(msgr_client_set_ims(c, g_now, true), MSGR_RESULT_OK);
    EXPECT_LINE(0, "IMS 27 ON\r\n");
    FEED(c, 0, "IMS 27 0 ON\r\n");

    /* a CHL in the same segment as an event-making line: the NS answers it while the events
     * are drained, and the answer is handed to the transport before the drain ends (a UI that
     * waits for input after draining must not leave the QRY behind) */
    events_clear();
    g_net.conn[0].out_len = 0;
    FEED(c, 0, "NLN NLN carol@example.com Carol\r\nCHL 0 15570131571988941333\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_PRESENCE);
    CHECK(ev != 0 && ev_is(ev->passport, ev->passport_len, CAROL) && ev->online);
    EXPECT_LINE(0, "QRY 28 msmsgs@msnmsgr.com 32\r\n");
    CHECK(pop_bytes(0, reply, 32) && t_memeq(reply, "8f2f5a91b72102cd28355e9fc9000d6e", 32));
    FEED(c, 0, "QRY 28\r\nFLN carol@example.com\r\n");

    /* NVRAM: save the lists now (version 16) */
    CHECK_RES(msgr_client_save_lists(c, g_saved, sizeof g_saved, &g_saved_len), MSGR_RESULT_OK);
    CHECK(g_saved_len > 0 && g_saved_len <= sizeof g_saved);
    CHECK_RES(msgr_client_restore_lists(c, g_saved, g_saved_len), MSGR_RESULT_WRONG_STATE);
}

/* Open a conversation with `who` through an XFR switchboard and let `who` join; return its
 * connection (0 on failure) and the conversation in `*conv`. */
static uint32_t open_joined_at(msgr_client *c, const char *who, uint32_t who_len, const char *cookie,
                               uint32_t *conv, int line)
{
    char buf[160];
    size_t n = 0;
    uint32_t sb, trid;
    check_res(msgr_client_open_conversation(c, g_now, who, who_len, conv), MSGR_RESULT_OK,
              "open_conversation", line);
    DRAIN(c);
    trid = EXPECT_TRID(0, "XFR ");
    put_str(buf, sizeof buf, &n, "XFR ");
    put_dec(buf, sizeof buf, &n, trid);
    put_str(buf, sizeof buf, &n, " SB 127.0.0.1:1864 CKI ");
    put_str(buf, sizeof buf, &n, cookie);
    put_str(buf, sizeof buf, &n, "\r\n");
    buf[n] = '\0';
    FEED(c, 0, buf);
    sb = g_net.last_open;
    check(sb >= 2 && sb < MAX_CONN, "a switchboard connection opened", line);
    if (sb < 2 || sb >= MAX_CONN) {
        return 0;
    }
    check_res(msgr_client_connected(c, g_now, sb), MSGR_RESULT_OK, "connected", line);
    DRAIN(c);
    g_net.conn[sb].out_len = 0;
    n = 0;
    put_str(buf, sizeof buf, &n, "USR 1 OK alice@example.com Alice\r\nJOI ");
    put_str(buf, sizeof buf, &n, who);
    put_str(buf, sizeof buf, &n, " Someone\r\n");
    buf[n] = '\0';
    FEED(c, sb, buf);
    g_net.conn[sb].out_len = 0;
    return sb;
}

/* A server `MSG` from `who` whose text is `body` bytes of `fill`; returns its length. */
static size_t long_msg(char *buf, size_t cap, const char *who, char fill, uint32_t body)
{
    static const char hdr[] = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n";
    size_t n = 0;
    put_str(buf, cap, &n, "MSG ");
    put_str(buf, cap, &n, who);
    put_str(buf, cap, &n, " Someone ");
    put_dec(buf, cap, &n, (uint32_t)(sizeof hdr - 1u) + body);
    put_str(buf, cap, &n, "\r\n");
    put_str(buf, cap, &n, hdr);
    while (body-- > 0u && n + 1u < cap) {
        buf[n++] = fill;
    }
    return n;
}

/* Two conversations receiving long messages at once: they share one large-frame buffer, so the
 * second connection takes no more bytes (msgr_client_input_paused) until the first message is
 * in and its event polled; then it goes on and both messages arrive. */
static void shared_large_frame(msgr_client *c)
{
    static char a[2400];
    static char b[2400];
    size_t alen = long_msg(a, sizeof a, BOB, 'a', 1500u);
    size_t blen = long_msg(b, sizeof b, CAROL, 'b', 1400u);
    size_t used = 0, boff = 0;
    uint32_t ca = 0, cb = 0, sa, sb, rounds = 0;
    ev_copy *ev;

    sa = open_joined_at(c, BOB, 15, "1d402335b52462c2d0a1", &ca, __LINE__);
    sb = open_joined_at(c, CAROL, 17, "1d402335b52462c2d0a2", &cb, __LINE__);
    if (sa == 0 || sb == 0) {
        return;
    }
    events_clear();
    /* most of bob's message: his conversation holds the shared buffer */
    CHECK_RES(msgr_client_received(c, g_now, sa, (const uint8_t *)a, 1000, &used), MSGR_RESULT_OK);
    CHECK(used == 1000);
    DRAIN(c);
    /* carol's long message: her connection takes what her own buffer holds, then pauses */
    CHECK_RES(msgr_client_received(c, g_now, sb, (const uint8_t *)b, blen, &used), MSGR_RESULT_OK);
    CHECK(used > 0 && used < blen);
    boff = used;
    DRAIN(c);
    CHECK_RES(msgr_client_received(c, g_now, sb, (const uint8_t *)b + boff, blen - boff, &used),
              MSGR_RESULT_OK);
    CHECK(used == 0);
    CHECK(msgr_client_input_paused(c, sb));
    CHECK(!msgr_client_input_paused(c, sa));
    CHECK(!msgr_client_input_paused(c, 0));
    /* the rest of bob's message: reported; carol's connection then goes on */
    CHECK_RES(msgr_client_received(c, g_now, sa, (const uint8_t *)a + 1000, alen - 1000, &used),
              MSGR_RESULT_OK);
    CHECK(used == alen - 1000);
    DRAIN(c);
    ev = TAKE_EVENT(MSGR_EVENT_KIND_MESSAGE);
    CHECK(ev != 0 && ev->conversation == ca && ev->text_len > 0 && ev->text[0] == 'a');
    while (boff < blen && rounds++ < 8) {
        CHECK_RES(msgr_client_received(c, g_now, sb, (const uint8_t *)b + boff, blen - boff, &used),
                  MSGR_RESULT_OK);
        boff += used;
        DRAIN(c);
    }
    CHECK(boff == blen);
    CHECK(!msgr_client_input_paused(c, sb));
    ev = TAKE_EVENT(MSGR_EVENT_KIND_MESSAGE);
    CHECK(ev != 0 && ev->conversation == cb && ev->text_len > 0 && ev->text[0] == 'b');
    /* leave both; the switchboards close their ends */
    CHECK_RES(msgr_client_leave(c, g_now, ca), MSGR_RESULT_OK);
    CHECK_RES(msgr_client_leave(c, g_now, cb), MSGR_RESULT_OK);
    DRAIN(c);
    CHECK_RES(msgr_client_closed(c, g_now, sa), MSGR_RESULT_OK);
    CHECK_RES(msgr_client_closed(c, g_now, sb), MSGR_RESULT_OK);
    DRAIN(c);
    g_net.conn[sa].out_len = 0;
    g_net.conn[sb].out_len = 0;
    events_clear();
}

static void test_session(void)
{
    msgr_config cfg = base_config();
    msgr_client *c;
    ev_copy *ev;
    uint64_t t = 0;
    size_t hw;
    uint32_t conv = 0, id = 0;

    net_reset();
    cfg.idle_off_ms = 600000; /* ten minutes without a key press: IMS OFF */
    c = MAKE_CLIENT(g_arena_words, &cfg);
    if (c == 0) {
        return;
    }
    g_net.client = c;
    hw = msgr_client_arena_high_water(c);
    CHECK(hw > 0 && hw <= msgr_client_arena_size(&cfg.limits));

    /* the first send (VER) runs the re-entrancy probe from inside the send hook */
    g_net.probe = PROBE_SEND;
    sign_in_alice(c, 0, 1);
    CHECK(g_net.probe == 0);
    CHECK_RES(msgr_client_sign_in(c, g_now), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_next_timeout(c, &t), MSGR_RESULT_OK);
    CHECK(t != UINT64_MAX && t > g_now);

    ns_features(c);
    conversation_with_bob(c);
    shared_large_frame(c);

    /* a conversation whose switchboard cannot be reached: the queued message fails */
    CHECK_RES(msgr_client_open_conversation(c, g_now, CAROL, 17, &conv), MSGR_RESULT_OK);
    CHECK_RES(msgr_client_send_message(c, g_now, conv, "anyone?", 7, &id), MSGR_RESULT_OK);
    DRAIN(c);
    {
        uint32_t trid = EXPECT_TRID(0, "XFR ");
        char xfr[96];
        size_t n = 0;
        put_str(xfr, sizeof xfr, &n, "XFR ");
        put_dec(xfr, sizeof xfr, &n, trid);
        put_str(xfr, sizeof xfr, &n, " SB 127.0.0.1:1864 CKI 1d402335b52462c2d0a8\r\n");
        g_net.open_fail = 1;
        events_clear();
        FEED(c, 0, xfr);
        g_net.open_fail = 0;
        DRAIN(c);
        ev = TAKE_EVENT(MSGR_EVENT_KIND_OUTCOME);
        CHECK(ev != 0 && ev->message == id && ev->code != MSGR_OUTCOME_DELIVERED &&
              ev->code != MSGR_OUTCOME_SENT);
        ev = TAKE_EVENT(MSGR_EVENT_KIND_CONVERSATION_CLOSED);
        CHECK(ev != 0 && ev->conversation == conv);
    }

    /* IMS idle: no key press for ten minutes switches messaging off; a key press back on */
    CHECK_RES(msgr_client_user_activity(c, g_now), MSGR_RESULT_OK);
    events_clear();
    g_now += 600001;
    CHECK_RES(msgr_client_tick(c, g_now), MSGR_RESULT_OK);
    DRAIN(c);
    {
        char got[128];
        uint32_t trid = 0;
        size_t n;
        int seen = 0;
        while ((n = pop_line(0, got, sizeof got)) > 0) {
            if (starts_with(got, n, "IMS ") && contains(got, n, " OFF\r\n")) {
                const char *p = got + 4;
                trid = parse_u32(&p, got + n);
                seen = 1;
            }
        }
        CHECK(seen);
        if (seen) {
            char reply[64];
            size_t k = 0;
            put_str(reply, sizeof reply, &k, "IMS ");
            put_dec(reply, sizeof reply, &k, trid);
            put_str(reply, sizeof reply, &k, " 0 OFF\r\n");
            FEED(c, 0, reply);
        }
    }
    ev = TAKE_EVENT(MSGR_EVENT_KIND_IMS);
    CHECK(ev != 0 && !ev->online);
    events_clear();
    CHECK_RES(msgr_client_user_activity(c, g_now), MSGR_RESULT_OK);
    DRAIN(c);
    {
        char got[128];
        size_t n = pop_line(0, got, sizeof got);
        CHECK(n > 0 && starts_with(got, n, "IMS ") && contains(got, n, " ON\r\n"));
    }
    ev = TAKE_EVENT(MSGR_EVENT_KIND_IMS);
    CHECK(ev != 0 && ev->online);

    /* the high-water mark does not move after init */
    CHECK(msgr_client_arena_high_water(c) == hw);

    /* sign out: OUT on the NS, its socket closed through the hook (which runs the re-entrancy
     * probe), a signed-out event */
    g_net.conn[0].out_len = 0;
    g_net.closes = 0;
    g_net.probe = PROBE_CLOSE;
    events_clear();
    CHECK_RES(msgr_client_sign_out(c, g_now), MSGR_RESULT_OK);
    DRAIN(c);
    EXPECT_LINE(0, "OUT\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_SIGNED_OUT);
    CHECK(ev != 0 && ev->code == MSGR_RESULT_OK);
    CHECK(g_net.closes == 1 && g_net.last_close == 0);
    CHECK(g_net.probe == 0);
    CHECK_RES(msgr_client_set_status(c, g_now, MSGR_STATUS_BUSY), MSGR_RESULT_WRONG_STATE);
    /* lists can be restored again once signed out */
    CHECK_RES(msgr_client_restore_lists(c, g_saved, g_saved_len), MSGR_RESULT_OK);
    msgr_client_deinit(c);
}

/* NVRAM restore: a fresh client restores the saved lists and syncs from their version. */
static void test_restore(void)
{
    msgr_config cfg = base_config();
    msgr_client *c;
    msgr_contact ct;
    uint8_t again[4096];
    size_t again_len = 0;

    net_reset();
    c = MAKE_CLIENT(g_arena2_words, &cfg);
    if (c == 0 || g_saved_len == 0) {
        check(0, "saved lists to restore", __LINE__);
        return;
    }
    g_net.client = c;
    CHECK_RES(msgr_client_restore_lists(c, g_saved, g_saved_len - 1), MSGR_RESULT_MALFORMED);
    CHECK_RES(msgr_client_restore_lists(c, g_saved, g_saved_len), MSGR_RESULT_OK);
    CHECK(msgr_client_contact_count(c) == 3);
    ct = contact_of(c, BOB);
    CHECK(str_is(ct.name, "Bobby"));
    CHECK_RES(msgr_client_save_lists(c, again, sizeof again, &again_len), MSGR_RESULT_OK);
    CHECK(again_len == g_saved_len && t_memeq(again, g_saved, again_len));
    /* a contact list that does not fit this client's capacities is refused */
    cfg.limits.contacts = 1;
    msgr_client_deinit(c);
    c = MAKE_CLIENT(g_arena2_words, &cfg);
    CHECK_RES(msgr_client_restore_lists(c, g_saved, g_saved_len), MSGR_RESULT_CAPACITY);
    CHECK(msgr_client_contact_count(c) == 0);
    msgr_client_deinit(c);
    cfg = base_config();
    c = MAKE_CLIENT(g_arena2_words, &cfg);
    g_net.client = c;
    CHECK_RES(msgr_client_restore_lists(c, g_saved, g_saved_len), MSGR_RESULT_OK);
    /* the sign-in asks only for changes since the saved version */
    sign_in_alice(c, 16, 0);
    CHECK(msgr_client_contact_count(c) == 3);
    msgr_client_deinit(c);
}

/* A name pool too small for every name: the contact is kept, its name dropped and reported. */
static void test_list_full(void)
{
    msgr_config cfg = base_config();
    msgr_client *c;
    ev_copy *ev;
    msgr_contact ct;
    int32_t k;

    net_reset();
    /* groups 4+14 and 4+7, Bob 4+15+11, Carol's passport 4+17: 80 bytes; her name is not */
    cfg.limits.contact_bytes = 82;
    c = MAKE_CLIENT(g_arena_words, &cfg);
    if (c == 0) {
        return;
    }
    g_net.client = c;
    sign_in_alice(c, 0, 1);
    ev = TAKE_EVENT(MSGR_EVENT_KIND_LIST_FULL);
    CHECK(ev != 0 && ev->code == 1 && ev_is(ev->passport, ev->passport_len, "carol@example.com"));
    CHECK(msgr_client_contact_count(c) == 2);
    k = find_contact(c, "carol@example.com");
    CHECK(k >= 0 && msgr_client_contact_at(c, (uint32_t)k, &ct) == MSGR_RESULT_OK && ct.name.len == 0);
    msgr_client_deinit(c);
}

/* Delegate login (MSNP8): the firmware gets the SECURE request to make; a failure signs out. */
static void test_delegate(void)
{
    msgr_config cfg = base_config();
    msgr_client *c;
    ev_copy *ev;

    net_reset();
    cfg.login_mode = MSGR_LOGIN_MODE_DELEGATE;
    cfg.password = 0;
    cfg.password_len = 0;
    cfg.msnp_versions = 1u << 8;
    c = MAKE_CLIENT(g_arena2_words, &cfg);
    if (c == 0) {
        return;
    }
    g_net.client = c;
    CHECK_RES(msgr_client_login_failed(c, g_now), MSGR_RESULT_WRONG_STATE);
    CHECK_RES(msgr_client_sign_in(c, g_now), MSGR_RESULT_OK);
    DRAIN(c);
    CHECK_RES(msgr_client_connected(c, g_now, 0), MSGR_RESULT_OK);
    DRAIN(c);
    EXPECT_LINE(0, "VER 1 MSNP8 CVR0\r\n");
    FEED(c, 0, "VER 1 MSNP8\r\n");
    EXPECT_TRID(0, "CVR 2 ");
    FEED(c, 0, "CVR 2 2.8 2.8 2.8 https://escargot.log1p.xyz https://escargot.log1p.xyz\r\n");
    EXPECT_LINE(0, "USR 3 TWN I alice@example.com\r\n");
    events_clear();
    FEED(c, 0, "USR 3 TWN S lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1,kpp=1,kv=5,ver=2.1.0173.1,tpf=4c3f2a6b\r\n");
    ev = TAKE_EVENT(MSGR_EVENT_KIND_LOGIN_REQUEST);
    CHECK(ev != 0 && ev_is(ev->text, ev->text_len, "wtv-passport:/messengerlogin"));
    CHECK(ev != 0 && contains(ev->name, ev->name_len, "lc=1033"));
    CHECK_RES(msgr_client_login_reply(c, g_now, 200, 0, 4, 0, 0, 0, 0), MSGR_RESULT_NULL_PARAMETER);
    events_clear();
    g_net.closes = 0;
    CHECK_RES(msgr_client_login_failed(c, g_now), MSGR_RESULT_OK);
    DRAIN(c);
    ev = TAKE_EVENT(MSGR_EVENT_KIND_SIGNED_OUT);
    CHECK(ev != 0 && ev->code != MSGR_RESULT_OK && ev->text_len > 0);
    CHECK(g_net.closes == 1 && g_net.last_close == 0); /* once, though two events end it */
    CHECK_RES(msgr_client_login_failed(c, g_now), MSGR_RESULT_WRONG_STATE);
    msgr_client_deinit(c);
}

/* The head-waiter block names the server; a failing send closes the connection. */
static void test_headwaiter_and_send_failure(void)
{
    msgr_config cfg = base_config();
    msgr_client *c;
    ev_copy *ev;

    net_reset();
    cfg.server_host = 0;
    cfg.server_host_len = 0;
    cfg.server_port = 0;
    cfg.headwaiter = "wtv-messenger-authorized: 1\r\nwtv-messenger-enable: 1\r\n"
                     "wtv-user-name: alice\r\nwtv-domain: example.com\r\n"
                     "wtv-messenger-server: msn.example.net:1865\r\n";
    cfg.headwaiter_len = t_strlen(cfg.headwaiter);
    c = MAKE_CLIENT(g_arena2_words, &cfg);
    if (c == 0) {
        return;
    }
    g_net.client = c;
    CHECK_RES(msgr_client_sign_in(c, g_now), MSGR_RESULT_OK);
    DRAIN(c);
    CHECK(g_net.opens == 1 && g_net.conn[0].port == 1865);
    CHECK(g_net.conn[0].host_len == 15 && t_memeq(g_net.conn[0].host, "msn.example.net", 15));
    g_net.send_fail = 1;
    events_clear();
    CHECK_RES(msgr_client_connected(c, g_now, 0), MSGR_RESULT_OK);
    DRAIN(c);
    g_net.send_fail = 0;
    CHECK(g_net.closes >= 1 && g_net.last_close == 0);
    ev = TAKE_EVENT(MSGR_EVENT_KIND_SIGNED_OUT);
    CHECK(ev != 0 && ev->code != MSGR_RESULT_OK);
    msgr_client_deinit(c);
}

#ifdef MSGR_TEST_HOOKS
/* A panic inside the core ends as MSGR_RESULT_PANIC and poisons the handle (host only: on the
 * box the core cannot unwind and calls msgr_platform_panic instead). */
static void test_panic(void)
{
    msgr_config cfg = base_config();
    msgr_client *c;
    msgr_event e;
    uint32_t id;
    size_t n;

    net_reset();
    c = MAKE_CLIENT(g_arena2_words, &cfg);
    if (c == 0) {
        return;
    }
    CHECK_RES(msgr_test_force_panic(0), MSGR_RESULT_NULL_PARAMETER);
    CHECK_RES(msgr_test_force_panic(c), MSGR_RESULT_PANIC);
    CHECK_RES(msgr_test_force_panic(c), MSGR_RESULT_PANIC);
    CHECK_RES(msgr_client_tick(c, g_now), MSGR_RESULT_PANIC);
    CHECK_RES(msgr_client_poll_event(c, &e), MSGR_RESULT_PANIC);
    CHECK_RES(msgr_client_sign_in(c, g_now), MSGR_RESULT_PANIC);
    CHECK_RES(msgr_client_open_conversation(c, g_now, BOB, 15, &id), MSGR_RESULT_PANIC);
    CHECK_RES(msgr_client_save_lists(c, g_saved, sizeof g_saved, &n), MSGR_RESULT_PANIC);
    CHECK(msgr_client_contact_count(c) == 0);
    CHECK(msgr_client_arena_high_water(c) == 0);
    CHECK(g_net.opens == 0);
    msgr_client_deinit(c);
}
#endif

uint32_t msgr_abi_test_run(void)
{
    size_t i;
    g_passed = 0;
    g_failed = 0;
    for (i = 0; i < sizeof g_big; i++) {
        g_big[i] = 'a';
    }
    board_puts("c-abi: msntv-messenger C ABI test\n");
    test_strerror();
    test_init_args();
    test_null_handle();
    test_fresh_client_args();
    test_session();
    test_restore();
    test_list_full();
    test_delegate();
    test_headwaiter_and_send_failure();
#ifdef MSGR_TEST_HOOKS
    test_panic();
#endif
    if (g_passed == 0) {
        g_failed++;
    }
    board_puts("c-abi: ");
    board_put_u32(g_passed);
    board_puts(" passed, ");
    board_put_u32(g_failed);
    board_puts(" failed\n");
    return g_failed;
}
