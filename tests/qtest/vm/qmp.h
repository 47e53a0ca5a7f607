/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM's QMP monitor: QEMU's wire shapes (greeting, capabilities
 * negotiation, {"execute"|"exec-oob", "arguments", "id"}, {"return"} /
 * {"error": {"class", "desc"}}, events with a timestamp), parsed and built
 * with jansson.  One client, served from the main loop; events may be
 * emitted from any thread.
 */
#ifndef MFCOLO_QTEST_QMP_H
#define MFCOLO_QTEST_QMP_H

#include <jansson.h>
#include <stdbool.h>

#include "vm.h"

/* Serve QMP on the connected socket @fd (owned); sends the greeting. */
Qmp *qmp_new(Vm *vm, int fd);
int qmp_fd(const Qmp *q);
/* Read what is there and run every complete command; false on EOF. */
bool qmp_handle_input(Qmp *q);
/* Emit event @name with @data (stolen; NULL for none).  Thread-safe. */
void qmp_event(Qmp *q, const char *name, json_t *data);
void qmp_free(Qmp *q);

#endif /* MFCOLO_QTEST_QMP_H */
