/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Boot sector of the halted guest: SeaBIOS loads it at 0x7c00 and jumps
 * to it; it disables interrupts and halts for ever.  With IF = 0 no
 * maskable interrupt wakes the vCPU, so a secondary that loads this CPU
 * state never writes guest memory: its RAM changes only by migration and
 * by qtest, and a memory oracle on it can be exact.
 */
    .code16
    .text
    .globl _start
_start:
    cli
1:  hlt
    jmp  1b
    .org 510
    .byte 0x55, 0xaa
