/* The C ABI test of msntv-messenger (tests/c/abi_test.c), shared by the host runner
 * (tests/c/host_main.c, driven by tests/c_abi.rs) and the QEMU guest (board/qemu-malta, bin
 * c-abi-test). It needs no libc: the platform provides the two output functions below. */
#ifndef MSGR_ABI_TEST_H
#define MSGR_ABI_TEST_H

#include <stdint.h>

/* Provided by the platform: write a NUL-terminated string to the console. */
void board_puts(const char *s);
/* Provided by the platform: write an unsigned number in decimal to the console. */
void board_put_u32(uint32_t v);

/* Run every check, print each failure and a closing `c-abi: N passed, N failed` line; return
 * the number of failed checks (0: all passed, and at least one check ran). */
uint32_t msgr_abi_test_run(void);

#endif /* MSGR_ABI_TEST_H */
