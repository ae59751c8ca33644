# crt0 for the QEMU malta board: 32-bit kernel mode, KSEG0, no interrupts.
# QEMU's -kernel loader places every loadable segment at its link address, so .data needs no copy.
    .set noreorder
    .set noat
    .section .text.start, "ax"
    .globl _start
    .type _start, @function
_start:
    # Kernel mode, interrupts off, ERL/EXL cleared, coprocessor 0 usable, 32-bit addressing.
    lui     $t0, 0x1000
    mtc0    $t0, $12
    nop
    nop
    la      $sp, _stack_top
    la      $gp, _gp
    la      $t0, __bss_start
    la      $t1, __bss_end
1:  beq     $t0, $t1, 2f
    nop
    sw      $zero, 0($t0)
    b       1b
    addiu   $t0, $t0, 4
2:  jal     board_main
    nop
3:  b       3b
    nop
    .size _start, . - _start

# u32 board_read_count(void): CP0 Count (register 9).
    .section .text.board_read_count, "ax"
    .globl board_read_count
    .type board_read_count, @function
board_read_count:
    mfc0    $v0, $9
    nop
    jr      $ra
    nop
    .size board_read_count, . - board_read_count

# u32 board_read_prid(void): CP0 PRId (register 15), names the emulated CPU.
    .section .text.board_read_prid, "ax"
    .globl board_read_prid
    .type board_read_prid, @function
board_read_prid:
    mfc0    $v0, $15
    nop
    jr      $ra
    nop
    .size board_read_prid, . - board_read_prid

# u32 board_read_cp0_cause(void), board_read_cp0_epc(void), board_read_cp0_badvaddr(void)
    .section .text.board_read_cause, "ax"
    .globl board_read_cause
board_read_cause:
    mfc0    $v0, $13
    nop
    jr      $ra
    nop
    .globl board_read_epc
board_read_epc:
    mfc0    $v0, $14
    nop
    jr      $ra
    nop
    .globl board_read_badvaddr
board_read_badvaddr:
    mfc0    $v0, $8
    nop
    jr      $ra
    nop

# Exception vectors (BEV=0): TLB refill at 0x80000000, everything else at 0x80000180.
# Any exception is fatal for the firmware: report it and end the run as failed.
    .section .vectors.refill, "ax"
    .globl board_vector_refill
board_vector_refill:
    la      $sp, _stack_top
    la      $k0, board_exception
    jr      $k0
    nop
    .section .vectors.general, "ax"
    .globl board_vector_general
board_vector_general:
    la      $sp, _stack_top
    la      $k0, board_exception
    jr      $k0
    nop

# void board_spin(u32 n): exactly 3*n + 4 instructions (calibrates -icount against CP0 Count).
    .section .text.board_spin, "ax"
    .globl board_spin
    .type board_spin, @function
board_spin:
1:  addiu   $a0, $a0, -1
    bnez    $a0, 1b
    nop
    jr      $ra
    nop
    .size board_spin, . - board_spin
