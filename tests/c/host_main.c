/* Host runner of the C ABI test: console output through stdio, exit status 1 on any failure. */
#include <stdio.h>

#include "abi_test.h"

void board_puts(const char *s)
{
    fputs(s, stdout);
    fflush(stdout);
}

void board_put_u32(uint32_t v)
{
    printf("%lu", (unsigned long)v);
    fflush(stdout);
}

int main(void)
{
    return msgr_abi_test_run() == 0 ? 0 : 1;
}
