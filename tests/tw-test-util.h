/* tw-test-util.h
 *
 * Copyright 2026 The tiny-worker developers
 *
 * This library is free software; you can redistribute it and/or modify it
 * under the terms of the GNU Lesser General Public License as published by
 * the Free Software Foundation; either version 2.1 of the License, or (at
 * your option) any later version.
 *
 * This library is distributed in the hope that it will be useful, but
 * WITHOUT ANY WARRANTY; without even the implied warranty of MERCHANTABILITY
 * or FITNESS FOR A PARTICULAR PURPOSE. See the GNU Lesser General Public
 * License for more details.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <tiny-worker.h>

G_BEGIN_DECLS

/* How long a test waits for something that should happen at once. Only a
 * broken library ever reaches it; it turns a hang into a failure. */
#define TW_TEST_TIMEOUT_USEC (30 * G_USEC_PER_SEC)

/* The domain of the errors that test workers set themselves. */
#define TW_TEST_ERROR (tw_test_error_quark ())

GQuark tw_test_error_quark (void);

/*
 * TwTestGate:
 *
 * A latch that tasks block on until the test opens it, so a test decides
 * exactly when a running task may finish. Tasks count themselves in, so
 * the test can also wait until a given number of them is running.
 */
typedef struct
{
  GMutex   lock;
  GCond    cond;
  gboolean open;       /* protected by lock */
  guint    n_entered;  /* protected by lock */
} TwTestGate;

void      tw_test_gate_init          (TwTestGate    *gate);
void      tw_test_gate_clear         (TwTestGate    *gate);
void      tw_test_gate_open          (TwTestGate    *gate);
gboolean  tw_test_gate_pass          (TwTestGate    *gate);
void      tw_test_gate_wait_entered  (TwTestGate    *gate,
                                      guint          n_entered);
guint     tw_test_gate_get_n_entered (TwTestGate    *gate);

/* A TwFunc whose user_data is a TwTestGate: passes the gate, then returns
 * its input unchanged. */
GVariant *tw_test_gated_echo_func    (GVariant      *input,
                                      GCancellable  *cancellable,
                                      gpointer       user_data,
                                      GError       **error);

/* A TwFunc: x (int64) -> x * x (int64). user_data, if not NULL, is a gint
 * counter of calls. */
GVariant *tw_test_square_func        (GVariant      *input,
                                      GCancellable  *cancellable,
                                      gpointer       user_data,
                                      GError       **error);

/* Waits (bounded) and asserts that @future succeeded; returns its value. */
GVariant *tw_test_wait_value         (TwFuture      *future);
/* Waits (bounded) and returns the future's error; asserts that it failed. */
GError   *tw_test_wait_error         (TwFuture      *future);
gint64    tw_test_wait_int64         (TwFuture      *future);
gint32    tw_test_wait_value_int32   (TwFuture      *future);

/* Iterates @context until *@flag is TRUE, failing the test after
 * TW_TEST_TIMEOUT_USEC. */
void      tw_test_iterate_until      (GMainContext  *context,
                                      const gboolean *flag);

/* Runs @loop, failing the test after TW_TEST_TIMEOUT_USEC. */
void      tw_test_run_loop           (GMainLoop     *loop);

/* The number of threads of this process, from /proc/self/task. */
guint     tw_test_count_threads      (void);
/* Waits until the process has @n_threads threads (a joined thread may
 * linger in /proc for a moment), and returns the final count. */
guint     tw_test_wait_for_n_threads (guint          n_threads);

G_END_DECLS
