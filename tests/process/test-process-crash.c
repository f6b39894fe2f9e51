/* test-process-crash.c: worker processes that crash, abort, exit or are killed
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

#include <tiny-worker.h>

#include "tw-test-funcs.h"
#include "tw-test-process.h"

/* Crashes ------------------------------------------------------------------ */

#define N_SIDE_TASKS 1000

static void
test_process_kill (void)
{
  g_autofree char *dir = tw_test_make_temp_dir ("process");
  g_autofree char *pid_file = g_build_filename (dir, "sleep.pid", NULL);
  g_autoptr(TwTroupe) squares = tw_test_process_troupe_new ("square", TW_TEST_WORKER_SELF, 2);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TwFuture) victim = NULL;
  g_autoptr(TwFuture) after = NULL;
  g_autoptr(GError) error = NULL;
  guint n_done_before_kill = 0;
  GPid pid;

  g_test_summary ("A worker killed with SIGKILL in the middle of a task fails that "
                  "task only, naming the signal, while 1000 other tasks complete");

  /* A sleeping task on one worker and squares on the other, on the same
   * troupe; plus a second troupe whose tasks run meanwhile. */
  {
    g_autoptr(TwTroupe) mixed = tw_test_process_troupe_new ("sleep", TW_TEST_WORKER_SELF, 2);
    g_autoptr(GPtrArray) naps = g_ptr_array_new_with_free_func (g_object_unref);

    victim = tw_troupe_submit (mixed, g_variant_new ("(ts)", (guint64)30000, pid_file));
    for (guint i = 0; i < N_SIDE_TASKS; i++)
      {
        g_ptr_array_add (naps, tw_troupe_submit (mixed, g_variant_new ("(ts)", (guint64)0, "")));
        g_ptr_array_add (futures, tw_troupe_submit (squares, g_variant_new_int64 (i)));
      }

    pid = tw_test_wait_pid_file (pid_file);
    for (guint i = 0; i < N_SIDE_TASKS; i++)
      n_done_before_kill += tw_future_is_done (naps->pdata[i]);
    g_test_message ("killing worker %d; %u of its troupe's other tasks were done",
                    (int)pid, n_done_before_kill);
    g_assert_cmpint (kill (pid, SIGKILL), ==, 0);

    error = tw_test_wait_error (victim);
    g_assert_error (error, TW_ERROR, TW_ERROR_WORKER_CRASHED);
    tw_test_assert_contains (error->message, "signal 9");
    g_test_message ("%s", error->message);

    for (guint i = 0; i < N_SIDE_TASKS; i++)
      {
        GPid ran_on = tw_test_wait_int64 (naps->pdata[i]);

        g_assert_cmpint (ran_on, >, 0);
      }

    /* The killed worker was replaced. */
    after = tw_troupe_submit (mixed, g_variant_new ("(ts)", (guint64)0, ""));
    g_assert_cmpint (tw_test_wait_int64 (after), !=, pid);

    tw_troupe_shutdown (mixed, TW_SHUTDOWN_MODE_DRAIN);
    g_assert_cmpuint (tw_troupe_get_n_failed (mixed), ==, 1);
    g_assert_cmpuint (tw_troupe_get_n_succeeded (mixed), ==, N_SIDE_TASKS + 1);
  }

  for (guint i = 0; i < N_SIDE_TASKS; i++)
    g_assert_cmpint (tw_test_wait_int64 (futures->pdata[i]), ==, (gint64)i * i);

  tw_test_shutdown_and_check (squares, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_remove_dir (dir);
}

typedef struct
{
  TwTestWorkerKind  kind;
  const char *func;
  const char *expected;   /* in the error message */
} CrashCase;

static GPid
run_spared_task (TwTroupe *troupe)
{
  g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_string ("survive"));

  return tw_test_wait_int64 (future);
}

static void
test_process_crash (gconstpointer data)
{
  const CrashCase *crash = data;
  g_autoptr(TwTroupe) crasher = tw_test_process_troupe_new (crash->func, crash->kind, 1);
  g_autoptr(TwTroupe) pids = tw_test_process_troupe_new ("pid", crash->kind, 1);
  g_autoptr(TwTroupe) squares = tw_test_process_troupe_new ("square", crash->kind, 2);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  GPid other_before, other_after, before, after;
  guint n_crashed = 0;

  g_test_summary ("A worker that crashes, aborts or exits fails only its task, "
                  "with a message naming the signal or status; the troupe starts a "
                  "new process and keeps working");

  other_before = tw_test_run_pid_task (pids);
  for (gint64 i = 0; i < 50; i++)
    g_ptr_array_add (futures, tw_troupe_submit (squares, g_variant_new_int64 (i)));

  before = run_spared_task (crasher);
  future = tw_troupe_submit (crasher, g_variant_new ("()"));
  error = tw_test_wait_error (future);
  g_test_message ("%s", error->message);
  g_assert_error (error, TW_ERROR, TW_ERROR_WORKER_CRASHED);
  tw_test_assert_contains (error->message, crash->expected);
  after = run_spared_task (crasher);
  g_assert_cmpint (before, !=, after);

  /* Crashes among other tasks, all submitted at once: only the crashing
   * ones fail. */
  for (guint i = 0; i < 30; i++)
    g_ptr_array_add (batch, tw_troupe_submit (crasher,
                                              i % 10 == 3 ? g_variant_new ("()")
                                                          : g_variant_new_string ("survive")));
  for (guint i = 0; i < batch->len; i++)
    {
      g_autoptr(GError) batch_error = NULL;
      g_autoptr(GVariant) value = NULL;

      value = tw_future_wait (batch->pdata[i], TW_TEST_TIMEOUT_USEC, &batch_error);

      if (i % 10 == 3)
        {
          g_assert_null (value);
          g_assert_error (batch_error, TW_ERROR, TW_ERROR_WORKER_CRASHED);
          tw_test_assert_contains (batch_error->message, crash->expected);
          n_crashed++;
        }
      else
        {
          g_assert_no_error (batch_error);
          g_assert_cmpint (g_variant_get_int64 (value), >, 0);
        }
    }
  g_assert_cmpuint (n_crashed, ==, 3);

  /* Other troupes were never disturbed. */
  for (gint64 i = 0; i < 50; i++)
    g_assert_cmpint (tw_test_wait_int64 (futures->pdata[i]), ==, i * i);
  other_after = tw_test_run_pid_task (pids);
  g_assert_cmpint (other_before, ==, other_after);

  tw_troupe_shutdown (crasher, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (pids, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_shutdown_and_check (squares, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpuint (tw_troupe_get_n_failed (crasher), ==, 4);
  g_assert_cmpuint (tw_troupe_get_n_succeeded (crasher), ==, 29);
}

/* One troupe runs tasks across several deaths of its worker process. */
static void
test_process_respawn (gconstpointer data)
{
  TwTestWorkerKind kind = GPOINTER_TO_INT (data);
  g_autofree char *dir = tw_test_make_temp_dir ("process");
  g_autoptr(TwTroupe) troupe = tw_test_process_troupe_new ("sleep", kind, 1);
  GPid pids[3];

  g_test_summary ("After its worker process dies, a troupe runs its next task on a "
                  "new process");

  for (guint i = 0; i < G_N_ELEMENTS (pids); i++)
    {
      g_autofree char *name = g_strdup_printf ("sleep-%u.pid", i);
      g_autofree char *pid_file = g_build_filename (dir, name, NULL);
      g_autoptr(TwFuture) future = NULL;
      g_autoptr(GError) error = NULL;

      future = tw_troupe_submit (troupe, g_variant_new ("(ts)", (guint64)30000, pid_file));
      pids[i] = tw_test_wait_pid_file (pid_file);
      for (guint j = 0; j < i; j++)
        g_assert_cmpint (pids[i], !=, pids[j]);

      g_assert_cmpint (kill (pids[i], SIGKILL), ==, 0);
      error = tw_test_wait_error (future);
      g_assert_error (error, TW_ERROR, TW_ERROR_WORKER_CRASHED);
      tw_test_assert_contains (error->message, "signal 9");
    }

  /* "sleep" answers with the pid of a fourth process. */
  {
    g_autoptr(TwFuture) last = tw_troupe_submit (troupe, g_variant_new ("(ts)", (guint64)0, ""));
    GPid last_pid = tw_test_wait_int64 (last);

    for (guint j = 0; j < G_N_ELEMENTS (pids); j++)
      g_assert_cmpint (last_pid, !=, pids[j]);
  }

  tw_test_shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_remove_dir (dir);
}

/* A worker process that dies while it runs no task fails no task. */
static void
test_process_idle_death (gconstpointer data)
{
  TwTestWorkerKind kind = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = tw_test_process_troupe_new ("pid", kind, 1);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  gint64 end_time = g_get_monotonic_time () + TW_TEST_TIMEOUT_USEC;
  GPid pid;

  g_test_summary ("A worker process that dies between tasks (killed while idle) "
                  "fails no task: the next one runs on a new process");

  pid = tw_test_run_pid_task (troupe);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  while (!tw_test_process_is_gone (pid) && g_get_monotonic_time () < end_time)
    g_usleep (2000);
  g_assert_true (tw_test_process_is_gone (pid));

  future = tw_troupe_submit (troupe, g_variant_new ("()"));
  value = tw_future_wait (future, TW_TEST_TIMEOUT_USEC, &error);
  if (value == NULL)
    {
      g_test_fail_printf ("A task submitted after its worker process %d died while idle "
                          "failed without ever running: %s (%s, %d)", (int)pid,
                          error->message, g_quark_to_string (error->domain), error->code);
    }
  else
    g_assert_cmpint (g_variant_get_int64 (value), !=, pid);

  /* Either way, the troupe goes on. */
  g_assert_cmpint (tw_test_run_pid_task (troupe), !=, pid);

  tw_test_shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

static const CrashCase crash_cases[] = {
  { TW_TEST_WORKER_SELF, "segfault", "signal 11" },
  { TW_TEST_WORKER_SELF, "abort", "signal 6" },
  { TW_TEST_WORKER_SELF, "exit", "status 3" },
  { TW_TEST_WORKER_PROGRAM, "segfault", "signal 11" },
  { TW_TEST_WORKER_PROGRAM, "abort", "signal 6" },
  { TW_TEST_WORKER_PROGRAM, "exit", "status 3" },
};

int
main (int   argc,
      char *argv[])
{
  tw_test_process_serve ();
  tw_test_process_init (&argc, &argv);

  g_test_add_func ("/process/crash/sigkill-fails-only-the-running-task", test_process_kill);
  for (guint i = 0; i < G_N_ELEMENTS (crash_cases); i++)
    {
      const char *kind = crash_cases[i].kind == TW_TEST_WORKER_SELF ? "re-executed" : "worker-argv";
      g_autofree char *path = g_strdup_printf ("/process/crash/%s-fails-one-task/%s",
                                               crash_cases[i].func, kind);

      g_test_add_data_func (path, &crash_cases[i], test_process_crash);
    }
  tw_test_add_kind_test ("/process/crash/next-task-runs-on-a-new-process", test_process_respawn);
  tw_test_add_kind_test ("/process/crash/death-while-idle-fails-no-task", test_process_idle_death);

  return g_test_run ();
}
