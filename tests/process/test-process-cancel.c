/* test-process-cancel.c: cancelling tasks that run in worker processes
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

/*
 * Part of the process-mode test suite (issue #4). Like every program of
 * it, this one is a worker program too: a troupe with no
 * TwTroupe:worker-argv runs it again, and main() must reach tw_init()
 * with the functions and types of tw-test-funcs.h registered before
 * g_test_init() sees the arguments. The tests that take a
 * TwTestWorkerKind run once that way (…/re-executed) and once with
 * tw-test-worker in TwTroupe:worker-argv (…/worker-argv).
 */

#include "config.h"

#include <tiny-worker.h>

#include "tw-test-funcs.h"
#include "tw-test-process.h"

/* Cancellation ------------------------------------------------------------- */

static void
test_process_cancel_running (gconstpointer data)
{
  TwTestWorkerKind kind = GPOINTER_TO_INT (data);
  g_autofree char *dir = tw_test_make_temp_dir ("process");
  g_autofree char *pid_file = g_build_filename (dir, "sleep.pid", NULL);
  g_autoptr(TwTroupe) troupe = tw_test_process_troupe_new ("sleep", kind, 1);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(TwFuture) next = NULL;
  g_autoptr(GError) error = NULL;
  gint64 cancelled_at;
  GPid pid;

  g_test_summary ("Cancelling a running task triggers the worker's cancellable in "
                  "the child; a worker that stops in time keeps its process");

  /* A slow machine must not make the troupe kill the worker. */
  tw_troupe_set_cancel_grace_period (troupe, 5000);

  /* Longer than the test's timeout: only cancellation ends it in time. */
  future = tw_troupe_submit (troupe, g_variant_new ("(ts)", (guint64)60000, pid_file));
  pid = tw_test_wait_pid_file (pid_file);
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_RUNNING);

  cancelled_at = g_get_monotonic_time ();
  tw_future_cancel (future);
  error = tw_test_wait_error (future);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_CANCELLED);
  /* Well within the grace period. */
  g_assert_cmpint (g_get_monotonic_time () - cancelled_at, <, 4 * G_USEC_PER_SEC);

  /* The same process runs the next task. */
  next = tw_troupe_submit (troupe, g_variant_new ("(ts)", (guint64)0, ""));
  g_assert_cmpint (tw_test_wait_int64 (next), ==, pid);
  g_assert_true (tw_test_process_is_running (pid));

  tw_test_shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_remove_dir (dir);
}

static void
test_process_cancel_queued (gconstpointer data)
{
  TwTestWorkerKind kind = GPOINTER_TO_INT (data);
  g_autofree char *dir = tw_test_make_temp_dir ("process");
  g_autofree char *long_file = g_build_filename (dir, "long.pid", NULL);
  g_autoptr(TwTroupe) troupe = tw_test_process_troupe_new ("sleep", kind, 1);
  g_autoptr(GPtrArray) waiting = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TwFuture) running = NULL;
  g_autoptr(GError) running_error = NULL;

  g_test_summary ("Cancelling tasks that wait behind a running one fails them at "
                  "once, and they never run");

  running = tw_troupe_submit (troupe, g_variant_new ("(ts)", (guint64)60000, long_file));
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *name = g_strdup_printf ("waiting-%u.pid", i);
      g_autofree char *pid_file = g_build_filename (dir, name, NULL);

      g_ptr_array_add (waiting, tw_troupe_submit (troupe, g_variant_new ("(ts)", (guint64)0,
                                                                         pid_file)));
    }
  tw_test_wait_pid_file (long_file);

  for (guint i = 0; i < waiting->len; i++)
    {
      g_autoptr(GError) error = NULL;
      gint64 cancelled_at = g_get_monotonic_time ();

      tw_future_cancel (waiting->pdata[i]);
      error = tw_test_wait_error (waiting->pdata[i]);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_cmpint (g_get_monotonic_time () - cancelled_at, <, G_USEC_PER_SEC / 2);
    }

  tw_future_cancel (running);
  running_error = tw_test_wait_error (running);
  g_assert_error (running_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  tw_test_shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);

  /* None of them ever started. */
  for (guint i = 0; i < waiting->len; i++)
    {
      g_autofree char *name = g_strdup_printf ("waiting-%u.pid", i);
      g_autofree char *pid_file = g_build_filename (dir, name, NULL);

      g_assert_false (g_file_test (pid_file, G_FILE_TEST_EXISTS));
    }

  tw_test_remove_dir (dir);
}

#define GRACE_MSEC 200

static void
test_process_cancel_grace (gconstpointer data)
{
  TwTestWorkerKind kind = GPOINTER_TO_INT (data);
  g_autofree char *dir = tw_test_make_temp_dir ("process");
  g_autofree char *pid_file = g_build_filename (dir, "ignore.pid", NULL);
  g_autoptr(TwTroupe) troupe = tw_test_process_troupe_new ("ignore-cancel", kind, 1);
  g_autoptr(TwTroupe) pids = NULL;
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  gint64 cancelled_at, elapsed;
  GPid pid, next_pid;

  g_test_summary ("A cancelled task that ignores its cancellable has its process "
                  "killed after the grace period and fails with G_IO_ERROR_CANCELLED");

  tw_troupe_set_cancel_grace_period (troupe, GRACE_MSEC);
  g_assert_cmpuint (tw_troupe_get_cancel_grace_period (troupe), ==, GRACE_MSEC);

  future = tw_troupe_submit (troupe, g_variant_new_string (pid_file));
  pid = tw_test_wait_pid_file (pid_file);

  cancelled_at = g_get_monotonic_time ();
  tw_future_cancel (future);
  error = tw_test_wait_error (future);
  elapsed = g_get_monotonic_time () - cancelled_at;
  g_test_message ("the task settled %" G_GINT64_FORMAT " ms after cancel", elapsed / 1000);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_CANCELLED);
  g_assert_cmpint (elapsed, >=, (GRACE_MSEC - 20) * 1000);
  g_assert_cmpint (elapsed, <, 5 * G_USEC_PER_SEC);

  /* The process was killed and reaped by then. */
  g_assert_false (tw_test_process_is_running (pid));

  /* The next task runs on a new process. "ignore-cancel" would take 30 s,
   * so ask the same troupe's worker for its pid through a pid file. */
  {
    g_autofree char *next_file = g_build_filename (dir, "next.pid", NULL);
    g_autoptr(TwFuture) next = tw_troupe_submit (troupe, g_variant_new_string (next_file));

    next_pid = tw_test_wait_pid_file (next_file);
    g_assert_cmpint (next_pid, !=, pid);
    tw_future_cancel (next);
    g_clear_error (&error);
    error = tw_test_wait_error (next);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  }

  pids = tw_test_process_troupe_new ("pid", kind, 1);
  tw_troupe_set_cancel_grace_period (pids, GRACE_MSEC);
  g_assert_cmpint (tw_test_run_pid_task (pids), !=, pid);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_shutdown_and_check (pids, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_remove_dir (dir);
}

int
main (int   argc,
      char *argv[])
{
  tw_test_process_serve ();
  tw_test_process_init (&argc, &argv);

  tw_test_add_kind_test ("/process/cancel/running-task-stops-and-keeps-its-process",
                         test_process_cancel_running);
  tw_test_add_kind_test ("/process/cancel/queued-tasks-never-run", test_process_cancel_queued);
  tw_test_add_kind_test ("/process/cancel/ignored-cancel-kills-after-grace-period",
                         test_process_cancel_grace);

  return g_test_run ();
}
