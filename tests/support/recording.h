/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a real QEMU destination demands of a precopy stream and the test
 * primary cannot invent: its own RAM block list and its own device
 * sections.  Both are cut out of a recorded main channel (conn-0.bin of a
 * capture) of the same QEMU version and machine:
 *
 *   - the block list: the MEM_SIZE record of the "ram" SECTION_START
 *     (u8 length, name, be64 used_length per block), as a zeroed MemImage
 *     for primary_new();
 *   - the device tail: every byte after the footer of the "ram"
 *     SECTION_END (the RAM section's last EOS) to the end of the
 *     recording: the non-iterable device sections, QEMU_VM_EOF and the
 *     VMDESCRIPTION (QEMU sends one after every precopy).  It is opaque:
 *     never interpreted, only checked to end with QEMU_VM_EOF + a
 *     VMDESCRIPTION whose length reaches exactly the last byte (a lone
 *     EOF byte at the end could not be told from a cut recording).
 *     PrimaryConfig.device_tail sends it in place of the primary's own
 *     EOF.
 *
 * Everything before the tail is parsed with core/wire: the QEVM header,
 * one CONFIGURATION (the machine name), then only "ram" sections (START,
 * PART..., END) whose records are MEM_SIZE (first record of START only),
 * ZERO, PAGE, EOS and MULTIFD_FLUSH, each section closed by EOS and its
 * footer.  Anything else fails with a message naming the byte offset in
 * the recording, so a recording the test primary cannot reproduce is
 * refused instead of producing a stream QEMU would reject for another
 * reason.
 */
#ifndef MFCOLO_SUPPORT_RECORDING_H
#define MFCOLO_SUPPORT_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

typedef struct RecordedMain {
    char machine[256];        /* CONFIGURATION name */
    uint32_t ram_section_id;  /* id of the "ram" sections */
    MemImage *layout;         /* the MEM_SIZE block list, zeroed */
    uint64_t mem_size_offset; /* MEM_SIZE record word in the recording */
    uint64_t mem_size_len;    /* bytes of the record, word + list */
    uint64_t ram_sections;    /* "ram" sections (START + PARTs + END) */
    uint64_t ram_eos;         /* RAM_SAVE_FLAG_EOS records */
    uint64_t ram_flushes;     /* RAM_SAVE_FLAG_MULTIFD_FLUSH records */
    uint64_t ram_zero;        /* ZERO records */
    uint64_t ram_pages;       /* PAGE records */
    uint8_t *tail;            /* device sections, EOF, VMDESCRIPTION */
    size_t tail_len;
    uint64_t tail_offset; /* first tail byte in the recording */
    size_t tail_eof;      /* QEMU_VM_EOF, offset inside the tail */
    bool vmdesc;          /* the tail ends with a VMDESCRIPTION (always) */
} RecordedMain;

/*
 * Parse the recorded main channel @data/@len with target page size
 * @page_size.  On failure returns false, @r holds nothing to free and
 * @why says what and at which offset ("offset N: ...").
 */
bool recorded_main_parse(const uint8_t *data, size_t len, uint32_t page_size,
                         RecordedMain *r, char *why, size_t why_len);
/* The same from a file; a missing or unreadable file fails with errno. */
bool recorded_main_load(const char *path, uint32_t page_size, RecordedMain *r,
                        char *why, size_t why_len);
void recorded_main_free(RecordedMain *r);

#endif /* MFCOLO_SUPPORT_RECORDING_H */
