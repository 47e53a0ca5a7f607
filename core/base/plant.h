/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Planted bugs for the fuzz tier's negative twins.
 *
 * MF_PLANTED(NAME) is the constant 0 unless the build defines
 * MFCOLO_PLANT_<NAME>; then it is 1 and the known bug NAME is compiled
 * in.  Only tests/fuzz builds such variants of core/ (one library per
 * bug, never linked into anything else) to prove that the harness and
 * the fuzzer find the bug (tests/fuzz/negative.sh, docs/fuzzing.md).
 * Every name is listed here, so a typo is a compile error.
 */
#ifndef MFCOLO_BASE_PLANT_H
#define MFCOLO_BASE_PLANT_H

#define MF_PLANTED(name) MF_PLANTED_##name

/* recv/handshake.c: accept a channel id equal to the channel count
 * (QEMU's gap, docs/qemu-reference.md#handshake-checks). */
#ifdef MFCOLO_PLANT_RECV_ID_EQ_COUNT
#define MF_PLANTED_RECV_ID_EQ_COUNT 1
#else
#define MF_PLANTED_RECV_ID_EQ_COUNT 0
#endif

/* recv/channel.c: check only the normal pages' offsets, not the zero
 * pages' (they are then zeroed wherever they point). */
#ifdef MFCOLO_PLANT_RECV_ZERO_OFFSET_UNCHECKED
#define MF_PLANTED_RECV_ZERO_OFFSET_UNCHECKED 1
#else
#define MF_PLANTED_RECV_ZERO_OFFSET_UNCHECKED 0
#endif

/* codec/codec.c: no bound on next_packet_size (QEMU's gap). */
#ifdef MFCOLO_PLANT_CODEC_NO_PAYLOAD_BOUND
#define MF_PLANTED_CODEC_NO_PAYLOAD_BOUND 1
#else
#define MF_PLANTED_CODEC_NO_PAYLOAD_BOUND 0
#endif

/* colo/recv.c: colo_place_packet_begin does not record zero pages. */
#ifdef MFCOLO_PLANT_COLO_ZERO_UNRECORDED
#define MF_PLANTED_COLO_ZERO_UNRECORDED 1
#else
#define MF_PLANTED_COLO_ZERO_UNRECORDED 0
#endif

/* incoming/ram-load.c: accept RAM_SAVE_FLAG_CONTINUE before any block
 * was named. */
#ifdef MFCOLO_PLANT_INCOMING_CONTINUE_NO_BLOCK
#define MF_PLANTED_INCOMING_CONTINUE_NO_BLOCK 1
#else
#define MF_PLANTED_INCOMING_CONTINUE_NO_BLOCK 0
#endif

#endif /* MFCOLO_BASE_PLANT_H */
