/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The qtest line protocol over guest memory (see qtest-proto.c). */
#ifndef MFCOLO_QTEST_PROTO_H
#define MFCOLO_QTEST_PROTO_H

#include <stdbool.h>

#include "vm.h"

typedef struct QtestConn QtestConn;

/* Serve the protocol on connected socket @fd (owned). */
QtestConn *qtest_conn_new(Vm *vm, int fd);
int qtest_conn_fd(const QtestConn *c);
/* Read what is there and answer every complete line; false on EOF. */
bool qtest_conn_handle_input(QtestConn *c);
void qtest_conn_free(QtestConn *c);

#endif /* MFCOLO_QTEST_PROTO_H */
