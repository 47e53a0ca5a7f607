/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MFCOLO_TESTS_SUPPORT_H
#define MFCOLO_TESTS_SUPPORT_H

const char *support_version(void);

#endif
