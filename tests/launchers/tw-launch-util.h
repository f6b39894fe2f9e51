/* tw-launch-util.h: helpers shared by the launcher tests
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

G_BEGIN_DECLS

/* How long a test waits for a task. Only a broken library or launcher
 * reaches it: it turns a hang into a failure. */
#define TW_LAUNCH_TIMEOUT_USEC (60 * G_USEC_PER_SEC)

void        tw_launch_test_init               (int                 *argc,
                                               char              ***argv);
const char *tw_launch_test_get_worker_path    (void);
TwTroupe   *tw_launch_test_troupe_new         (const char          *func_name,
                                               const char * const  *launcher,
                                               const char          *worker_path,
                                               guint                n_workers);
GVariant   *tw_launch_test_wait_value         (TwFuture            *future);
gint64      tw_launch_test_wait_int64         (TwFuture            *future);
GError     *tw_launch_test_wait_error         (TwFuture            *future);
void        tw_launch_test_assert_contains    (const char          *haystack,
                                               const char          *needle);
char       *tw_launch_test_square_list        (TwTroupe            *troupe,
                                               guint                n);
char       *tw_launch_test_make_temp_dir      (const char          *name);
void        tw_launch_test_remove_dir         (const char          *path);
char       *tw_launch_test_find_program       (const char          *name);
char       *tw_launch_test_copy_worker        (const char          *dir);
gboolean    tw_launch_test_run                (const char * const  *argv,
                                               char               **output,
                                               GError             **error);
guint16     tw_launch_test_free_port          (void);
guint       tw_launch_test_count_processes    (const char          *exe_path);
void        tw_launch_test_assert_no_process  (const char          *exe_path);
guint       tw_launch_test_count_lines        (const char          *path);

G_END_DECLS
