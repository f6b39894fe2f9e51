/* tw-test-process.h: helpers for the tests of process mode and launchers
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

#include <gio/gio.h>
#include <tiny-worker.h>

#include "tw-test-util.h"

G_BEGIN_DECLS

/* Which worker program a process-mode test runs. */
typedef enum
{
  TW_TEST_WORKER_SELF,     /* the default: the test program, re-executed */
  TW_TEST_WORKER_PROGRAM,  /* the worker program, through TwTroupe:worker-argv */
} TwTestWorkerKind;

/* Registers the functions and types of tw-test-funcs.h, then calls
 * tw_init (): in a worker process started by a troupe, this serves tasks
 * and exits, before GTest parses arguments meant for the test run. A
 * test program calls it first of all. */
void        tw_test_process_serve       (void);
/* g_test_init (), then finds the worker program: at @env_name of the
 * environment (set by meson), else @name next to the test program. */
void        tw_test_process_init_full   (int                *argc,
                                         char             ***argv,
                                         const char         *env_name,
                                         const char         *name);
/* The same for the process-mode tests (issue #4) and tw-test-worker. */
void        tw_test_process_init        (int                *argc,
                                         char             ***argv);
/* The program at @env_name of the environment, else @name next to this
 * one. */
char       *tw_test_find_program        (const char         *env_name,
                                         const char         *name);
const char *tw_test_get_self_path       (void);
const char *tw_test_get_worker_path     (void);

/* Adds @func as @path/re-executed and @path/worker-argv, with the
 * TwTestWorkerKind as its data. */
void        tw_test_add_kind_test       (const char         *path,
                                         GTestDataFunc       func);

/* A process troupe of @n_workers for the registered @func_name. */
TwTroupe   *tw_test_process_troupe_new  (const char         *func_name,
                                         TwTestWorkerKind    kind,
                                         guint               n_workers);
void        tw_test_set_worker_program  (TwTroupe           *troupe,
                                         TwTestWorkerKind    kind);
/* Runs "pid" on @troupe and returns the pid of the worker that ran it. */
GPid        tw_test_run_pid_task        (TwTroupe           *troupe);
/* Waits (bounded) for the pid file that "sleep" or "ignore-cancel" writes. */
GPid        tw_test_wait_pid_file       (const char         *path);

/* Whether @pid runs: not a zombie, which only waits to be reaped. */
gboolean    tw_test_process_is_running  (GPid                pid);
/* Whether every thread of @pid has exited, and so closed its files. */
gboolean    tw_test_process_is_gone     (GPid                pid);
/* The pids of every child of @parent, from a scan of /proc. */
GArray     *tw_test_list_children       (GPid                parent);
/* No child process is left, running or zombie. */
void        tw_test_assert_no_children  (void);
/* Shuts @troupe down, then asserts that it reaped every worker. */
void        tw_test_shutdown_and_check  (TwTroupe           *troupe,
                                         TwShutdownMode      mode);
/* How many running processes (zombies excluded) run the program at
 * @exe_path, wherever a launcher put them. */
guint       tw_test_count_processes     (const char         *exe_path);
/* Waits up to ten seconds for every process running @exe_path to end. */
void        tw_test_assert_no_process   (const char         *exe_path);

G_END_DECLS
