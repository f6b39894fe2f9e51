/* tw-test-util.h: the helpers that every C test program shares
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

/*
 * TwTestCalls:
 *
 * What the counting TwFuncs of a test record, as their user_data.
 */
typedef struct
{
  TwTestGate gate;         /* negative inputs of tw_test_gated_square_func() wait for it */
  gint       n_calls;      /* atomic */
  gint       n_destroyed;  /* atomic: calls of tw_test_calls_destroy() */
} TwTestCalls;

void      tw_test_calls_init         (TwTestCalls   *calls);
void      tw_test_calls_clear        (TwTestCalls   *calls);
/* A GDestroyNotify for a TwTestCalls: counts its calls. */
void      tw_test_calls_destroy      (gpointer       data);

/* A TwFunc whose user_data is a TwTestCalls: x (int64) -> x * x (int64),
 * counting the call; a negative x first passes the gate. */
GVariant *tw_test_gated_square_func  (GVariant      *input,
                                      GCancellable  *cancellable,
                                      gpointer       user_data,
                                      GError       **error);

/* A TwFunc whose user_data is a TwTestGate: passes the gate, then returns
 * its input unchanged. */
GVariant *tw_test_gated_echo_func    (GVariant      *input,
                                      GCancellable  *cancellable,
                                      gpointer       user_data,
                                      GError       **error);

/* A TwFunc: returns its input unchanged. */
GVariant *tw_test_echo_func          (GVariant      *input,
                                      GCancellable  *cancellable,
                                      gpointer       user_data,
                                      GError       **error);

/* A TwFunc: x (int64) -> x * x (int64). user_data, if not NULL, is a gint
 * counter of calls. */
GVariant *tw_test_square_func        (GVariant      *input,
                                      GCancellable  *cancellable,
                                      gpointer       user_data,
                                      GError       **error);

/* How long the tw_test_wait_*() functions wait, TW_TEST_TIMEOUT_USEC unless
 * a test program that starts slow workers (through ssh, say) sets more. */
void      tw_test_set_wait_timeout   (gint64         usec);

/* Waits (bounded) and asserts that @future succeeded; returns its value. */
GVariant *tw_test_wait_value         (TwFuture      *future);
/* Waits (bounded) and returns the future's error; asserts that it failed
 * (so a wait that timed out is a test failure). */
GError   *tw_test_wait_error         (TwFuture      *future);
gint64    tw_test_wait_int64         (TwFuture      *future);
gint32    tw_test_wait_value_int32   (TwFuture      *future);

/* Asserts the counters of @troupe, by getter and by property, once every
 * task it was given has settled. */
void      tw_test_assert_counters    (TwTroupe      *troupe,
                                      guint          n_succeeded,
                                      guint          n_failed,
                                      guint          n_cancelled);

/*
 * TwTestShutdown:
 *
 * A tw_troupe_shutdown() that runs in a thread of its own, so that a test
 * can watch it block, or give up on one that hangs.
 */
typedef struct _TwTestShutdown TwTestShutdown;

TwTestShutdown *tw_test_shutdown_start        (TwTroupe        *troupe,
                                               TwShutdownMode   mode);
gboolean        tw_test_shutdown_has_returned (TwTestShutdown  *shutdown);
/* Waits at most @usec for the shutdown to return. Returns TRUE, and frees
 * @shutdown, if it did. */
gboolean        tw_test_shutdown_wait         (TwTestShutdown  *shutdown,
                                               gint64           usec);
/* Waits for the shutdown to return, however long it takes, and frees
 * @shutdown. */
void            tw_test_shutdown_join         (TwTestShutdown  *shutdown);

/* Iterates @context until *@flag is TRUE, failing the test after
 * TW_TEST_TIMEOUT_USEC. */
void      tw_test_iterate_until      (GMainContext  *context,
                                      const gboolean *flag);

/* Runs @loop, failing the test after TW_TEST_TIMEOUT_USEC. */
void      tw_test_run_loop           (GMainLoop     *loop);

/* Adds @func as @path/thread and @path/process, with the TwTroupeMode as
 * its data. */
void      tw_test_add_mode_test      (const char    *path,
                                      GTestDataFunc  func);

/* The number of threads of this process, from /proc/self/task. */
guint     tw_test_count_threads      (void);
/* Waits until the process has @n_threads threads (a joined thread may
 * linger in /proc for a moment), and returns the final count. */
guint     tw_test_wait_for_n_threads (guint          n_threads);

/* The number of open file descriptors of this process. */
guint     tw_test_count_fds          (void);

/* A new directory under the temporary directory, named after @name. */
char     *tw_test_make_temp_dir      (const char    *name);
/* Removes @path and everything under it; symbolic links are not followed. */
void      tw_test_remove_dir         (const char    *path);

/* Fails the test unless @needle is in @haystack (which may be NULL). */
void      tw_test_assert_contains    (const char    *haystack,
                                      const char    *needle);
/* Whether @needle is in @haystack, both of which may hold NUL bytes. */
gboolean  tw_test_contains_bytes     (const char    *haystack,
                                      gsize          haystack_len,
                                      const char    *needle,
                                      gsize          needle_len);

/* The lines of the file at @path that are not empty (none if there is
 * no such file), as strings. */
GPtrArray *tw_test_read_lines        (const char    *path);
/* The number of newlines in the file at @path, 0 if there is none. */
guint     tw_test_count_lines        (const char    *path);

G_END_DECLS
