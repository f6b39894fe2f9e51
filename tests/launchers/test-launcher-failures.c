/* test-launcher-failures.c: launchers that fail to start a worker
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
 * Issue #8, launcher failures: a launcher that is not there, or that
 * fails before the worker answers, fails the tasks with an error that
 * says why, quoting the launcher's stderr. The troupe waits 100, 200, 400
 * and 800 ms between attempts, and after five failures in a row stops
 * starting workers: it never loops.
 */

#include "config.h"

#include "tw-test-launch.h"

/* The documented limit of failed starts in a row, and the least time
 * the backoff between them takes. */
#define SETUP_ATTEMPTS       5
#define BACKOFF_USEC         ((100 + 200 + 400 + 800) * 1000)
#define N_TASKS              6

/* Submits N_TASKS tasks and returns their errors, each of which must be
 * set; checks that it all took at least the backoff and at most 20 s. */
static GPtrArray *
fail_tasks (TwTroupe *troupe,
            gint64    start)
{
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  GPtrArray *errors = g_ptr_array_new_with_free_func ((GDestroyNotify)g_error_free);
  gint64 elapsed;

  for (gint64 i = 0; i < N_TASKS; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));

  for (guint i = 0; i < futures->len; i++)
    {
      GError *error = tw_test_wait_error (futures->pdata[i]);

      g_test_message ("task %u: %s", i, error->message);
      g_ptr_array_add (errors, error);
    }

  elapsed = g_get_monotonic_time () - start;
  g_test_message ("%d tasks failed in %" G_GINT64_FORMAT " ms", N_TASKS, elapsed / 1000);
  g_assert_cmpint (elapsed, >=, BACKOFF_USEC);
  g_assert_cmpint (elapsed, <, 20 * G_USEC_PER_SEC);

  return errors;
}

static void
test_launcher_not_found (void)
{
  const char *launcher[] = { "tw-no-such-launcher", "--option", NULL };
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  gint64 start = g_get_monotonic_time ();

  g_test_summary ("A launcher that is not installed fails every task with the spawn "
                  "error, after a bounded number of attempts with backoff");

  troupe = tw_test_launch_troupe_new ("square", launcher, NULL, 1);
  errors = fail_tasks (troupe, start);

  for (guint i = 0; i < errors->len; i++)
    {
      GError *error = errors->pdata[i];

      g_assert_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT);
      tw_test_assert_contains (error->message,
                               "Cannot start the worker launcher tw-no-such-launcher: ");
      tw_test_assert_contains (error->message, "No such file or directory");
    }
}

static void
test_launcher_exits (void)
{
  g_autofree char *dir = tw_test_make_temp_dir ("launcher-exits");
  g_autofree char *count_path = g_build_filename (dir, "starts", NULL);
  g_autofree char *script = NULL;
  const char *launcher[] = { "sh", "-c", NULL, "tw-test-launcher", NULL };
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(TwFuture) late = NULL;
  g_autoptr(GError) late_error = NULL;
  gint64 start = g_get_monotonic_time ();

  g_test_summary ("A launcher that fails before the handshake fails every task with "
                  "its stderr, and is started at most five times");

  /* It logs each start, says why it fails, and exits with status 3
   * without starting the worker. */
  script = g_strdup_printf ("echo start >> '%s'; "
                            "echo 'tw-test-launcher: no slot for this worker' >&2; "
                            "exit 3", count_path);
  launcher[2] = script;

  troupe = tw_test_launch_troupe_new ("square", launcher, NULL, 1);
  errors = fail_tasks (troupe, start);

  for (guint i = 0; i < errors->len; i++)
    {
      GError *error = errors->pdata[i];

      g_assert_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP);
      tw_test_assert_contains (error->message, "exited with status 3");
      tw_test_assert_contains (error->message,
                               "tw-test-launcher: no slot for this worker");
    }

  g_assert_cmpuint (tw_test_count_lines (count_path), ==, SETUP_ATTEMPTS);

  /* Once given up, a task fails at once, with no new attempt. */
  late = tw_troupe_submit (troupe, g_variant_new_int64 (7));
  late_error = tw_test_wait_error (late);
  g_assert_error (late_error, TW_ERROR, TW_ERROR_WORKER_SETUP);
  tw_test_assert_contains (late_error->message, "no slot for this worker");
  g_assert_cmpuint (tw_test_count_lines (count_path), ==, SETUP_ATTEMPTS);

  g_clear_object (&troupe);
  tw_test_remove_dir (dir);
}

int
main (int   argc,
      char *argv[])
{
  tw_test_launch_init (&argc, &argv);

  g_test_add_func ("/launcher/missing-launcher-fails-every-task", test_launcher_not_found);
  g_test_add_func ("/launcher/launcher-that-exits-fails-every-task", test_launcher_exits);

  return g_test_run ();
}
