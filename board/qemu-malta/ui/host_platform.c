/* host_platform.c: box_platform.h on a POSIX host (non-blocking TCP sockets, a raw terminal or a
 * piped stdin), and main() for the host build of the box UI.
 *
 *   box-ui-host --user alice@example.com --password alice123 --server 127.0.0.1:1863
 *               [--msnp 6,7] [--idle-ms N] [--wtvp HOST:PORT --ssid HEX16] [--arena BYTES]
 *
 * End of input acts as `/quit`, so a script piped into stdin ends the program cleanly. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "box_platform.h"
#include "box_ui.h"
#include "msntv_messenger.h"

#define HOST_CONNS 8

struct hconn {
    int fd;
    int state; /* enum plat_conn_state */
};

static struct hconn g_conns[HOST_CONNS];
static int g_stdin_eof;
static const char *g_eof_script = "\r/quit\r";
static size_t g_eof_pos;
static struct termios g_saved_tio;
static int g_tio_saved;

uint64_t plat_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int plat_getc(void)
{
    unsigned char c;
    ssize_t n;
    if (g_stdin_eof) {
        /* Feed `/quit` once, then nothing. */
        if (g_eof_script[g_eof_pos] != '\0') {
            return (unsigned char)g_eof_script[g_eof_pos++];
        }
        return -1;
    }
    n = read(STDIN_FILENO, &c, 1);
    if (n == 1) {
        return c;
    }
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        g_stdin_eof = 1;
    }
    return -1;
}

void plat_putc(char c)
{
    fputc(c, stdout);
}

void plat_puts(const char *s)
{
    if (s != NULL) {
        fputs(s, stdout);
    }
}

static struct hconn *conn_at(uint32_t conn)
{
    return conn < HOST_CONNS ? &g_conns[conn] : NULL;
}

int plat_open(uint32_t conn, const char *host, size_t host_len, uint16_t port)
{
    struct hconn *h = conn_at(conn);
    char name[256];
    char service[8];
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    int fd;
    int one = 1;
    if (h == NULL || host == NULL || host_len == 0 || host_len >= sizeof name || port == 0) {
        return -1;
    }
    plat_close(conn);
    memcpy(name, host, host_len);
    name[host_len] = '\0';
    snprintf(service, sizeof service, "%u", (unsigned)port);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(name, service, &hints, &res) != 0 || res == NULL) {
        return -1;
    }
    fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd < 0) {
        freeaddrinfo(res);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS) {
        /* Refused at once: report it through the state, as a box would. */
        h->fd = fd;
        h->state = PLAT_CONN_CLOSED;
        freeaddrinfo(res);
        return 0;
    }
    freeaddrinfo(res);
    h->fd = fd;
    h->state = PLAT_CONN_CONNECTING;
    return 0;
}

int plat_send(uint32_t conn, const uint8_t *buf, size_t len)
{
    struct hconn *h = conn_at(conn);
    ssize_t n;
    if (h == NULL || h->fd < 0 || h->state != PLAT_CONN_OPEN) {
        return -1;
    }
    if (len == 0) {
        return 0;
    }
    if (len > 65536u) {
        len = 65536u;
    }
    n = send(h->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
        return (int)n;
    }
    return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
}

int plat_recv(uint32_t conn, uint8_t *buf, size_t len)
{
    struct hconn *h = conn_at(conn);
    ssize_t n;
    if (h == NULL || h->fd < 0 || h->state != PLAT_CONN_OPEN) {
        return -1;
    }
    if (len == 0) {
        return 0;
    }
    if (len > 65536u) {
        len = 65536u;
    }
    n = recv(h->fd, buf, len, MSG_DONTWAIT);
    if (n > 0) {
        return (int)n;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return 0;
    }
    h->state = PLAT_CONN_CLOSED;
    return -1;
}

void plat_close(uint32_t conn)
{
    struct hconn *h = conn_at(conn);
    if (h == NULL) {
        return;
    }
    if (h->fd >= 0) {
        close(h->fd);
    }
    h->fd = -1;
    h->state = PLAT_CONN_IDLE;
}

int plat_poll_state(uint32_t conn)
{
    struct hconn *h = conn_at(conn);
    if (h == NULL) {
        return PLAT_CONN_CLOSED;
    }
    if (h->state == PLAT_CONN_CONNECTING) {
        struct pollfd p;
        p.fd = h->fd;
        p.events = POLLOUT;
        p.revents = 0;
        if (poll(&p, 1, 0) > 0) {
            int err = 0;
            socklen_t l = sizeof err;
            if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0 && err == 0) {
                h->state = PLAT_CONN_OPEN;
            } else {
                h->state = PLAT_CONN_CLOSED;
            }
        }
    }
    return h->state;
}

void plat_wait(uint32_t max_ms)
{
    struct pollfd p[HOST_CONNS + 1];
    nfds_t n = 0;
    int i;
    fflush(stdout);
    if (!g_stdin_eof) {
        p[n].fd = STDIN_FILENO;
        p[n].events = POLLIN;
        p[n].revents = 0;
        n++;
    } else if (g_eof_script[g_eof_pos] != '\0') {
        return;
    }
    for (i = 0; i < HOST_CONNS; i++) {
        if (g_conns[i].fd >= 0 && g_conns[i].state != PLAT_CONN_IDLE) {
            p[n].fd = g_conns[i].fd;
            p[n].events = (short)(g_conns[i].state == PLAT_CONN_CONNECTING ? POLLOUT : POLLIN);
            p[n].revents = 0;
            n++;
        }
    }
    (void)poll(p, n, (int)max_ms);
}

/* The core's panic hook (a host build unwinds into MSGR_RESULT_PANIC, so this is never called
 * from the Rust side here; it is part of the library's contract). */
void msgr_platform_panic(const uint8_t *file, size_t file_len, uint32_t line, uint32_t column)
{
    fprintf(stderr, "core panic at %.*s:%u:%u\n", (int)file_len, (const char *)file, (unsigned)line,
            (unsigned)column);
    abort();
}

static void restore_tty(void)
{
    if (g_tio_saved) {
        tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_tio);
    }
}

static int split_host_port(const char *v, const char **host, size_t *host_len, uint16_t *port)
{
    const char *colon = strrchr(v, ':');
    char *end = NULL;
    long p;
    if (colon == NULL) {
        return 0;
    }
    p = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || p <= 0 || p > 65535) {
        return 0;
    }
    *host = v;
    *host_len = (size_t)(colon - v);
    *port = (uint16_t)p;
    return 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: box-ui-host --user PASSPORT (--password PW --server HOST:PORT | "
                    "--wtvp HOST:PORT --ssid HEX16) [--msnp 6,7] [--idle-ms N] [--arena BYTES]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    box_ui_config cfg;
    size_t arena_len = 160u * 1024u;
    void *arena;
    int i;
    int rc;
    memset(&cfg, 0, sizeof cfg);
    cfg.login_mode = MSGR_LOGIN_MODE_PASSWORD;
    for (i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            usage();
        }
        i++;
        if (strcmp(o, "--user") == 0) {
            cfg.passport = v;
            cfg.passport_len = strlen(v);
        } else if (strcmp(o, "--password") == 0) {
            cfg.password = v;
            cfg.password_len = strlen(v);
        } else if (strcmp(o, "--server") == 0) {
            if (!split_host_port(v, &cfg.server_host, &cfg.server_host_len, &cfg.server_port)) {
                usage();
            }
        } else if (strcmp(o, "--wtvp") == 0) {
            if (!split_host_port(v, &cfg.wtvp_host, &cfg.wtvp_host_len, &cfg.wtvp_port)) {
                usage();
            }
            cfg.login_mode = MSGR_LOGIN_MODE_WTVP;
        } else if (strcmp(o, "--ssid") == 0) {
            cfg.ssid = v;
            cfg.ssid_len = strlen(v);
        } else if (strcmp(o, "--msnp") == 0) {
            const char *p = v;
            while (*p != '\0') {
                char *end = NULL;
                long n = strtol(p, &end, 10);
                if (end == p || n < 2 || n > 8) {
                    usage();
                }
                cfg.msnp_versions |= 1u << n;
                p = *end == ',' ? end + 1 : end;
                if (*end != ',' && *end != '\0') {
                    usage();
                }
            }
        } else if (strcmp(o, "--idle-ms") == 0) {
            cfg.idle_off_ms = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(o, "--arena") == 0) {
            arena_len = (size_t)strtoul(v, NULL, 10);
        } else {
            usage();
        }
    }
    if (cfg.passport == NULL) {
        usage();
    }
    for (i = 0; i < HOST_CONNS; i++) {
        g_conns[i].fd = -1;
        g_conns[i].state = PLAT_CONN_IDLE;
    }
    fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL, 0) | O_NONBLOCK);
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &g_saved_tio) == 0) {
        /* Raw keys, no local echo: the UI echoes, as on the box's serial console. */
        struct termios t = g_saved_tio;
        t.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
        t.c_cc[VMIN] = 0;
        t.c_cc[VTIME] = 0;
        g_tio_saved = 1;
        tcsetattr(STDIN_FILENO, TCSANOW, &t);
        atexit(restore_tty);
    }
    arena = malloc(arena_len);
    if (arena == NULL) {
        fprintf(stderr, "no memory for a %zu-byte arena\n", arena_len);
        return 1;
    }
    cfg.arena = arena;
    cfg.arena_len = arena_len;
    rc = box_ui_main(&cfg);
    fflush(stdout);
    free(arena);
    return rc;
}
