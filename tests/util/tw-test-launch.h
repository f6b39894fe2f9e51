/* tw-test-launch.h: helpers for the launcher tests
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

#include "tw-test-process.h"

G_BEGIN_DECLS

/* How long a launcher test waits for a task. Only a broken library or
 * launcher reaches it: it turns a hang into a failure. */
#define TW_TEST_LAUNCH_TIMEOUT_USEC (60 * G_USEC_PER_SEC)

/* tw_test_process_serve (), then tw_test_process_init_full () for
 * tw-launch-worker, with waits of TW_TEST_LAUNCH_TIMEOUT_USEC. */
void      tw_test_launch_init           (int                 *argc,
                                         char              ***argv);
/* A process troupe for @func_name of tw-launch-worker (or of the program
 * at @worker_path), started through @launcher if not %NULL. */
TwTroupe *tw_test_launch_troupe_new     (const char          *func_name,
                                         const char * const  *launcher,
                                         const char          *worker_path,
                                         guint                n_workers);
/* Runs "square" on 0..9 as the seed examples do, and asserts that it
 * prints the same list. */
void      tw_test_launch_assert_squares (TwTroupe            *troupe);
/* Finds @name in PATH or in the sbin directories, where daemons live
 * and which a user's PATH may lack. */
char     *tw_test_launch_find_program   (const char          *name);
/* Copies the worker program to @dir/bin/tw-remote-worker: a worker
 * program path that differs from the one the parent knows, as on another
 * machine. */
char     *tw_test_launch_copy_worker    (const char          *dir);
/* Runs @argv to its end, with stdout and stderr in @output; FALSE with
 * @error set if it could not start or did not exit with status 0. */
gboolean  tw_test_launch_run            (const char * const  *argv,
                                         char               **output,
                                         GError             **error);
/* A TCP port on 127.0.0.1 that nothing listens on now. */
guint16   tw_test_launch_free_port      (void);

G_END_DECLS
