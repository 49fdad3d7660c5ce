/* SPDX-License-Identifier: MIT */
/* hw-replay/stub_blob.S - embeds the flat stub binary built from stub.S
 * (STUB_BIN is its path, given by the Makefile). */
    .section .rodata
    .globl hwr_stub_start, hwr_stub_end
    .balign 16
hwr_stub_start:
    .incbin STUB_BIN
hwr_stub_end:
    .section .note.GNU-stack,"",@progbits
