/* The smallest box-profile caller: provides the platform hook and an entry point. ci/footprint
 * links it against the whole C ABI (every msgr_* symbol as a root) with --gc-sections. */
#include "msntv_messenger.h"

void msgr_platform_panic(const uint8_t *file, size_t file_len, uint32_t line, uint32_t column)
{
    (void)file; (void)file_len; (void)line; (void)column;
    for (;;) { }
}

void _start(void) __attribute__((noreturn, section(".text.start")));
void _start(void)
{
    for (;;) { }
}
