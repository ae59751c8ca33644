/* box_ui.c: the box's Messenger UI on a serial console, over the public C ABI only.
 *
 * One polling loop owns the console, the sockets (through box_platform.h) and the clock, and
 * drives the core through msntv_messenger.h: transport hooks open/send/close sockets, received
 * bytes and connection states are fed back, timers are ticked, and events are drained from the
 * core's bounded queue after every call (the core's documented rule).
 *
 * Every important event prints one human line and one machine line starting with `EVT `
 * (board/qemu-malta/README.md lists them), so a script on the serial port can drive the UI
 * with line commands such as `/open bob@example.com`, plain text to send, `/status AWY`.
 *
 * Freestanding C99: no libc calls, so the same file links into the bare-metal firmware. */
#include "box_ui.h"

#include "box_platform.h"
#include "msntv_messenger.h"

/* Connection numbers the UI tracks (0 = NS, 1 = WTVP, 2.. = switchboards). */
#define MAX_CONN 8u
/* Receive buffer per connection: a whole MSNP frame (payloads are at most 1664 bytes). */
#define RX_CAP 4096u
/* Conversations the UI asks the core for (the board has four switchboard sockets). */
#define MAX_CONVS 4u
/* Longest passport kept for a conversation's peer. */
#define PEER_MAX 130u
/* Longest input line. */
#define LINE_MAX 480u
/* Longest wait in the loop when nothing is due (ms). */
#define MAX_WAIT_MS 20u
/* How long `/quit` waits for the sign-out to finish (ms). */
#define QUIT_WAIT_MS 3000u

enum conn_ui_state { CONN_IDLE = 0, CONN_CONNECTING = 1, CONN_OPEN = 2 };

struct conv {
    int used;
    uint32_t id;
    char peer[PEER_MAX];
    size_t peer_len;
};

static msgr_client *g_client;
static uint8_t g_conn[MAX_CONN];
static uint8_t g_rx[MAX_CONN][RX_CAP];
static size_t g_rxlen[MAX_CONN];
static int g_tx_blocked;
static struct conv g_convs[MAX_CONVS];
static int g_have_cur;
static uint32_t g_cur;
static char g_line[LINE_MAX];
static size_t g_line_len;
static int g_last_cr;
static int g_running;
static int g_quitting;
static uint64_t g_quit_deadline;
static int g_signed_in;
static int g_fatal;

static const char *const STATUS_CODES[] = {"FLN", "NLN", "BSY", "IDL", "BRB",
                                           "AWY", "PHN", "LUN", "HDN", "UNK"};
static const char *const OUTCOMES[] = {"delivered",
                                       "sent",
                                       "failed-nak",
                                       "failed-timeout",
                                       "failed-contact-offline",
                                       "failed-refused",
                                       "failed-server",
                                       "failed-setup",
                                       "failed-closed",
                                       "failed-connection-lost",
                                       "failed-cancelled"};
static const char *const OUTCOME_TEXT[] = {"delivered",
                                           "sent (no acknowledgement asked)",
                                           "failed: not delivered (NAK)",
                                           "failed: no answer in time",
                                           "failed: the contact is offline or not accepting messages",
                                           "failed: the invitation was refused",
                                           "failed: the server refused the message",
                                           "failed: the conversation could not be set up",
                                           "failed: the conversation ended first",
                                           "failed: the connection dropped",
                                           "failed: you left the conversation"};
/* Indexed by msgr_close_reason. */
static const char *const CLOSE_REASONS[] = {
    [MSGR_CLOSE_REASON_LEFT] = "left",
    [MSGR_CLOSE_REASON_EMPTY] = "empty",
    [MSGR_CLOSE_REASON_CONNECTION_LOST] = "connection-lost",
    [MSGR_CLOSE_REASON_TIMEOUT] = "timeout",
    [MSGR_CLOSE_REASON_SETUP_FAILED] = "setup",
    [MSGR_CLOSE_REASON_REFUSED] = "refused",
    [MSGR_CLOSE_REASON_PROTOCOL] = "protocol",
    [MSGR_CLOSE_REASON_IMS_OFF] = "ims-off",
};
static const char *const LISTS[] = {"FL", "AL", "BL", "RL"};

/* ----- small freestanding helpers ---------------------------------------------------------- */

static size_t c_strlen(const char *s)
{
    size_t n = 0;
    if (s == NULL) {
        return 0;
    }
    while (s[n] != '\0') {
        n++;
    }
    return n;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Query whether `p[0..n)` equals the NUL-terminated `lit`, ignoring ASCII case. */
static int word_is(const char *p, size_t n, const char *lit)
{
    size_t i;
    if (n != c_strlen(lit)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (lower(p[i]) != lower(lit[i])) {
            return 0;
        }
    }
    return 1;
}

static int bytes_eq(const char *a, size_t an, const char *b, size_t bn)
{
    size_t i;
    if (an != bn) {
        return 0;
    }
    for (i = 0; i < an; i++) {
        if (lower(a[i]) != lower(b[i])) {
            return 0;
        }
    }
    return 1;
}

/* Parse a decimal number of at most 9 digits; return -1 if `p[0..n)` is not one. */
static long parse_num(const char *p, size_t n)
{
    long v = 0;
    size_t i;
    if (n == 0 || n > 9) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Take the next space-separated word from `*p..end` into `*w`/`*wn`; 0 if none is left. */
static int next_word(const char **p, const char *end, const char **w, size_t *wn)
{
    const char *s = *p;
    while (s < end && *s == ' ') {
        s++;
    }
    if (s >= end) {
        *p = s;
        return 0;
    }
    *w = s;
    while (s < end && *s != ' ') {
        s++;
    }
    *wn = (size_t)(s - *w);
    *p = s;
    return 1;
}

/* Skip spaces and return the rest of the line. */
static void rest_of(const char **p, const char *end, const char **w, size_t *wn)
{
    const char *s = *p;
    while (s < end && *s == ' ') {
        s++;
    }
    *w = s;
    *wn = (size_t)(end - s);
}

/* ----- output ------------------------------------------------------------------------------ */

static void out(const char *s)
{
    plat_puts(s);
}

static void nl(void)
{
    plat_puts("\r\n");
}

static void out_u64(uint64_t v)
{
    char buf[24];
    size_t i = sizeof buf - 1;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0 && i > 0);
    plat_puts(&buf[i]);
}

static void out_hex_byte(uint8_t b)
{
    static const char HEX[] = "0123456789abcdef";
    plat_putc(HEX[b >> 4]);
    plat_putc(HEX[b & 15u]);
}

/* Write `p[0..n)` with control bytes and backslashes escaped, so that one event stays one line. */
static void out_n(const char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        uint8_t b = (uint8_t)p[i];
        if (b == '\\') {
            plat_puts("\\\\");
        } else if (b == '\n') {
            plat_puts("\\n");
        } else if (b == '\r') {
            plat_puts("\\r");
        } else if (b < 0x20u || b == 0x7fu) {
            plat_puts("\\x");
            out_hex_byte(b);
        } else {
            plat_putc((char)b);
        }
    }
}

static void out_s(msgr_str s)
{
    if (s.ptr != NULL) {
        out_n(s.ptr, s.len);
    }
}

/* Write a friendly name, or the passport when the name is empty. */
static void out_who(msgr_str name, msgr_str passport)
{
    if (name.len > 0) {
        out_s(name);
    } else {
        out_s(passport);
    }
}

static void evt(const char *what)
{
    plat_puts("EVT ");
    plat_puts(what);
}

static void arg(const char *s)
{
    plat_putc(' ');
    plat_puts(s);
}

static void arg_s(msgr_str s)
{
    plat_putc(' ');
    if (s.len == 0) {
        plat_putc('-');
    } else {
        out_s(s);
    }
}

static void arg_n(const char *p, size_t n)
{
    plat_putc(' ');
    out_n(p, n);
}

static void arg_u(uint64_t v)
{
    plat_putc(' ');
    out_u64(v);
}

static const char *status_code(uint32_t s)
{
    return s < sizeof STATUS_CODES / sizeof STATUS_CODES[0] ? STATUS_CODES[s] : "UNK";
}

/* Report a failed call: a human line and `EVT error <what> <code> <text>`. */
static void report(const char *what, msgr_result r)
{
    out("! ");
    out(what);
    out(": ");
    out(msgr_strerror(r));
    nl();
    evt("error");
    arg(what);
    arg_u(r);
    nl();
    if (r == MSGR_RESULT_PANIC) {
        g_fatal = 1;
        g_running = 0;
    }
}

/* ----- transport hooks (called from inside msgr_client_* calls: no msgr calls here) -------- */

static int32_t hook_open(void *ud, uint32_t conn, const char *host, size_t host_len, uint16_t port)
{
    (void)ud;
    if (conn >= MAX_CONN) {
        return -1;
    }
    if (plat_open(conn, host, host_len, port) != 0) {
        return -1;
    }
    g_conn[conn] = CONN_CONNECTING;
    g_rxlen[conn] = 0;
    return 0;
}

static int32_t hook_send(void *ud, uint32_t conn, const uint8_t *buf, size_t len)
{
    int n;
    (void)ud;
    if (conn >= MAX_CONN || g_conn[conn] != CONN_OPEN) {
        return -1;
    }
    if (len > 0x7fffffffu) {
        len = 0x7fffffffu;
    }
    n = plat_send(conn, buf, len);
    if (n >= 0 && (size_t)n < len) {
        g_tx_blocked = 1;
    }
    return n;
}

static void hook_close(void *ud, uint32_t conn)
{
    (void)ud;
    if (conn >= MAX_CONN) {
        return;
    }
    plat_close(conn);
    g_conn[conn] = CONN_IDLE;
    g_rxlen[conn] = 0;
}

/* ----- conversations ----------------------------------------------------------------------- */

static struct conv *conv_find(uint32_t id)
{
    size_t i;
    for (i = 0; i < MAX_CONVS; i++) {
        if (g_convs[i].used && g_convs[i].id == id) {
            return &g_convs[i];
        }
    }
    return NULL;
}

static struct conv *conv_by_peer(const char *p, size_t n)
{
    size_t i;
    for (i = 0; i < MAX_CONVS; i++) {
        if (g_convs[i].used && bytes_eq(g_convs[i].peer, g_convs[i].peer_len, p, n)) {
            return &g_convs[i];
        }
    }
    return NULL;
}

/* Find or make the UI's record of conversation `id`, naming its peer if not known yet. */
static struct conv *conv_note(uint32_t id, const char *peer, size_t peer_len)
{
    size_t i;
    struct conv *c = conv_find(id);
    if (c == NULL) {
        for (i = 0; i < MAX_CONVS && c == NULL; i++) {
            if (!g_convs[i].used) {
                c = &g_convs[i];
                c->used = 1;
                c->id = id;
                c->peer_len = 0;
            }
        }
    }
    if (c != NULL && c->peer_len == 0 && peer != NULL && peer_len > 0 && peer_len <= PEER_MAX) {
        for (i = 0; i < peer_len; i++) {
            c->peer[i] = peer[i];
        }
        c->peer_len = peer_len;
    }
    if (c != NULL && !g_have_cur) {
        g_have_cur = 1;
        g_cur = id;
    }
    return c;
}

static void out_conv(uint32_t id)
{
    struct conv *c = conv_find(id);
    out("[");
    if (c != NULL && c->peer_len > 0) {
        out_n(c->peer, c->peer_len);
    } else {
        out("#");
        out_u64(id & 0xffffu);
    }
    out("] ");
}

/* ----- events ------------------------------------------------------------------------------ */

static void show_contacts(int all);

static void on_event(const msgr_event *e)
{
    switch (e->kind) {
    case MSGR_EVENT_KIND_SIGNED_IN:
        g_signed_in = 1;
        out("* Signed in as ");
        out_s(e->name);
        nl();
        evt("signed-in");
        arg_s(e->name);
        nl();
        break;
    case MSGR_EVENT_KIND_SIGNED_OUT:
        g_signed_in = 0;
        out("* Signed out: ");
        out_s(e->text);
        nl();
        evt("signed-out");
        arg_u(e->code);
        arg_s(e->text);
        nl();
        break;
    case MSGR_EVENT_KIND_LISTS_SYNCED:
        evt("synced");
        arg_u(e->code);
        nl();
        show_contacts(0);
        break;
    case MSGR_EVENT_KIND_PRESENCE:
        out("* ");
        out_who(e->name, e->passport);
        out(e->online ? " is online (" : " appears offline (");
        out(status_code(e->status));
        out(")");
        nl();
        evt(e->online ? "online" : "offline");
        arg_s(e->passport);
        arg(status_code(e->status));
        nl();
        break;
    case MSGR_EVENT_KIND_CONTACT_OFFLINE:
        out("* ");
        out_s(e->passport);
        out(" went offline");
        nl();
        evt("offline");
        arg_s(e->passport);
        arg("FLN");
        nl();
        break;
    case MSGR_EVENT_KIND_ADDED_BY:
        out("* ");
        out_who(e->name, e->passport);
        out(" (");
        out_s(e->passport);
        out(e->code == 1 ? ") added you to their list while you were away: /accept "
                         : ") added you to their list: /accept ");
        out_s(e->passport);
        out(" or /decline ");
        out_s(e->passport);
        nl();
        evt("added-by");
        arg_s(e->passport);
        arg_s(e->name);
        nl();
        break;
    case MSGR_EVENT_KIND_REMOVED_BY:
        out("* ");
        out_s(e->passport);
        out(" removed you from their list");
        nl();
        evt("removed-by");
        arg_s(e->passport);
        nl();
        break;
    case MSGR_EVENT_KIND_LIST_CHANGED:
        out("* ");
        out_s(e->passport);
        out(e->online ? " added to " : " removed from ");
        out(e->code < 4u ? LISTS[e->code] : "?");
        nl();
        evt("list");
        arg_s(e->passport);
        arg(e->code < 4u ? LISTS[e->code] : "?");
        arg(e->online ? "added" : "removed");
        nl();
        break;
    case MSGR_EVENT_KIND_STATUS_CHANGED:
        out("* Your status is now ");
        out(status_code(e->status));
        nl();
        evt("status");
        arg(status_code(e->status));
        nl();
        break;
    case MSGR_EVENT_KIND_CONVERSATION_READY:
        conv_note(e->conversation, NULL, 0);
        out_conv(e->conversation);
        out("conversation ready");
        nl();
        evt("conv-ready");
        arg_u(e->conversation & 0xffffu);
        nl();
        break;
    case MSGR_EVENT_KIND_JOINED:
        conv_note(e->conversation, e->passport.ptr, e->passport.len);
        out_conv(e->conversation);
        out_who(e->name, e->passport);
        out(" joined");
        nl();
        evt("joined");
        arg_s(e->passport);
        nl();
        break;
    case MSGR_EVENT_KIND_LEFT:
        out_conv(e->conversation);
        out_s(e->passport);
        out(" left");
        nl();
        evt("left");
        arg_s(e->passport);
        nl();
        break;
    case MSGR_EVENT_KIND_MESSAGE:
        conv_note(e->conversation, e->passport.ptr, e->passport.len);
        out_conv(e->conversation);
        out_who(e->name, e->passport);
        out(": ");
        out_s(e->text);
        nl();
        evt("message");
        arg_s(e->passport);
        arg_s(e->text);
        nl();
        break;
    case MSGR_EVENT_KIND_TYPING:
        out_conv(e->conversation);
        out_s(e->passport);
        out(" is typing...");
        nl();
        evt("typing");
        arg_s(e->passport);
        nl();
        break;
    case MSGR_EVENT_KIND_OUTCOME: {
        uint32_t k = e->code < sizeof OUTCOMES / sizeof OUTCOMES[0] ? e->code : 6u;
        out_conv(e->conversation);
        out("message ");
        out_u64(e->message);
        out(" ");
        out(OUTCOME_TEXT[k]);
        nl();
        evt("outcome");
        arg(OUTCOMES[k]);
        arg_u(e->message);
        nl();
        break;
    }
    case MSGR_EVENT_KIND_CONVERSATION_CLOSED: {
        struct conv *c = conv_find(e->conversation);
        const char *why = e->code < sizeof CLOSE_REASONS / sizeof CLOSE_REASONS[0]
                              ? CLOSE_REASONS[e->code]
                              : "other";
        out_conv(e->conversation);
        out("conversation ended (");
        out(why);
        out(")");
        nl();
        evt("conv-closed");
        if (c != NULL && c->peer_len > 0) {
            arg_n(c->peer, c->peer_len);
        } else {
            arg("-");
        }
        arg(why);
        nl();
        if (c != NULL) {
            c->used = 0;
        }
        if (g_have_cur && g_cur == e->conversation) {
            g_have_cur = 0;
        }
        break;
    }
    case MSGR_EVENT_KIND_IMS:
        if (e->online) {
            out("* Messaging is back on");
        } else {
            out("* Messaging was switched off because the box was idle; press a key to switch it "
                "back on");
        }
        nl();
        evt("ims");
        arg(e->online ? "on" : "off");
        nl();
        break;
    case MSGR_EVENT_KIND_LOGIN_REQUEST:
        /* This UI signs in with a password or the built-in WTVP client, never by delegation. */
        out("! the core asked for a delegated login, which this UI does not perform");
        nl();
        report("login-request", msgr_client_login_failed(g_client, plat_now_ms()));
        break;
    case MSGR_EVENT_KIND_RECONNECTING:
        out("* Connection lost; reconnecting (attempt ");
        out_u64(e->code);
        out(")");
        nl();
        evt("reconnecting");
        arg_u(e->code);
        nl();
        break;
    case MSGR_EVENT_KIND_ALERT:
        out("* MSN Alert: ");
        out_s(e->text);
        nl();
        evt("alert");
        arg_s(e->text);
        nl();
        break;
    case MSGR_EVENT_KIND_PAGE:
        out("* Page from ");
        out_s(e->passport);
        out(": ");
        out_s(e->text);
        nl();
        evt("page");
        arg_s(e->passport);
        arg_s(e->text);
        nl();
        break;
    case MSGR_EVENT_KIND_URL:
        out("* Web link: ");
        out_s(e->text);
        nl();
        evt("url");
        arg_s(e->text);
        arg_s(e->name);
        nl();
        break;
    case MSGR_EVENT_KIND_EMAIL:
        out("* Unread e-mail: ");
        out_u64(e->code);
        nl();
        evt("email");
        arg_u(e->code);
        nl();
        break;
    case MSGR_EVENT_KIND_REQUEST_FAILED:
        if (e->passport.len > 0 && e->text.len == 3 && e->text.ptr[0] == 'C' &&
            e->text.ptr[1] == 'A' && e->text.ptr[2] == 'L') {
            /* A switchboard invitation (CAL) that failed: 217 offline, or no answer. */
            out_conv(e->conversation);
            out("could not invite ");
            out_s(e->passport);
            out(e->code == MSGR_RESULT_TIMEOUT ? " (no answer)"
                                               : " (offline, or not accepting messages)");
        } else {
            out("! request failed: ");
            out_u64(e->code);
            out(" ");
            out_s(e->text);
            out_s(e->passport);
        }
        nl();
        evt("request-failed");
        arg_u(e->code);
        arg_s(e->text);
        arg_s(e->passport);
        nl();
        break;
    case MSGR_EVENT_KIND_UNSUPPORTED_CONTENT:
        out_conv(e->conversation);
        out_s(e->passport);
        out(" sent something this box cannot show (");
        out_s(e->text);
        out(")");
        nl();
        evt("unsupported");
        arg_s(e->passport);
        arg_s(e->text);
        nl();
        break;
    case MSGR_EVENT_KIND_INVITATION_IGNORED:
        out("* An invitation from ");
        out_s(e->passport);
        out(" was not taken up: ");
        out(msgr_strerror(e->code));
        nl();
        evt("invitation-ignored");
        arg_s(e->passport);
        arg_u(e->code);
        nl();
        break;
    case MSGR_EVENT_KIND_LIST_FULL:
        out("* Contact storage is full: ");
        if (e->passport.len > 0) {
            out_s(e->passport);
        } else {
            out("a group");
        }
        out(e->code == 0 ? " was not kept" : " is kept without its name");
        nl();
        evt("list-full");
        arg_s(e->passport);
        arg_u(e->code);
        nl();
        break;
    default:
        break;
    }
}

/* Take every waiting event (connection requests are carried out meanwhile). */
static void drain(void)
{
    msgr_event e;
    for (;;) {
        msgr_result r = msgr_client_poll_event(g_client, &e);
        if (r != MSGR_RESULT_OK) {
            report("poll-event", r);
            return;
        }
        if (e.kind == MSGR_EVENT_KIND_NONE) {
            return;
        }
        if (g_line_len > 0) {
            /* Keep the half-typed line apart from the event, and show it again after. */
            nl();
        }
        on_event(&e);
        if (g_line_len > 0) {
            size_t i;
            for (i = 0; i < g_line_len; i++) {
                plat_putc(g_line[i]);
            }
        }
    }
}

/* Report a call's result when it failed, then drain the events it caused. */
static int done(const char *what, msgr_result r)
{
    if (r != MSGR_RESULT_OK) {
        report(what, r);
    }
    drain();
    return r == MSGR_RESULT_OK;
}

/* ----- contacts ---------------------------------------------------------------------------- */

static void show_contacts(int all)
{
    uint32_t n = msgr_client_contact_count(g_client);
    uint32_t i;
    uint32_t shown = 0;
    out(all ? "Contacts (every list):" : "Contacts:");
    nl();
    for (i = 0; i < n; i++) {
        msgr_contact c;
        if (msgr_client_contact_at(g_client, i, &c) != MSGR_RESULT_OK) {
            continue;
        }
        if (!all && (c.lists & 1u) == 0) {
            continue;
        }
        shown++;
        out("  ");
        out_u64(i + 1u);
        out(". ");
        out_who(c.name, c.passport);
        out(" <");
        out_s(c.passport);
        out("> ");
        out(c.online ? "online" : "offline");
        if (c.online && c.status != MSGR_STATUS_ONLINE) {
            out(" (");
            out(status_code(c.status));
            out(")");
        }
        if (c.lists & 4u) {
            out(" [blocked]");
        }
        nl();
        evt("contact");
        arg_s(c.passport);
        arg(c.online ? "online" : "offline");
        arg(status_code(c.status));
        plat_putc(' ');
        {
            uint32_t b;
            int any = 0;
            for (b = 0; b < 4u; b++) {
                if (c.lists & (1u << b)) {
                    if (any) {
                        plat_putc(',');
                    }
                    out(LISTS[b]);
                    any = 1;
                }
            }
            if (!any) {
                plat_putc('-');
            }
        }
        nl();
    }
    if (shown == 0) {
        out("  (nobody yet: /add someone@example.com)");
        nl();
    }
    evt("contacts");
    arg_u(shown);
    nl();
}

/* Resolve a command argument to a passport: a list number (from the contact list) or the text
 * itself. Copies into `buf`; returns the length (0: no such contact). */
static size_t resolve(const char *w, size_t wn, char *buf, size_t cap)
{
    long k = parse_num(w, wn);
    size_t i;
    if (k > 0) {
        msgr_contact c;
        if (msgr_client_contact_at(g_client, (uint32_t)(k - 1), &c) != MSGR_RESULT_OK ||
            c.passport.len > cap || c.passport.ptr == NULL) {
            return 0;
        }
        for (i = 0; i < c.passport.len; i++) {
            buf[i] = c.passport.ptr[i];
        }
        return c.passport.len;
    }
    if (wn > cap) {
        return 0;
    }
    for (i = 0; i < wn; i++) {
        buf[i] = w[i];
    }
    return wn;
}

/* ----- commands ---------------------------------------------------------------------------- */

static void help(void)
{
    out("Commands (a line without / is sent in the current conversation):");
    nl();
    out("  /list [all]          contacts (or press Tab)     /open <who>    start or switch chat");
    nl();
    out("  /msg <text>          send                        /conv [n]      list or pick chats");
    nl();
    out("  /leave               end the chat                /invite <who>  add someone to it");
    nl();
    out("  /status NLN|AWY|BSY|HDN|BRB|PHN|LUN|IDL (or online/away/busy/hidden)");
    nl();
    out("  /accept <who>  /decline <who>  answer 'added you'  /block <who>  /allow <who>");
    nl();
    out("  /add <who> [name]  /remove <who>  /name <new name>  /ims on|off");
    nl();
    out("  /privacy ask|noask all|none   /url INBOX   /page <who> <text>   /email <address>");
    nl();
    out("  /signin  /signout  /quit      <who> is a passport or a list number");
    nl();
}

static int parse_status(const char *w, size_t n, uint32_t *out_status)
{
    static const struct {
        const char *a;
        const char *b;
        uint32_t s;
    } T[] = {{"NLN", "online", MSGR_STATUS_ONLINE},   {"AWY", "away", MSGR_STATUS_AWAY},
             {"BSY", "busy", MSGR_STATUS_BUSY},       {"HDN", "hidden", MSGR_STATUS_HIDDEN},
             {"BRB", "brb", MSGR_STATUS_BE_RIGHT_BACK}, {"PHN", "phone", MSGR_STATUS_ON_PHONE},
             {"LUN", "lunch", MSGR_STATUS_OUT_TO_LUNCH}, {"IDL", "idle", MSGR_STATUS_IDLE}};
    size_t i;
    for (i = 0; i < sizeof T / sizeof T[0]; i++) {
        if (word_is(w, n, T[i].a) || word_is(w, n, T[i].b)) {
            *out_status = T[i].s;
            return 1;
        }
    }
    return 0;
}

static void send_text(const char *t, size_t n, uint64_t now)
{
    uint32_t id = 0;
    msgr_result r;
    if (!g_have_cur) {
        out("! no conversation: /open <who> first");
        nl();
        evt("error");
        arg("msg");
        arg("no-conversation");
        nl();
        return;
    }
    r = msgr_client_send_message(g_client, now, g_cur, t, n, &id);
    if (r == MSGR_RESULT_OK) {
        out_conv(g_cur);
        out("you: ");
        out_n(t, n);
        nl();
        evt("sent");
        arg_u(id);
        nl();
    }
    done("msg", r);
}

static void open_conv(const char *who, size_t n, uint64_t now)
{
    uint32_t id = 0;
    msgr_result r;
    struct conv *c = conv_by_peer(who, n);
    if (c != NULL) {
        g_have_cur = 1;
        g_cur = c->id;
        out_conv(c->id);
        out("is the current conversation");
        nl();
        evt("current");
        arg_n(who, n);
        nl();
        return;
    }
    r = msgr_client_open_conversation(g_client, now, who, n, &id);
    if (r == MSGR_RESULT_OK) {
        c = conv_note(id, who, n);
        g_have_cur = 1;
        g_cur = id;
        out_conv(id);
        out("opening a conversation (type to send; messages wait until it is ready)");
        nl();
        evt("current");
        arg_n(who, n);
        nl();
    }
    (void)c;
    done("open", r);
}

static void list_convs(void)
{
    size_t i;
    int any = 0;
    for (i = 0; i < MAX_CONVS; i++) {
        if (g_convs[i].used) {
            any = 1;
            out(g_have_cur && g_cur == g_convs[i].id ? "> " : "  ");
            out_u64(g_convs[i].id & 0xffffu);
            out(" ");
            out_n(g_convs[i].peer, g_convs[i].peer_len);
            nl();
        }
    }
    if (!any) {
        out("  (no conversations)");
        nl();
    }
}

static void command(const char *p, const char *end, uint64_t now)
{
    const char *w;
    size_t wn;
    const char *a = NULL;
    size_t an = 0;
    char who[PEER_MAX];
    size_t whon = 0;
    if (!next_word(&p, end, &w, &wn)) {
        return;
    }
    /* Most commands take a contact first. */
    {
        const char *q = p;
        if (next_word(&q, end, &a, &an)) {
            whon = resolve(a, an, who, sizeof who);
        }
    }
#define NEED_WHO(name)                                                                             \
    do {                                                                                           \
        if (whon == 0) {                                                                           \
            out("! " name ": who? (a passport or a list number)");                                 \
            nl();                                                                                  \
            evt("error");                                                                          \
            arg(name);                                                                             \
            arg("no-contact");                                                                     \
            nl();                                                                                  \
            return;                                                                                \
        }                                                                                          \
    } while (0)
    if (word_is(w, wn, "/help") || word_is(w, wn, "/?")) {
        help();
    } else if (word_is(w, wn, "/list") || word_is(w, wn, "/l")) {
        show_contacts(an > 0 && word_is(a, an, "all"));
    } else if (word_is(w, wn, "/open")) {
        NEED_WHO("open");
        open_conv(who, whon, now);
    } else if (word_is(w, wn, "/msg")) {
        rest_of(&p, end, &a, &an);
        send_text(a, an, now);
    } else if (word_is(w, wn, "/conv")) {
        long k = an > 0 ? parse_num(a, an) : -1;
        size_t i;
        if (k < 0) {
            list_convs();
            return;
        }
        for (i = 0; i < MAX_CONVS; i++) {
            if (g_convs[i].used && (g_convs[i].id & 0xffffu) == (uint32_t)k) {
                g_have_cur = 1;
                g_cur = g_convs[i].id;
                out_conv(g_cur);
                out("is the current conversation");
                nl();
                return;
            }
        }
        out("! no such conversation");
        nl();
    } else if (word_is(w, wn, "/leave")) {
        if (!g_have_cur) {
            out("! no conversation");
            nl();
            return;
        }
        done("leave", msgr_client_leave(g_client, now, g_cur));
    } else if (word_is(w, wn, "/invite")) {
        NEED_WHO("invite");
        if (!g_have_cur) {
            out("! no conversation");
            nl();
            return;
        }
        done("invite", msgr_client_invite(g_client, now, g_cur, who, whon));
    } else if (word_is(w, wn, "/status") || word_is(w, wn, "/away") || word_is(w, wn, "/busy") ||
               word_is(w, wn, "/online") || word_is(w, wn, "/hidden")) {
        uint32_t s;
        const char *sw = word_is(w, wn, "/status") ? a : w + 1;
        size_t sn = word_is(w, wn, "/status") ? an : wn - 1;
        if (sw == NULL || !parse_status(sw, sn, &s)) {
            out("! status: one of NLN AWY BSY HDN BRB PHN LUN IDL");
            nl();
            evt("error");
            arg("status");
            arg("bad-status");
            nl();
            return;
        }
        done("status", msgr_client_set_status(g_client, now, s));
    } else if (word_is(w, wn, "/block")) {
        NEED_WHO("block");
        done("block", msgr_client_block(g_client, now, who, whon));
    } else if (word_is(w, wn, "/allow") || word_is(w, wn, "/unblock")) {
        NEED_WHO("allow");
        done("allow", msgr_client_allow(g_client, now, who, whon));
    } else if (word_is(w, wn, "/accept")) {
        NEED_WHO("accept");
        done("accept", msgr_client_answer_added(g_client, now, who, whon, true));
    } else if (word_is(w, wn, "/decline")) {
        NEED_WHO("decline");
        done("decline", msgr_client_answer_added(g_client, now, who, whon, false));
    } else if (word_is(w, wn, "/add")) {
        const char *q = p;
        NEED_WHO("add");
        (void)next_word(&q, end, &a, &an);
        rest_of(&q, end, &a, &an);
        done("add", msgr_client_add_contact(g_client, now, MSGR_LIST_FORWARD, who, whon, a, an));
    } else if (word_is(w, wn, "/remove")) {
        NEED_WHO("remove");
        done("remove", msgr_client_remove_contact(g_client, now, MSGR_LIST_FORWARD, who, whon));
    } else if (word_is(w, wn, "/name")) {
        rest_of(&p, end, &a, &an);
        done("name", msgr_client_rename_self(g_client, now, a, an));
    } else if (word_is(w, wn, "/ims")) {
        done("ims", msgr_client_set_ims(g_client, now, !(an > 0 && word_is(a, an, "off"))));
    } else if (word_is(w, wn, "/privacy")) {
        const char *q = p;
        const char *b = NULL;
        size_t bn = 0;
        (void)next_word(&q, end, &a, &an);
        if (!next_word(&q, end, &b, &bn)) {
            out("! privacy: /privacy ask|noask all|none");
            nl();
            return;
        }
        done("privacy", msgr_client_set_privacy(g_client, now, word_is(a, an, "ask"),
                                                word_is(b, bn, "all")));
    } else if (word_is(w, wn, "/url")) {
        done("url", msgr_client_request_url(g_client, now, a, an));
    } else if (word_is(w, wn, "/email")) {
        done("email", msgr_client_send_email_invite(g_client, now, a, an));
    } else if (word_is(w, wn, "/page")) {
        const char *q = p;
        NEED_WHO("page");
        (void)next_word(&q, end, &a, &an);
        rest_of(&q, end, &a, &an);
        done("page", msgr_client_page(g_client, now, who, whon, a, an));
    } else if (word_is(w, wn, "/signin")) {
        done("signin", msgr_client_sign_in(g_client, now));
    } else if (word_is(w, wn, "/signout")) {
        done("signout", msgr_client_sign_out(g_client, now));
    } else if (word_is(w, wn, "/quit")) {
        out("* Signing out");
        nl();
        if (g_signed_in) {
            done("signout", msgr_client_sign_out(g_client, now));
        }
        g_quitting = 1;
        g_quit_deadline = now + QUIT_WAIT_MS;
    } else {
        out("! unknown command (try /help)");
        nl();
        evt("error");
        arg_n(w, wn);
        arg("unknown-command");
        nl();
    }
#undef NEED_WHO
}

static void run_line(uint64_t now)
{
    const char *p = g_line;
    const char *end = g_line + g_line_len;
    nl();
    while (p < end && *p == ' ') {
        p++;
    }
    if (p >= end) {
        return;
    }
    if (*p == '/') {
        command(p, end, now);
    } else {
        send_text(p, (size_t)(end - p), now);
    }
}

static void key(int c, uint64_t now)
{
    done("activity", msgr_client_user_activity(g_client, now));
    if (c == '\r' || c == '\n') {
        if (c == '\n' && g_last_cr) {
            g_last_cr = 0;
            return;
        }
        g_last_cr = c == '\r';
        run_line(now);
        g_line_len = 0;
        return;
    }
    g_last_cr = 0;
    if (c == '\t' && g_line_len == 0) {
        nl();
        show_contacts(0);
        return;
    }
    if (c == 0x08 || c == 0x7f) {
        if (g_line_len > 0) {
            /* Remove one whole UTF-8 character. */
            do {
                g_line_len--;
            } while (g_line_len > 0 && ((uint8_t)g_line[g_line_len] & 0xc0u) == 0x80u);
            plat_puts("\b \b");
        }
        return;
    }
    if (c < 0x20) {
        return;
    }
    if (g_line_len >= LINE_MAX) {
        plat_putc('\a');
        return;
    }
    g_line[g_line_len++] = (char)c;
    plat_putc((char)c);
    if (g_line[0] != '/' && g_have_cur) {
        msgr_result r = msgr_client_send_typing(g_client, now, g_cur);
        /* Before the switchboard is ready there is nobody to tell: not an error for the user. */
        if (r != MSGR_RESULT_OK && r != MSGR_RESULT_WRONG_STATE && r != MSGR_RESULT_INVALID_PARAMETER) {
            report("typing", r);
        }
        drain();
    }
}

/* ----- sockets ----------------------------------------------------------------------------- */

static void conn_lost(uint32_t c, uint64_t now)
{
    plat_close(c);
    g_conn[c] = CONN_IDLE;
    g_rxlen[c] = 0;
    done("closed", msgr_client_closed(g_client, now, c));
}

static void service_conn(uint32_t c, uint64_t now)
{
    int st = plat_poll_state(c);
    if (g_conn[c] == CONN_CONNECTING) {
        if (st == PLAT_CONN_OPEN) {
            g_conn[c] = CONN_OPEN;
            done("connected", msgr_client_connected(g_client, now, c));
        } else if (st != PLAT_CONN_CONNECTING) {
            conn_lost(c, now);
            return;
        }
    }
    if (g_conn[c] != CONN_OPEN) {
        return;
    }
    for (;;) {
        int n = 0;
        size_t used = 0;
        msgr_result r;
        if (g_rxlen[c] < RX_CAP) {
            n = plat_recv(c, g_rx[c] + g_rxlen[c], RX_CAP - g_rxlen[c]);
            if (n > 0) {
                g_rxlen[c] += (size_t)n;
            }
        }
        if (g_rxlen[c] == 0) {
            if (n < 0) {
                conn_lost(c, now);
            }
            return;
        }
        r = msgr_client_received(g_client, now, c, g_rx[c], g_rxlen[c], &used);
        if (r != MSGR_RESULT_OK) {
            report("received", r);
            used = 0;
        }
        if (g_conn[c] != CONN_OPEN) {
            /* A hook closed the connection while the bytes were handled. */
            drain();
            return;
        }
        if (used > g_rxlen[c]) {
            used = g_rxlen[c];
        }
        if (used > 0) {
            size_t i;
            for (i = used; i < g_rxlen[c]; i++) {
                g_rx[c][i - used] = g_rx[c][i];
            }
            g_rxlen[c] -= used;
        }
        drain();
        if (g_conn[c] != CONN_OPEN) {
            return;
        }
        if (used == 0 && (n <= 0 || g_rxlen[c] == RX_CAP)) {
            if (msgr_client_input_paused(g_client, c)) {
                /* The next message waits for the shared large-frame buffer, which another
                   conversation holds: keep the bytes (even if the peer closed) and offer them
                   again on the next pass. */
                return;
            }
            if (n < 0 || g_rxlen[c] == RX_CAP) {
                /* Closed with a partial frame left, or a frame larger than the buffer. */
                conn_lost(c, now);
            }
            return;
        }
    }
}

/* ----- the loop ---------------------------------------------------------------------------- */

static void reset_state(void)
{
    size_t i;
    g_client = NULL;
    for (i = 0; i < MAX_CONN; i++) {
        g_conn[i] = CONN_IDLE;
        g_rxlen[i] = 0;
    }
    for (i = 0; i < MAX_CONVS; i++) {
        g_convs[i].used = 0;
    }
    g_tx_blocked = 0;
    g_have_cur = 0;
    g_line_len = 0;
    g_last_cr = 0;
    g_running = 1;
    g_quitting = 0;
    g_signed_in = 0;
    g_fatal = 0;
}

int box_ui_main(const box_ui_config *cfg)
{
    msgr_config mc;
    msgr_transport tr;
    msgr_limits lim;
    msgr_result r;
    size_t need;
    uint32_t i;

    reset_state();
    out("MSN TV Messenger (box UI, C ABI v");
    out_u64(msgr_abi_version());
    out(")");
    nl();
    if (cfg == NULL || cfg->arena == NULL) {
        report("config", MSGR_RESULT_NULL_PARAMETER);
        return 1;
    }
    lim.contacts = 0;
    lim.groups = 0;
    lim.conversations = MAX_CONVS;
    lim.queued_messages = 0;
    lim.message_bytes = 0;
    lim.contact_bytes = 0;
    need = msgr_client_arena_size(&lim);

    mc.passport = cfg->passport;
    mc.passport_len = cfg->passport_len;
    mc.password = cfg->password;
    mc.password_len = cfg->password_len;
    mc.server_host = cfg->server_host;
    mc.server_host_len = cfg->server_host_len;
    mc.server_port = cfg->server_port;
    mc.msnp_versions = cfg->msnp_versions;
    mc.login_mode = cfg->login_mode;
    mc.wtvp_host = cfg->wtvp_host;
    mc.wtvp_host_len = cfg->wtvp_host_len;
    mc.wtvp_port = cfg->wtvp_port;
    mc.ssid = cfg->ssid;
    mc.ssid_len = cfg->ssid_len;
    mc.headwaiter = NULL;
    mc.headwaiter_len = 0;
    mc.idle_off_ms = cfg->idle_off_ms;
    mc.limits = lim;

    tr.userdata = NULL;
    tr.open = hook_open;
    tr.send = hook_send;
    tr.close = hook_close;

    r = msgr_client_init(cfg->arena, cfg->arena_len, &mc, &tr, &g_client);
    if (r != MSGR_RESULT_OK) {
        report("init", r);
        return 1;
    }
    out("* core arena: ");
    out_u64(msgr_client_arena_high_water(g_client));
    out(" of ");
    out_u64(cfg->arena_len);
    out(" bytes used (");
    out_u64(need);
    out(" needed); /help lists the commands");
    nl();
    evt("arena");
    arg_u(msgr_client_arena_high_water(g_client));
    arg_u(cfg->arena_len);
    nl();
    out("* Signing in as ");
    out_n(cfg->passport, cfg->passport_len);
    nl();
    if (!done("signin", msgr_client_sign_in(g_client, plat_now_ms()))) {
        msgr_client_deinit(g_client);
        return 1;
    }

    while (g_running) {
        uint64_t now = plat_now_ms();
        uint64_t due = UINT64_MAX;
        int c;
        for (i = 0; i < MAX_CONN && g_running; i++) {
            service_conn(i, now);
        }
        while (g_running && (c = plat_getc()) >= 0) {
            key(c, plat_now_ms());
        }
        now = plat_now_ms();
        if (g_tx_blocked) {
            g_tx_blocked = 0;
            done("tick", msgr_client_tick(g_client, now));
        }
        if (msgr_client_next_timeout(g_client, &due) == MSGR_RESULT_OK && due <= now) {
            done("tick", msgr_client_tick(g_client, now));
            due = UINT64_MAX;
            (void)msgr_client_next_timeout(g_client, &due);
        }
        if (g_quitting) {
            int open = 0;
            for (i = 0; i < MAX_CONN; i++) {
                open |= g_conn[i] != CONN_IDLE;
            }
            if (!open || now >= g_quit_deadline) {
                break;
            }
        }
        {
            uint64_t wait = due > now ? due - now : 0;
            plat_wait(wait > MAX_WAIT_MS ? MAX_WAIT_MS : (uint32_t)wait);
        }
    }
    for (i = 0; i < MAX_CONN; i++) {
        if (g_conn[i] != CONN_IDLE) {
            plat_close(i);
            g_conn[i] = CONN_IDLE;
        }
    }
    msgr_client_deinit(g_client);
    g_client = NULL;
    out("* Goodbye");
    nl();
    evt("quit");
    arg_u(g_fatal ? 2u : 0u);
    nl();
    return g_fatal ? 2 : 0;
}
