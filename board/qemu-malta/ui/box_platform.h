/* box_platform.h: what the box UI (box_ui.c) needs from the machine it runs on.
 *
 * Two implementations exist: the QEMU malta board firmware (Rust, board/qemu-malta/src/
 * box_platform.rs, over the 16550 console, the CP0 clock and the NE2000/smoltcp sockets) and the
 * host (host_platform.c: POSIX sockets and a raw terminal). Nothing here may block for long:
 * the UI is one polling loop.
 *
 * Connections are named by the core's connection numbers (0 = NS, 1 = WTVP, 2 + n = switchboard
 * of conversation slot n); a platform maps them onto its own sockets and refuses numbers it has
 * no slot for. */
#ifndef BOX_PLATFORM_H
#define BOX_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* Connection states reported by plat_poll_state. */
enum plat_conn_state {
    PLAT_CONN_IDLE = 0,       /* no socket (never opened, or released by plat_close) */
    PLAT_CONN_CONNECTING = 1, /* opening */
    PLAT_CONN_OPEN = 2,       /* established (bytes may flow) */
    PLAT_CONN_CLOSED = 3      /* failed to open, or closed by the peer with every byte read */
};

/* Return milliseconds since an arbitrary epoch (monotonic). */
uint64_t plat_now_ms(void);

/* Return the next input byte from the console, or -1 if none is waiting (never blocks). */
int plat_getc(void);

/* Write one byte to the console. */
void plat_putc(char c);

/* Write a NUL-terminated string to the console (no newline added). */
void plat_puts(const char *s);

/* Start opening connection `conn` to `host:port` (dotted IPv4 on the box); 0 if started. */
int plat_open(uint32_t conn, const char *host, size_t host_len, uint16_t port);

/* Write up to `len` bytes on `conn`; return how many were taken (may be 0), -1 if it failed. */
int plat_send(uint32_t conn, const uint8_t *buf, size_t len);

/* Read up to `len` bytes from `conn`; return how many (0: none yet), -1 once closed. */
int plat_recv(uint32_t conn, uint8_t *buf, size_t len);

/* Release connection `conn` (closing it if open); idempotent. */
void plat_close(uint32_t conn);

/* Return the state of `conn` (an enum plat_conn_state). */
int plat_poll_state(uint32_t conn);

/* Let the platform work (move network frames) or sleep for at most `max_ms` when nothing is
 * waiting; returns early when input may have arrived. */
void plat_wait(uint32_t max_ms);

#endif /* BOX_PLATFORM_H */
