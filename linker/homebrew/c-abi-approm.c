/* An approm that links the whole C ABI test (tests/c/abi_test.c), which calls every msgr_*
 * function, against a dist/ archive: `ci/dist --check` builds it with the SDK's flags to prove
 * that every entry point resolves from the homebrew layout. It is linked, not run (the guest
 * runs the same test under QEMU: firmware c-abi-test). */
#include "msntv_messenger.h"
#include "abi_test.h"

volatile uint32_t approm_sink;

void board_puts(const char *s)
{
    while (*s != '\0') {
        approm_sink = (uint8_t)*s++;
    }
}

void board_put_u32(uint32_t v)
{
    approm_sink = v;
}

void msgr_platform_panic(const uint8_t *file, size_t file_len, uint32_t line, uint32_t column)
{
    (void)file; (void)file_len; (void)column;
    approm_sink = line;
    for (;;) { }
}

void _start(void) __attribute__((noreturn, section(".text.start")));
void _start(void)
{
    approm_sink = msgr_abi_test_run();
    for (;;) { }
}
