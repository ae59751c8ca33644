/* box_ui.h: the box's Messenger UI, a line-oriented terminal UI on a serial console.
 *
 * C99, freestanding (no libc): it talks to the machine only through box_platform.h and to the
 * Messenger core only through the public msntv_messenger.h. See board/qemu-malta/README.md for
 * the commands it accepts and the `EVT` lines it prints. */
#ifndef BOX_UI_H
#define BOX_UI_H

#include <stddef.h>
#include <stdint.h>

/* How to sign in, and the memory the core may use. Strings are pointer + length (need not be
 * NUL-terminated) and must stay valid while box_ui_main runs. */
typedef struct {
    const char *passport;     /* account, e.g. alice@example.com */
    size_t passport_len;
    const char *password;     /* password login (MSNP2-MSNP7); may be empty in WTVP mode */
    size_t password_len;
    const char *server_host;  /* MSNP server (dotted IPv4 on the box; may be empty in WTVP mode) */
    size_t server_host_len;
    uint16_t server_port;     /* 0: 1863 */
    uint32_t login_mode;      /* a msgr_login_mode: MSGR_LOGIN_MODE_PASSWORD or _WTVP */
    const char *wtvp_host;    /* WebTV service (WTVP login mode) */
    size_t wtvp_host_len;
    uint16_t wtvp_port;
    const char *ssid;         /* the box's SSID, 16 hex digits (WTVP login mode) */
    size_t ssid_len;
    uint32_t msnp_versions;   /* bit n = MSNPn; 0: every version the login mode allows */
    uint32_t idle_off_ms;     /* switch messaging off after this long without a key (0: never) */
    void *arena;              /* memory for the core (see msgr_client_arena_size) */
    size_t arena_len;
} box_ui_config;

/* Run the UI until `/quit` (0) or a fatal error (non-zero): initialise the core in the arena,
 * sign in, and loop over console input, sockets, timers and events. */
int box_ui_main(const box_ui_config *cfg);

#endif /* BOX_UI_H */
