/* test-process-lifecycle.c: how worker processes start, set up, run and stop
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

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <tiny-worker.h>

#include "tw-test-funcs.h"
#include "tw-test-process.h"

/* Worker types ------------------------------------------------------------- */

static void
test_process_worker_type (gconstpointer data)
{
  TwTestWorkerKind kind = GPOINTER_TO_INT (data);
  g_autofree char *dir = tw_test_make_temp_dir ("process");
  g_autofree char *log_path = g_build_filename (dir, "worker.log", NULL);
  g_autoptr(GVariantBuilder) props = g_variant_builder_new (G_VARIANT_TYPE_VARDICT);
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) log = NULL;
  g_autoptr(GHashTable) set_up = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint n_setups = 0;

  g_test_summary ("A worker type crosses by its GType name plus its properties; "
                  "each worker process sets it up once and tears it down at shutdown");

  g_variant_builder_add (props, "{sv}", "prefix", g_variant_new_string ("bar"));
  g_variant_builder_add (props, "{sv}", "log-path", g_variant_new_string (log_path));
  troupe = tw_troupe_new_for_worker (TW_TEST_TYPE_PREFIX_WORKER, g_variant_builder_end (props));
  tw_troupe_set_mode (troupe, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (troupe, 2);
  tw_test_set_worker_program (troupe, kind);

  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *input = g_strdup_printf ("%u", i);

      g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_string (input)));
    }

  for (guint i = 0; i < 100; i++)
    {
      g_autoptr(GVariant) value = tw_test_wait_value (futures->pdata[i]);
      g_autofree char *expected = g_strdup_printf ("bar:%u", i);

      g_assert_cmpstr (g_variant_get_string (value, NULL), ==, expected);
    }

  tw_test_shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);

  /* Setup ran in the worker processes, never here, once per process; and
   * each of them tore its worker down. */
  log = tw_test_read_lines (log_path);
  for (guint i = 0; i < log->len; i++)
    {
      const char *line = log->pdata[i];

      g_test_message ("%s", line);
      if (g_str_has_prefix (line, "setup "))
        {
          g_assert_cmpint (g_ascii_strtoll (line + 6, NULL, 10), !=, getpid ());
          g_assert_true (g_hash_table_add (set_up, g_strdup (line + 6)));
          n_setups++;
        }
      else
        {
          g_assert_true (g_str_has_prefix (line, "teardown "));
          g_assert_true (g_hash_table_remove (set_up, line + 9));
        }
    }
  g_assert_cmpuint (n_setups, >=, 1);
  g_assert_cmpuint (n_setups, <=, 2);
  g_assert_cmpuint (g_hash_table_size (set_up), ==, 0);

  tw_test_remove_dir (dir);
}

static TwTroupe *
new_failing_troupe (TwTestWorkerKind  kind,
                    const char *log_path)
{
  g_autoptr(GVariantBuilder) props = g_variant_builder_new (G_VARIANT_TYPE_VARDICT);
  TwTroupe *troupe;

  g_variant_builder_add (props, "{sv}", "log-path", g_variant_new_string (log_path));
  troupe = tw_troupe_new_for_worker (TW_TEST_TYPE_FAILING_WORKER, g_variant_builder_end (props));
  tw_troupe_set_mode (troupe, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (troupe, 1);
  tw_test_set_worker_program (troupe, kind);

  return troupe;
}

static void
assert_setup_error (const GError *error)
{
  g_assert_error (error, TW_TEST_PROCESS_ERROR, TW_TEST_PROCESS_ERROR_SETUP);
  g_assert_cmpstr (error->message, ==, TW_TEST_SETUP_MESSAGE);
}

#define N_SETUP_TASKS 12
/* The documented policy: five attempts in a row, with waits of 100, 200,
 * 400 and 800 ms between them. */
#define SETUP_FAILURE_LIMIT 5
#define SETUP_BACKOFF_TOTAL_USEC (1500 * 1000)

static void
test_process_setup_failure (gconstpointer data)
{
  TwTestWorkerKind kind = GPOINTER_TO_INT (data);
  g_autofree char *dir = tw_test_make_temp_dir ("process");
  g_autofree char *log_path = g_build_filename (dir, "setup.log", NULL);
  g_autoptr(TwTroupe) troupe = new_failing_troupe (kind, log_path);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) spawned = NULL;
  g_autoptr(TwFuture) late = NULL;
  g_autoptr(GError) late_error = NULL;
  gint64 start = g_get_monotonic_time ();
  gint64 elapsed;
  guint n_spawned;

  g_test_summary ("A worker's setup error reaches its tasks unchanged; repeated "
                  "failures back off, then fail every queued task without spinning");

  for (guint i = 0; i < N_SETUP_TASKS; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_uint32 (i)));

  for (guint i = 0; i < N_SETUP_TASKS; i++)
    {
      g_autoptr(GError) error = tw_test_wait_error (futures->pdata[i]);

      assert_setup_error (error);
    }
  elapsed = g_get_monotonic_time () - start;

  /* The worker process ran its setup (and logged its pid) each time the
   * troupe started one. */
  spawned = tw_test_read_lines (log_path);
  n_spawned = spawned->len;
  g_test_message ("%u worker processes started in %" G_GINT64_FORMAT " ms",
                  n_spawned, elapsed / 1000);
  g_assert_cmpuint (n_spawned, >=, 2);
  g_assert_cmpuint (n_spawned, <=, SETUP_FAILURE_LIMIT);

  /* It backed off between attempts rather than spinning. */
  g_assert_cmpint (elapsed, >=, SETUP_BACKOFF_TOTAL_USEC - 100 * 1000);

  /* Past the limit, a new task fails at once with the same error, and no
   * process is started for it. */
  start = g_get_monotonic_time ();
  late = tw_troupe_submit (troupe, g_variant_new_uint32 (99));
  late_error = tw_test_wait_error (late);
  assert_setup_error (late_error);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC / 2);
  {
    g_autoptr(GPtrArray) again = tw_test_read_lines (log_path);

    g_assert_cmpuint (again->len, ==, n_spawned);
  }

  tw_test_shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpuint (tw_troupe_get_n_failed (troupe), ==, N_SETUP_TASKS + 1);
  tw_test_remove_dir (dir);
}

/* Lifecycle ---------------------------------------------------------------- */

static void
exercise_troupe (TwTestWorkerKind kind)
{
  g_autofree char *dir = tw_test_make_temp_dir ("process");
  g_autofree char *pid_file = g_build_filename (dir, "ignore.pid", NULL);
  g_autoptr(TwTroupe) squares = tw_test_process_troupe_new ("square", kind, 2);
  g_autoptr(TwTroupe) crasher = tw_test_process_troupe_new ("abort", kind, 2);
  g_autoptr(TwTroupe) stubborn = tw_test_process_troupe_new ("ignore-cancel", kind, 1);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TwFuture) crash = NULL;
  g_autoptr(TwFuture) stuck = NULL;
  g_autoptr(GError) crash_error = NULL;
  g_autoptr(GError) stuck_error = NULL;

  tw_troupe_set_cancel_grace_period (stubborn, 100);

  for (gint64 i = 0; i < 100; i++)
    g_ptr_array_add (futures, tw_troupe_submit (squares, g_variant_new_int64 (i)));
  crash = tw_troupe_submit (crasher, g_variant_new ("()"));
  stuck = tw_troupe_submit (stubborn, g_variant_new_string (pid_file));
  tw_test_wait_pid_file (pid_file);
  tw_future_cancel (stuck);

  for (gint64 i = 0; i < 100; i++)
    g_assert_cmpint (tw_test_wait_int64 (futures->pdata[i]), ==, i * i);
  crash_error = tw_test_wait_error (crash);
  g_assert_error (crash_error, TW_ERROR, TW_ERROR_WORKER_CRASHED);
  stuck_error = tw_test_wait_error (stuck);
  g_assert_error (stuck_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  tw_troupe_shutdown (squares, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (crasher, TW_SHUTDOWN_MODE_CANCEL_PENDING);
  /* The last one is disposed without a shutdown. */
  g_clear_object (&stubborn);

  tw_test_remove_dir (dir);
}

static void
test_process_no_leaks (gconstpointer data)
{
  TwTestWorkerKind kind = GPOINTER_TO_INT (data);
  guint fds_before, fds_after;

  g_test_summary ("Shutdown stops and reaps every worker process, and leaves no "
                  "file descriptor behind in the parent");

  /* GLib opens a few fds once and keeps them (the worker context's
   * wakeup, say): run once before counting. */
  exercise_troupe (kind);
  tw_test_assert_no_children ();

  fds_before = tw_test_count_fds ();
  for (guint round = 0; round < 2; round++)
    exercise_troupe (kind);
  fds_after = tw_test_count_fds ();

  tw_test_assert_no_children ();
  g_assert_cmpuint (fds_after, ==, fds_before);
}

/* The SigBlk mask of /proc/@path/status. */
static guint64
read_blocked_signals (const char *path)
{
  g_autofree char *status_path = g_build_filename (path, "status", NULL);
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents (status_path, &status, NULL, NULL));
  line = strstr (status, "\nSigBlk:");
  g_assert_nonnull (line);

  return g_ascii_strtoull (line + strlen ("\nSigBlk:"), NULL, 16);
}

#define SIGNAL_BIT(signo) (G_GUINT64_CONSTANT (1) << ((signo) - 1))

static void
test_process_signal_mask (void)
{
  g_autoptr(TwTroupe) troupe = tw_test_process_troupe_new ("pid", TW_TEST_WORKER_SELF, 1);
  g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_int32 (0));
  g_autofree char *worker_path = NULL;
  g_autoptr(GDir) tasks = NULL;
  guint64 main_mask = read_blocked_signals ("/proc/self");
  guint n_blocking = 0;
  const char *tid;

  g_test_summary ("A process runner's thread leaves SIGINT and the other signals a "
                  "program handles to the program's threads; its workers do not "
                  "inherit that");

  worker_path = g_strdup_printf ("/proc/%" G_GINT64_FORMAT, tw_test_wait_int64 (future));
  g_assert_cmpuint (read_blocked_signals (worker_path), ==, main_mask);
  g_assert_cmpuint (main_mask & SIGNAL_BIT (SIGINT), ==, 0);

  tasks = g_dir_open ("/proc/self/task", 0, NULL);
  g_assert_nonnull (tasks);
  while ((tid = g_dir_read_name (tasks)) != NULL)
    {
      g_autofree char *task_path = g_build_filename ("/proc/self/task", tid, NULL);
      g_autofree char *comm_path = g_build_filename (task_path, "comm", NULL);
      g_autofree char *comm = NULL;

      if (!g_file_get_contents (comm_path, &comm, NULL, NULL) ||
          !g_str_has_prefix (comm, "tw-worker-"))
        continue;
      g_assert_cmpuint (read_blocked_signals (task_path) & SIGNAL_BIT (SIGINT), !=, 0);
      g_assert_cmpuint (read_blocked_signals (task_path) & SIGNAL_BIT (SIGTERM), !=, 0);
      n_blocking++;
    }
  g_assert_cmpuint (n_blocking, ==, 1);

  tw_test_shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

static void
test_process_inherited_fds (gconstpointer data)
{
  TwTestWorkerKind kind = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = tw_test_process_troupe_new ("fds", kind, 2);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  int leaky_pipe[2];
  int leaky_file;

  g_test_summary ("Worker processes inherit only stdin, stdout, stderr and their "
                  "two protocol pipes");

  /* Descriptors that any child would inherit unless the troupe closes
   * them: no close-on-exec. */
  g_assert_cmpint (pipe (leaky_pipe), ==, 0);
  leaky_file = open ("/dev/null", O_RDONLY);
  g_assert_cmpint (leaky_file, >=, 0);

  for (guint i = 0; i < 4; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new ("()")));

  for (guint i = 0; i < futures->len; i++)
    {
      g_autoptr(GVariant) value = tw_test_wait_value (futures->pdata[i]);
      g_autofree char *printed = g_variant_print (value, FALSE);
      const gint32 *fds;
      gsize n_fds;

      g_test_message ("worker fds: %s", printed);
      g_assert_cmpstr (g_variant_get_type_string (value), ==, "ai");
      fds = g_variant_get_fixed_array (value, &n_fds, sizeof (gint32));
      g_assert_cmpuint (n_fds, ==, 5);
      for (gint32 fd = 0; fd < 5; fd++)
        g_assert_cmpint (fds[fd], ==, fd);
    }

  tw_test_shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
  close (leaky_pipe[0]);
  close (leaky_pipe[1]);
  close (leaky_file);
}

static void
test_process_anonymous_func (void)
{
  g_autoptr(TwFuture) settled = NULL;
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func (tw_test_square_func, NULL, NULL);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(TwFuture) chained = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) chained_error = NULL;

  g_test_summary ("A troupe of an anonymous function fails its tasks with "
                  "G_IO_ERROR_NOT_SUPPORTED in process mode");

  tw_troupe_set_mode (troupe, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (troupe, 1);

  future = tw_troupe_submit (troupe, g_variant_new_int64 (3));
  error = tw_test_wait_error (future);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);

  settled = tw_future_new_for_value (g_variant_new_int64 (3));
  chained = tw_troupe_submit_future (troupe, settled);
  chained_error = tw_test_wait_error (chained);
  g_assert_error (chained_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);

  tw_test_shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

#define TW_TEST_TYPE_PARENT_ONLY_WORKER (tw_test_parent_only_worker_get_type ())
G_DECLARE_FINAL_TYPE (TwTestParentOnlyWorker, tw_test_parent_only_worker,
                      TW_TEST, PARENT_ONLY_WORKER, TwWorker)

struct _TwTestParentOnlyWorker
{
  TwWorker parent_instance;
};

G_DEFINE_FINAL_TYPE (TwTestParentOnlyWorker, tw_test_parent_only_worker, TW_TYPE_WORKER)

static GVariant *
tw_test_parent_only_worker_call (TwWorker      *worker,
                                 GVariant      *input,
                                 GCancellable  *cancellable,
                                 GError       **error)
{
  return g_variant_ref (input);
}

static void
tw_test_parent_only_worker_class_init (TwTestParentOnlyWorkerClass *klass)
{
  TW_WORKER_CLASS (klass)->call = tw_test_parent_only_worker_call;
}

static void
tw_test_parent_only_worker_init (TwTestParentOnlyWorker *self)
{
}

static void
test_process_unknown_in_child (gconstpointer data)
{
  TwTestWorkerKind kind = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = tw_test_process_troupe_new ("parent-only", kind, 1);
  g_autoptr(TwTroupe) nowhere = tw_test_process_troupe_new ("registered-nowhere", kind, 1);
  g_autoptr(TwTroupe) typed = NULL;
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(TwFuture) nowhere_future = NULL;
  g_autoptr(TwFuture) typed_future = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) nowhere_error = NULL;
  g_autoptr(GError) typed_error = NULL;

  g_test_summary ("A function or type that the worker program did not register "
                  "fails the task with TW_ERROR_UNKNOWN_FUNC or TW_ERROR_WORKER_SETUP");

  /* "parent-only" is registered after tw_init (), so only in the parent. */
  future = tw_troupe_submit (troupe, g_variant_new_int64 (3));
  error = tw_test_wait_error (future);
  g_test_message ("%s", error->message);
  g_assert_error (error, TW_ERROR, TW_ERROR_UNKNOWN_FUNC);
  tw_test_assert_contains (error->message, "parent-only");

  nowhere_future = tw_troupe_submit (nowhere, g_variant_new_int64 (3));
  nowhere_error = tw_test_wait_error (nowhere_future);
  g_assert_error (nowhere_error, TW_ERROR, TW_ERROR_UNKNOWN_FUNC);

  typed = tw_troupe_new_for_worker (TW_TEST_TYPE_PARENT_ONLY_WORKER, NULL);
  tw_troupe_set_mode (typed, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (typed, 1);
  tw_test_set_worker_program (typed, kind);
  typed_future = tw_troupe_submit (typed, g_variant_new_int64 (3));
  typed_error = tw_test_wait_error (typed_future);
  g_test_message ("%s", typed_error->message);
  g_assert_error (typed_error, TW_ERROR, TW_ERROR_WORKER_SETUP);
  tw_test_assert_contains (typed_error->message, "TwTestParentOnlyWorker");

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (nowhere, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_shutdown_and_check (typed, TW_SHUTDOWN_MODE_DRAIN);
}

#define LONG_TASK_MSEC 600

/* Runs short tasks until each of the troupe's two workers has answered
 * one: then both are started and idle. A worker that starts late leaves
 * both tasks of a round to the other. */
static void
wait_until_both_workers_answered (TwTroupe   *troupe,
                                  const char *dir)
{
  g_autofree char *pid_file = g_build_filename (dir, "warm.pid", NULL);
  gint64 deadline = g_get_monotonic_time () + TW_TEST_TIMEOUT_USEC;
  gint64 pids[2] = { 0, 0 };

  while (pids[0] == pids[1] && g_get_monotonic_time () < deadline)
    {
      g_autoptr(TwFuture) first = tw_troupe_submit (troupe, g_variant_new ("(ts)", (guint64)50,
                                                                         pid_file));
      g_autoptr(TwFuture) second = tw_troupe_submit (troupe, g_variant_new ("(ts)", (guint64)50,
                                                                          pid_file));

      pids[0] = tw_test_wait_int64 (first);
      pids[1] = tw_test_wait_int64 (second);
    }
  g_assert_cmpint (pids[0], !=, pids[1]);
}

static void
test_process_parallel (gconstpointer data)
{
  TwTestWorkerKind kind = GPOINTER_TO_INT (data);
  g_autofree char *dir = tw_test_make_temp_dir ("process");
  g_autoptr(TwTroupe) troupe = tw_test_process_troupe_new ("sleep", kind, 2);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 start, first_started = 0, last_started = 0, elapsed;
  GPid pids[2];

  g_test_summary ("Two long tasks on a troupe of two idle workers run at the same "
                  "time, one on each worker process");

  wait_until_both_workers_answered (troupe, dir);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *name = g_strdup_printf ("long-%u.pid", i);
      g_autofree char *pid_file = g_build_filename (dir, name, NULL);

      g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new ("(ts)",
                                                                         (guint64)LONG_TASK_MSEC,
                                                                         pid_file)));
    }

  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *name = g_strdup_printf ("long-%u.pid", i);
      g_autofree char *pid_file = g_build_filename (dir, name, NULL);
      gint64 started;

      tw_test_wait_pid_file (pid_file);
      started = g_get_monotonic_time () - start;
      first_started = i == 0 ? started : MIN (first_started, started);
      last_started = MAX (last_started, started);
    }

  pids[0] = tw_test_wait_int64 (futures->pdata[0]);
  pids[1] = tw_test_wait_int64 (futures->pdata[1]);
  elapsed = g_get_monotonic_time () - start;
  g_test_message ("the tasks started after %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT
                  " ms, on processes %d and %d; both done after %" G_GINT64_FORMAT " ms",
                  first_started / 1000, last_started / 1000, (int)pids[0], (int)pids[1],
                  elapsed / 1000);

  /* Serially, on one process, they would take twice as long. */
  if (pids[0] == pids[1] || last_started >= LONG_TASK_MSEC * 1000 / 2 ||
      elapsed >= LONG_TASK_MSEC * 1000 * 3 / 2)
    g_test_fail_printf ("Two %d ms tasks on two idle workers ran one after the other on "
                        "worker process %d (the second started after %" G_GINT64_FORMAT
                        " ms, both done after %" G_GINT64_FORMAT " ms); the other worker "
                        "stayed idle", LONG_TASK_MSEC, (int)pids[0], last_started / 1000,
                        elapsed / 1000);

  tw_test_shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_remove_dir (dir);
}

int
main (int   argc,
      char *argv[])
{
  tw_test_process_serve ();

  /* Registered after tw_init (), so only in this process, never in a
   * worker re-executed from it. */
  tw_register_func ("parent-only", tw_test_echo_func, NULL, NULL);
  g_type_ensure (TW_TEST_TYPE_PARENT_ONLY_WORKER);

  tw_test_process_init (&argc, &argv);

  tw_test_add_kind_test ("/process/lifecycle/worker-type-set-up-once-per-process",
                         test_process_worker_type);
  tw_test_add_kind_test ("/process/lifecycle/setup-failures-back-off-then-fail-all",
                         test_process_setup_failure);
  tw_test_add_kind_test ("/process/lifecycle/shutdown-leaves-no-process-or-fd",
                         test_process_no_leaks);
  tw_test_add_kind_test ("/process/lifecycle/workers-inherit-only-their-fds",
                         test_process_inherited_fds);
  g_test_add_func ("/process/lifecycle/runner-leaves-signals-to-the-program",
                   test_process_signal_mask);
  g_test_add_func ("/process/lifecycle/anonymous-func-not-supported",
                   test_process_anonymous_func);
  tw_test_add_kind_test ("/process/lifecycle/unregistered-in-worker-fails-task",
                         test_process_unknown_in_child);
  tw_test_add_kind_test ("/process/lifecycle/idle-workers-run-tasks-in-parallel",
                         test_process_parallel);

  return g_test_run ();
}
