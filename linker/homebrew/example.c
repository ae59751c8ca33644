/* A minimal approm-style caller of the msntv-messenger static library, compiled with the
 * libwtv SDK's flags. It proves the archive links into a GNU ld --gc-sections image with no
 * unresolved symbols and no float-ABI conflict. It is linked, not run. */
#include <stddef.h>
#include <stdint.h>

/* Platform contract: the core calls this when it panics (panic = abort on the box). */
void msgr_platform_panic(const uint8_t *file, size_t file_len, uint32_t line, uint32_t column)
    __attribute__((noreturn));

volatile uint32_t approm_panic_line;

void msgr_platform_panic(const uint8_t *file, size_t file_len, uint32_t line, uint32_t column)
{
    (void)file; (void)file_len; (void)column;
    approm_panic_line = line;
    for (;;) { }
}

/* The core's C entry points used by this example. */
extern uint32_t msgr_abi_version(void);

volatile uint32_t approm_result;

void _start(void) __attribute__((noreturn, section(".text.start")));
void _start(void)
{
    approm_result = msgr_abi_version();
    for (;;) { }
}
