/* SPDX-License-Identifier: MIT */
/* hw-replay/stub_blob.S - embeds the flat stub binary built from stub.S
 * the 32-bit/PAE stub (stub32.S) and the QEMU multiboot loader built from
 * qboot.S (STUB_BIN, STUB32_BIN, QBOOT_BIN:
 * their paths, given by the Makefile). */
    .section .rodata
    .globl hwr_stub_start, hwr_stub_end
    .balign 16
hwr_stub_start:
    .incbin STUB_BIN
hwr_stub_end:
    .globl hwr_qboot_start, hwr_qboot_end
    .balign 16
hwr_qboot_start:
    .incbin QBOOT_BIN
hwr_qboot_end:
    .globl hwr_stub32_start, hwr_stub32_end
    .balign 16
hwr_stub32_start:
    .incbin STUB32_BIN
hwr_stub32_end:
    .section .note.GNU-stack,"",@progbits
