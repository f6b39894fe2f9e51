/* tw-test-funcs.h: the functions and worker types of the test worker programs
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

/*
 * The functions and worker types that the process-mode and launcher
 * tests run in worker processes. The worker programs register exactly
 * these: each test program itself (the default, re-executed as "spawn"
 * does), tw-test-worker and tw-launch-worker (named by
 * TwTroupe:worker-argv).
 *
 * Registered functions (input -> output):
 *   "square"        x (x) -> x * x (x)
 *   "echo"          any -> the same value
 *   "fail"          (sis) domain, code, message -> that error
 *   "segfault"      any -> raises SIGSEGV
 *   "abort"         any -> abort ()
 *   "exit"          any -> exit (3)
 *                   (these three return getpid () (x) for "survive")
 *   "sleep"         (ts) milliseconds, pid file -> pid (x); writes its
 *                   pid to the pid file ("" for none) when it starts and
 *                   fails with G_IO_ERROR_CANCELLED once cancelled
 *   "ignore-cancel" s pid file -> pid (x); writes its pid like "sleep",
 *                   then sleeps 30 s whatever happens
 *   "print"         any -> the same value, after printing noise to
 *                   stdout and stderr
 *   "pid"           any -> getpid () (x)
 *   "fds"           any -> the open fds of the process (ai), from
 *                   /proc/self/fd, without the one used to read it
 *   "big"           t size -> ay of that size, see tw_test_big_byte()
 *   "make-handle"   any -> a value holding a handle (h), which the
 *                   worker must refuse to send back
 *   "non-normal"    any -> tw_test_new_non_normal_value ()
 *   "exe"           any -> the path of the worker's program (s)
 *   "write-file"    s path -> true (b) once it wrote the file; fails
 *                   with the errno as a GIOError (G_IO_ERROR_READ_ONLY
 *                   in a read-only sandbox)
 *   "connect"       (sq) host, port -> true (b) once a TCP connection
 *                   opened; fails with the errno as a GIOError
 *   "allocate"      t size -> (t) after touching that many bytes; over
 *                   TwTroupe:max-memory g_malloc () aborts the process
 *   "spin"          u seconds -> (t) after keeping a CPU busy that long
 *                   (of wall time, so a broken TwTroupe:max-cpu-time
 *                   cannot hang the test)
 *   "getenv"        s name -> the variable's value, "" if unset (s)
 *   "rlimits"       any -> the soft RLIMIT_AS and RLIMIT_CPU (tt),
 *                   G_MAXUINT64 for none
 *
 * Worker types:
 *   TwTestFailingWorker  setup appends its pid to "log-path" (when set)
 *                        and fails with TW_TEST_PROCESS_ERROR_SETUP
 *   TwTestPrefixWorker   returns "<prefix>:<input>" for a string input;
 *                        setup and teardown append "setup <pid>" and
 *                        "teardown <pid>" to "log-path" (when set)
 */

#define TW_TEST_PROCESS_ERROR_DOMAIN "tw-test-process-error-quark"
#define TW_TEST_PROCESS_ERROR (tw_test_process_error_quark ())

typedef enum
{
  TW_TEST_PROCESS_ERROR_SETUP = 7,
} TwTestProcessError;

#define TW_TEST_SETUP_MESSAGE "This worker refuses to start: “setup” is broken"

/* How long "ignore-cancel" sleeps. */
#define TW_TEST_IGNORE_CANCEL_SECONDS 30

GQuark  tw_test_process_error_quark (void);

/* Byte @i of the output of "big". */
static inline guint8
tw_test_big_byte (guint64 i)
{
  return (guint8)((i * 7 + i / 251 + 3) & 0xff);
}

#define TW_TEST_TYPE_FAILING_WORKER (tw_test_failing_worker_get_type ())
G_DECLARE_FINAL_TYPE (TwTestFailingWorker, tw_test_failing_worker,
                      TW_TEST, FAILING_WORKER, TwWorker)

#define TW_TEST_TYPE_PREFIX_WORKER (tw_test_prefix_worker_get_type ())
G_DECLARE_FINAL_TYPE (TwTestPrefixWorker, tw_test_prefix_worker,
                      TW_TEST, PREFIX_WORKER, TwWorker)

GVariant *tw_test_new_non_normal_value (void);

/* Registers the functions and types above. Call it before tw_init (). */
void    tw_test_funcs_register      (void);

G_END_DECLS
