/* test-process-shutdown.c: how troupes of worker processes shut down
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
 *
 * Tests that show a library bug report it with g_test_fail_printf() and
 * go on, so that one bug does not hide the others (meson runs this with
 * --keep-going).
 */

#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <gio/gio.h>
#include <tiny-worker.h>

#include "tw-test-funcs.h"
#include "tw-test-process.h"

/* Shutdown ----------------------------------------------------------------- */

static void
test_process_shutdown_drain (void)
{
  g_autoptr(TwTroupe) troupe = tw_test_process_troupe_new ("echo", TW_TEST_WORKER_SELF, 2);
  g_autoptr(TwTroupe) feeder = tw_test_process_troupe_new ("sleep", TW_TEST_WORKER_PROGRAM, 1);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TwFuture) feed = NULL;
  g_autoptr(TwFuture) chained = NULL;
  g_autoptr(TwFuture) late = NULL;
  g_autoptr(GError) late_error = NULL;
  g_autoptr(GVariant) chained_value = NULL;
  GPid feeder_pid;

  g_test_summary ("A draining shutdown in process mode runs every queued task, "
                  "chained ones whose input settles later included, then stops "
                  "every worker process");

  for (gint64 i = 0; i < 50; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));

  /* A chained task whose input settles only after the shutdown began. */
  feed = tw_troupe_submit (feeder, g_variant_new ("(ts)", (guint64)300, ""));
  chained = tw_troupe_submit_future (troupe, feed);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);

  for (gint64 i = 0; i < 50; i++)
    {
      g_assert_true (tw_future_is_done (futures->pdata[i]));
      g_assert_cmpint (tw_test_wait_int64 (futures->pdata[i]), ==, i);
    }
  g_assert_true (tw_future_is_done (feed));
  g_assert_true (tw_future_is_done (chained));
  feeder_pid = tw_test_wait_int64 (feed);
  chained_value = tw_test_wait_value (chained);
  g_assert_cmpint (g_variant_get_int64 (chained_value), ==, feeder_pid);

  late = tw_troupe_submit (troupe, g_variant_new_int64 (0));
  late_error = tw_test_wait_error (late);
  g_assert_error (late_error, TW_ERROR, TW_ERROR_SHUT_DOWN);

  /* Again: nothing more happens. */
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_shutdown_and_check (feeder, TW_SHUTDOWN_MODE_DRAIN);
}

static void
test_process_shutdown_cancel_pending (void)
{
  g_autofree char *dir = tw_test_make_temp_dir ("process");
  g_autofree char *pid_file = g_build_filename (dir, "running.pid", NULL);
  g_autoptr(TwTroupe) troupe = tw_test_process_troupe_new ("sleep", TW_TEST_WORKER_SELF, 1);
  g_autoptr(GPtrArray) queued = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TwFuture) running = NULL;
  g_autoptr(TwFuture) late = NULL;
  g_autoptr(GError) late_error = NULL;
  guint n_ran = 0;

  g_test_summary ("A cancelling shutdown in process mode lets the running task "
                  "finish, cancels every task that has not started, then stops "
                  "every worker process");

  running = tw_troupe_submit (troupe, g_variant_new ("(ts)", (guint64)300, pid_file));
  for (guint i = 0; i < 10; i++)
    g_ptr_array_add (queued, tw_troupe_submit (troupe, g_variant_new ("(ts)", (guint64)0, "")));

  tw_test_wait_pid_file (pid_file);
  for (guint i = 0; i < queued->len; i++)
    {
      if (tw_future_get_state (queued->pdata[i]) != TW_FUTURE_STATE_PENDING)
        g_test_message ("task %u has not started, but its state is %d", i,
                        tw_future_get_state (queued->pdata[i]));
    }

  tw_test_shutdown_and_check (troupe, TW_SHUTDOWN_MODE_CANCEL_PENDING);

  g_assert_cmpint (tw_test_wait_int64 (running), >, 0);
  for (guint i = 0; i < queued->len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = tw_future_wait (queued->pdata[i], TW_TEST_TIMEOUT_USEC, &error);

      if (value != NULL)
        {
          g_test_message ("task %u was queued behind a running task when the troupe "
                          "shut down, yet it ran", i);
          n_ran++;
        }
      else
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    }
  if (n_ran > 0)
    g_test_fail_printf ("%u task(s) that had not started when the troupe shut down with "
                        "TW_SHUTDOWN_MODE_CANCEL_PENDING ran anyway, instead of failing "
                        "with G_IO_ERROR_CANCELLED", n_ran);

  late = tw_troupe_submit (troupe, g_variant_new ("(ts)", (guint64)0, ""));
  late_error = tw_test_wait_error (late);
  g_assert_error (late_error, TW_ERROR, TW_ERROR_SHUT_DOWN);

  tw_test_remove_dir (dir);
}

static void
shutdown_async_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GMainLoop *loop = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (tw_troupe_shutdown_finish (TW_TROUPE (object), result, &error));
  g_assert_no_error (error);
  g_main_loop_quit (loop);
}

static void
test_process_shutdown_async (void)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(TwTroupe) troupe = tw_test_process_troupe_new ("sleep", TW_TEST_WORKER_SELF, 2);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);

  g_test_summary ("tw_troupe_shutdown_async() stops every worker process too");

  for (guint i = 0; i < 6; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new ("(ts)", (guint64)30, "")));

  tw_troupe_shutdown_async (troupe, TW_SHUTDOWN_MODE_DRAIN, NULL, shutdown_async_cb, loop);
  g_main_loop_run (loop);

  for (guint i = 0; i < futures->len; i++)
    g_assert_cmpint (tw_test_wait_int64 (futures->pdata[i]), >, 0);
  tw_test_assert_no_children ();
}

/* Parent death ------------------------------------------------------------- */

#define HELPER_ARG "--parent-death-helper"
#define HELPER_WORKERS 3

/* Runs in a child of the test: starts a process troupe, reports its
 * worker pids on stdout, then waits to be killed. */
static int
parent_death_helper_main (const char *dir)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(GArray) children = NULL;
  gint64 end_time = g_get_monotonic_time () + TW_TEST_TIMEOUT_USEC;

  troupe = tw_test_process_troupe_new ("sleep", TW_TEST_WORKER_SELF, HELPER_WORKERS);

  /* Two workers in a task, one idle. */
  for (guint i = 0; i < HELPER_WORKERS - 1; i++)
    {
      g_autofree char *name = g_strdup_printf ("helper-%u.pid", i);
      g_autofree char *pid_file = g_build_filename (dir, name, NULL);
      TwFuture *future = tw_troupe_submit (troupe, g_variant_new ("(ts)", (guint64)600000,
                                                                  pid_file));

      (void)future;  /* leaked: the process is killed before it settles */
      tw_test_wait_pid_file (pid_file);
    }

  /* The idle worker was started with its thread. */
  for (;;)
    {
      children = tw_test_list_children (getpid ());
      if (children->len >= HELPER_WORKERS || g_get_monotonic_time () > end_time)
        break;
      g_clear_pointer (&children, g_array_unref);
      g_usleep (10000);
    }

  for (guint i = 0; i < children->len; i++)
    printf ("worker %d\n", (int)g_array_index (children, GPid, i));
  printf ("ready\n");
  fflush (stdout);

  /* The test kills this process; a minute is far beyond its patience. */
  g_usleep (60 * G_USEC_PER_SEC);

  return 1;
}

static void
test_process_parent_death (void)
{
  g_autofree char *dir = tw_test_make_temp_dir ("process");
  const char *argv[] = { tw_test_get_self_path (), HELPER_ARG, dir, NULL };
  g_autoptr(GSubprocess) helper = NULL;
  g_autoptr(GDataInputStream) lines = NULL;
  g_autoptr(GArray) workers = g_array_new (FALSE, FALSE, sizeof (GPid));
  g_autoptr(GError) error = NULL;
  gboolean ready = FALSE;
  gint64 killed_at, end_time;

  g_test_summary ("When the parent process dies, its worker processes exit on "
                  "their own, busy or idle");

  helper = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);

  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (helper));
  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line (lines, NULL, NULL, &error);
      int pid;

      g_assert_no_error (error);
      if (line == NULL)
        break;
      if (g_str_equal (line, "ready"))
        {
          ready = TRUE;
          break;
        }
      if (sscanf (line, "worker %d", &pid) == 1)
        {
          GPid worker = pid;

          g_array_append_val (workers, worker);
        }
    }

  g_assert_true (ready);
  g_assert_cmpuint (workers->len, ==, HELPER_WORKERS);
  for (guint i = 0; i < workers->len; i++)
    g_assert_true (tw_test_process_is_running (g_array_index (workers, GPid, i)));

  g_subprocess_send_signal (helper, SIGKILL);
  g_assert_true (g_subprocess_wait (helper, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_signaled (helper));
  killed_at = g_get_monotonic_time ();

  end_time = killed_at + 5 * G_USEC_PER_SEC;
  for (guint i = 0; i < workers->len; i++)
    {
      GPid worker = g_array_index (workers, GPid, i);

      while (tw_test_process_is_running (worker) && g_get_monotonic_time () < end_time)
        g_usleep (10000);
      if (tw_test_process_is_running (worker))
        {
          kill (worker, SIGKILL);
          g_error ("Worker %d still runs 5 s after its parent died", (int)worker);
        }
    }
  g_test_message ("all workers gone %" G_GINT64_FORMAT " ms after the parent died",
                  (g_get_monotonic_time () - killed_at) / 1000);

  tw_test_remove_dir (dir);
}

int
main (int   argc,
      char *argv[])
{
  tw_test_process_serve ();

  /* The parent-death test runs this program as its helper. */
  if (argc == 3 && g_str_equal (argv[1], HELPER_ARG))
    return parent_death_helper_main (argv[2]);

  tw_test_process_init (&argc, &argv);

  g_test_add_func ("/process/shutdown/drain-runs-every-queued-task", test_process_shutdown_drain);
  g_test_add_func ("/process/shutdown/cancel-pending-cancels-unstarted-tasks",
                   test_process_shutdown_cancel_pending);
  g_test_add_func ("/process/shutdown/async-stops-every-worker", test_process_shutdown_async);
  g_test_add_func ("/process/shutdown/workers-exit-when-parent-dies", test_process_parent_death);

  return g_test_run ();
}
