/* test-faults.c
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
 * Fault injection (issue #14): worker processes that die by every kind
 * at every stage, descendants that hold the protocol pipes, values nested
 * too deep, and too few file descriptors. This program is its own worker
 * (the default worker argv re-executes it). Nothing may crash or hang the
 * application or fail a task that did nothing wrong.
 */

#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "tw-fault-worker.h"
#include "tw-test-util.h"

/* A crash must be reported this soon, even on a busy machine. The issue
 * asks for 1 s on an idle one; the times are printed. */
#define REPORT_BOUND_USEC (3 * G_USEC_PER_SEC)

static guint n_tasks;  /* tasks whose outcome a test checked */

static TwTroupe *
new_process_troupe (TwTroupe *troupe)
{
  tw_troupe_set_mode (troupe, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (troupe, 1);

  return troupe;
}

static TwTroupe *
new_fault_troupe (const char *kind,
                  const char *stage)
{
  g_autoptr(GVariantBuilder) props = g_variant_builder_new (G_VARIANT_TYPE_VARDICT);

  g_variant_builder_add (props, "{sv}", "kind", g_variant_new_string (kind));
  g_variant_builder_add (props, "{sv}", "stage", g_variant_new_string (stage));

  return new_process_troupe (tw_troupe_new_for_worker (TW_FAULT_TYPE_WORKER,
                                                       g_variant_builder_end (props)));
}

static void
assert_message_contains (const GError *error,
                         const char   *needle)
{
  if (strstr (error->message, needle) == NULL)
    g_error ("Expected “%s” in the error message “%s”", needle, error->message);
}

static void
expect_error (TwFuture   *future,
              GQuark      domain,
              int         code,
              const char *needle)
{
  g_autoptr(GError) error = tw_test_wait_error (future);

  g_test_message ("%s", error->message);
  g_assert_error (error, domain, code);
  if (needle != NULL)
    assert_message_contains (error, needle);
  n_tasks++;
}

static void
expect_bytes (TwFuture *future,
              gsize     size)
{
  g_autoptr(GVariant) value = tw_test_wait_value (future);

  g_assert_cmpstr (g_variant_get_type_string (value), ==, "ay");
  g_assert_cmpuint (g_variant_n_children (value), ==, size);
  n_tasks++;
}

static void
expect_length (TwFuture *future,
               guint64   length)
{
  g_autoptr(GVariant) value = tw_test_wait_value (future);

  g_assert_cmpuint (g_variant_get_uint64 (value), ==, length);
  n_tasks++;
}

static GVariant *
new_big_input (void)
{
  g_autoptr(GBytes) bytes = g_bytes_new_take (g_malloc0 (TW_FAULT_BIG_SIZE), TW_FAULT_BIG_SIZE);

  return g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, bytes, TRUE);
}

static GVariant *
new_small_input (void)
{
  return g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "abc", 3, 1);
}

typedef struct
{
  const char *kind;
  const char *how;  /* in the error message */
} CrashKind;

static const CrashKind crash_kinds[] = {
  { "abort", "signal 6" },
  { "segv", "signal 11" },
  { "exit0", "status 0" },
  { "exit42", "status 42" },
  { "sigkill", "signal 9" },
};

static const char * const crash_stages[] = {
  "setup", "input", "running", "output", "after-result", "teardown",
};

typedef struct
{
  const CrashKind *kind;
  const char      *stage;
} CrashCase;

static CrashCase crash_cases[G_N_ELEMENTS (crash_kinds) * G_N_ELEMENTS (crash_stages)];

/* The fault worker dies at a stage by watching /proc/self/io (reading a
 * large input, after its answer is written) or its thread's wchan
 * (blocked writing a large output); a kernel without task I/O accounting,
 * or that hides wchan, cannot say when. */
static gboolean
proc_io_counts (void)
{
  g_autofree char *contents = NULL;

  return g_file_get_contents ("/proc/self/io", &contents, NULL, NULL) &&
         strstr (contents, "rchar: ") != NULL && strstr (contents, "wchar: ") != NULL;
}

typedef struct
{
  int  fd;
  gint tid;  /* atomic: set once the thread is about to write */
} BlockedWriter;

static gpointer
blocked_writer_thread (gpointer data)
{
  BlockedWriter *writer = data;
  G_GNUC_UNUSED gssize n;

  g_atomic_int_set (&writer->tid, (gint)syscall (SYS_gettid));
  n = write (writer->fd, "x", 1);

  return NULL;
}

/* Whether a thread blocked writing to a full pipe shows pipe_write in its
 * wchan, as the fault worker expects. */
static gboolean
proc_wchan_names_pipe_write (void)
{
  BlockedWriter writer = { -1, 0 };
  g_autofree char *path = NULL;
  gboolean named = FALSE;
  GThread *thread;
  char buffer[65536];
  int fds[2];

  if (pipe (fds) < 0)
    return FALSE;

  /* Fill the pipe, then let a thread block on one more byte. */
  fcntl (fds[1], F_SETFL, O_NONBLOCK);
  while (write (fds[1], buffer, sizeof buffer) > 0)
    ;
  fcntl (fds[1], F_SETFL, 0);
  writer.fd = fds[1];
  thread = g_thread_new ("blocked-writer", blocked_writer_thread, &writer);
  while (g_atomic_int_get (&writer.tid) == 0)
    g_usleep (100);
  path = g_strdup_printf ("/proc/self/task/%d/wchan", g_atomic_int_get (&writer.tid));

  for (guint i = 0; i < 1000 && !named; i++)
    {
      g_autofree char *contents = NULL;

      named = g_file_get_contents (path, &contents, NULL, NULL) &&
              strstr (contents, "pipe_write") != NULL;
      if (!named)
        g_usleep (1000);
    }

  while (read (fds[0], buffer, sizeof buffer) == sizeof buffer)
    ;
  g_thread_join (thread);
  close (fds[0]);
  close (fds[1]);

  return named;
}

/* The answer the after-result stage sends before dying. */
#define AFTER_RESULT_SIZE 4096

/* Why a stage cannot be tested here, or NULL. */
static const char *
stage_skip_reason (const char *stage)
{
  if ((g_str_equal (stage, "input") || g_str_equal (stage, "after-result")) &&
      !proc_io_counts ())
    return "/proc/self/io has no rchar and wchar counts (a kernel without "
           "CONFIG_TASK_IO_ACCOUNTING), which the fault worker watches to die at this stage";
  if (g_str_equal (stage, "output") && !proc_wchan_names_pipe_write ())
    return "/proc/self/task/TID/wchan does not name pipe_write for a thread blocked "
           "writing to a pipe, which the fault worker watches to die at this stage";

  return NULL;
}

/* Each stage fails the task that the worker ran, if any, with what ended
 * it; the next task then runs in a new worker. Dying after its answer is
 * sent, the worker may have been sent the next task, without retries:
 * that one goes to the next worker, as nothing says it started it. */
static void
test_faults_crash (gconstpointer data)
{
  const CrashCase *crash = data;
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) first = NULL;
  g_autoptr(TwFuture) next = NULL;
  const char *stage = crash->stage;
  const char *skip_reason = stage_skip_reason (stage);

  g_test_summary ("A worker that dies at any stage fails only the task it ran, "
                  "with an error that says how it died; the troupe goes on");

  if (skip_reason != NULL)
    {
      g_test_skip (skip_reason);
      return;
    }
  troupe = new_fault_troupe (crash->kind->kind, crash->stage);

  if (g_str_equal (stage, "setup"))
    {
      g_autoptr(GError) error = NULL;

      first = tw_troupe_submit (troupe, g_variant_new_int32 (16));
      error = tw_test_wait_error (first);
      g_test_message ("%s", error->message);
      g_assert_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP);
      assert_message_contains (error, crash->kind->how);
      assert_message_contains (error, "while it set up");
      g_assert_null (strstr (error->message, "tw_init"));
      n_tasks++;
    }
  else if (g_str_equal (stage, "input"))
    {
      first = tw_troupe_submit (troupe, new_big_input ());
      expect_error (first, TW_ERROR, TW_ERROR_WORKER_CRASHED, crash->kind->how);
    }
  else if (g_str_equal (stage, "running") || g_str_equal (stage, "output"))
    {
      first = tw_troupe_submit (troupe, g_variant_new_int32 (g_str_equal (stage, "output")
                                                             ? TW_FAULT_BIG_SIZE : 16));
      expect_error (first, TW_ERROR, TW_ERROR_WORKER_CRASHED, crash->kind->how);
    }
  else if (g_str_equal (stage, "after-result"))
    {
      /* Both in the pipeline of the one worker. The worker dies once it
       * wrote more than the answer's payload: the small frames it may
       * write first (STARTED) stay far below 4 KiB. */
      tw_troupe_set_n_workers (troupe, 1);
      first = tw_troupe_submit (troupe, g_variant_new_int32 (AFTER_RESULT_SIZE));
      next = tw_troupe_submit (troupe, new_small_input ());
      expect_bytes (first, AFTER_RESULT_SIZE);
    }
  else
    {
      first = tw_troupe_submit (troupe, g_variant_new_int32 (16));
      expect_bytes (first, 16);
    }

  if (!g_str_equal (stage, "setup"))
    {
      if (next == NULL)
        next = tw_troupe_submit (troupe, new_small_input ());
      expect_length (next, 3);
    }

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

/* Runs a task that aborts while a descendant holds the worker's pipes,
 * and returns how long its failure took to report. */
static gint64
crash_with_descendant (TwTroupe   *troupe,
                       GVariant   *input)
{
  g_autoptr(TwFuture) future = NULL;
  gint64 start = g_get_monotonic_time ();
  gint64 elapsed;

  future = tw_troupe_submit (troupe, input);
  expect_error (future, TW_ERROR, TW_ERROR_WORKER_CRASHED, "signal 6");
  elapsed = g_get_monotonic_time () - start;
  g_test_message ("the crash was reported after %" G_GINT64_FORMAT " ms", elapsed / 1000);
  g_assert_cmpint (elapsed, <, REPORT_BOUND_USEC);

  return elapsed;
}

static void
test_faults_grandchild (gconstpointer data)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) next = NULL;

  g_test_summary ("A worker that dies while a process it started lives on is "
                  "reported at once, whether or not that process holds its pipes");

  troupe = new_process_troupe (tw_troupe_new_for_func_name ("grandchild"));
  crash_with_descendant (troupe, g_variant_new_string (data));

  /* The troupe goes on with a new worker. */
  next = tw_troupe_submit (troupe, g_variant_new_string ("fork"));
  expect_error (next, TW_ERROR, TW_ERROR_WORKER_CRASHED, "signal 6");
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

static void
test_faults_launcher_background (void)
{
  const char *launcher[] = { "sh", "-c", "sleep 20 & exec \"$@\"", "sh", NULL };
  g_autoptr(TwTroupe) troupe = new_fault_troupe ("abort", "running");
  g_autoptr(TwFuture) ok = NULL;
  g_autoptr(TwFuture) crash = NULL;
  g_autoptr(TwFuture) next = NULL;
  gint64 start;

  g_test_summary ("A worker started through a launcher that leaves a background "
                  "process is reported dead at once, and the troupe shuts down");

  tw_troupe_set_launcher (troupe, launcher);
  ok = tw_troupe_submit (troupe, new_small_input ());
  expect_length (ok, 3);

  start = g_get_monotonic_time ();
  crash = tw_troupe_submit (troupe, g_variant_new_int32 (1));
  expect_error (crash, TW_ERROR, TW_ERROR_WORKER_CRASHED, "signal 6");
  g_test_message ("the crash was reported after %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - start) / 1000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, REPORT_BOUND_USEC);

  next = tw_troupe_submit (troupe, new_small_input ());
  expect_length (next, 3);

  start = g_get_monotonic_time ();
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpint (g_get_monotonic_time () - start, <, REPORT_BOUND_USEC);
}

/* Where pidfd_open() fails (an old kernel, a seccomp filter), the death
 * of a worker whose pipes a descendant holds is seen by polling it, and
 * a launched worker's stderr thread ends once the launcher is reaped. */
static void
test_faults_no_pidfd (gconstpointer data)
{
  g_setenv ("TW_TEST_NO_PIDFD", "1", TRUE);
  if (g_str_equal (data, "launcher"))
    test_faults_launcher_background ();
  else
    test_faults_grandchild (data);
  g_unsetenv ("TW_TEST_NO_PIDFD");
}

/* @depth variants around an int32. */
static GVariant *
new_nested_variant (guint depth)
{
  GVariant *value = g_variant_new_int32 (7);

  for (guint i = 0; i < depth; i++)
    value = g_variant_new_variant (value);

  return value;
}

/* An empty array of @depth levels of arrays of bytes. */
static GVariant *
new_nested_array (guint depth)
{
  g_autofree char *type = g_strnfill (depth, 'a');
  g_autofree char *element = g_strconcat (type + 1, "y", NULL);

  return g_variant_new_array (G_VARIANT_TYPE (element), NULL, 0);
}

static void
expect_too_deep (TwTroupe *troupe,
                 GVariant *value)
{
  g_autoptr(TwFuture) future = tw_troupe_submit (troupe, value);

  /* Refused at submit: settled before any worker saw it. */
  g_assert_true (tw_future_is_done (future));
  expect_error (future, TW_ERROR, TW_ERROR_UNSERIALIZABLE, "126 levels");
}

static void
expect_same (TwTroupe *troupe,
             GVariant *value)
{
  g_autoptr(GVariant) input = g_variant_ref_sink (value);
  g_autoptr(TwFuture) future = tw_troupe_submit (troupe, input);
  g_autoptr(GVariant) output = tw_test_wait_value (future);

  g_assert_true (g_variant_equal (input, output));
  n_tasks++;
}

static void
test_faults_deep_values (gconstpointer data)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func_name ("identity");

  g_test_summary ("Both modes take values nested up to 126 levels and refuse "
                  "deeper ones at submit with TW_ERROR_UNSERIALIZABLE");

  if (GPOINTER_TO_INT (data) == TW_TROUPE_MODE_PROCESS)
    new_process_troupe (troupe);

  expect_same (troupe, new_nested_variant (125));
  expect_same (troupe, new_nested_array (125));
  expect_same (troupe, g_variant_new ("(iv)", 1, new_nested_variant (123)));
  expect_too_deep (troupe, new_nested_variant (126));
  expect_too_deep (troupe, new_nested_array (126));
  expect_too_deep (troupe, g_variant_new ("(iv)", 1, new_nested_variant (124)));
  /* Deep enough to overflow a stack if anything recursed all the way. */
  expect_too_deep (troupe, new_nested_variant (10000));
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

static void
test_faults_deep_outputs (gconstpointer data)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func_name ("wrap");
  g_autoptr(TwFuture) fits = NULL;
  g_autoptr(TwFuture) too_deep = NULL;
  g_autoptr(GVariant) output = NULL;

  g_test_summary ("Both modes refuse a worker's output nested deeper than 126 "
                  "levels with TW_ERROR_UNSERIALIZABLE, and give back the rest");

  if (GPOINTER_TO_INT (data) == TW_TROUPE_MODE_PROCESS)
    new_process_troupe (troupe);

  fits = tw_troupe_submit (troupe, new_nested_variant (124));
  too_deep = tw_troupe_submit (troupe, new_nested_variant (125));

  output = tw_test_wait_value (fits);
  g_assert_cmpstr (g_variant_get_type_string (output), ==, "v");
  expect_error (too_deep, TW_ERROR, TW_ERROR_UNSERIALIZABLE, "126 levels");
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

static void
test_faults_no_tw_init (void)
{
  const char *argv[] = { "true", NULL };
  g_autoptr(TwTroupe) troupe = new_process_troupe (tw_troupe_new_for_func_name ("identity"));
  g_autoptr(TwFuture) future = NULL;

  g_test_summary ("A worker program that exits without reading what to run is "
                  "asked whether it calls tw_init()");

  tw_troupe_set_worker_argv (troupe, argv);
  future = tw_troupe_submit (troupe, g_variant_new_int32 (1));
  expect_error (future, TW_ERROR, TW_ERROR_WORKER_SETUP, "call tw_init");
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

static guint
count_open_fds (void)
{
  DIR *dir = opendir ("/proc/self/fd");
  guint n = 0;

  g_assert_nonnull (dir);
  while (readdir (dir) != NULL)
    n++;
  closedir (dir);

  /* ".", ".." and the directory's own fd. */
  return n - 3;
}

static void
set_fd_limit (rlim_t limit)
{
  struct rlimit rlimit;

  g_assert_no_errno (getrlimit (RLIMIT_NOFILE, &rlimit));
  rlimit.rlim_cur = limit;
  g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &rlimit));
}

/* In a subprocess: 40 workers, fds for about a third of them. */
static void
run_fds_some (void)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func_name ("pid");
  g_autoptr(GHashTable) pids = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);

  set_fd_limit (count_open_fds () + 40);
  new_process_troupe (troupe);
  tw_troupe_set_n_workers (troupe, 40);

  for (guint i = 0; i < 400; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int32 (i)));
  for (guint i = 0; i < futures->len; i++)
    {
      g_autoptr(GVariant) pid = tw_test_wait_value (futures->pdata[i]);

      g_hash_table_add (pids, g_memdup2 (g_variant_get_data (pid), sizeof (gint64)));
    }

  g_test_message ("400 tasks ran on %u worker processes", g_hash_table_size (pids));
  g_assert_cmpuint (g_hash_table_size (pids), >, 0);
  g_assert_cmpuint (g_hash_table_size (pids), <, 40);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

/* In a subprocess: no fd to spare for any worker. */
static void
run_fds_none (void)
{
  g_autoptr(TwTroupe) troupe = new_process_troupe (tw_troupe_new_for_func_name ("pid"));
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;

  set_fd_limit (count_open_fds () + 1);
  future = tw_troupe_submit (troupe, g_variant_new_int32 (1));
  error = tw_test_wait_error (future);
  g_test_message ("%s", error->message);
  g_assert_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP);
  assert_message_contains (error, "RLIMIT_NOFILE");
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

static void
test_faults_fds (gconstpointer data)
{
  g_test_summary ("Running out of file descriptors never aborts: a worker that "
                  "cannot start says why, and the workers that did start serve");

  if (g_test_subprocess ())
    {
      if (g_str_equal (data, "some"))
        run_fds_some ();
      else
        run_fds_none ();
      return;
    }

  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  n_tasks += g_str_equal (data, "some") ? 400 : 1;
}

/* The children of this process, zombies included. */
static guint
count_children (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc", name, "stat", NULL);
      g_autofree char *stat = NULL;
      const char *end;
      int parent;

      if (!g_ascii_isdigit (*name) || !g_file_get_contents (path, &stat, NULL, NULL) ||
          (end = strrchr (stat, ')')) == NULL)
        continue;
      if (sscanf (end + 2, "%*c %d", &parent) == 1 && parent == getpid ())
        n++;
    }

  return n;
}

/* TW_FAULTS_LIFECYCLES troupes (100 by default) are made, used and shut
 * down one after the other. */
static void
test_faults_lifecycles (gconstpointer data)
{
  guint n = g_ascii_strtoull (g_getenv ("TW_FAULTS_LIFECYCLES") ?: "100", NULL, 10);
  guint n_fds = 0;
  guint n_threads = 0;
  gint64 start = g_get_monotonic_time ();

  g_test_summary ("Troupes made, used and shut down one after the other leave no "
                  "file descriptor, thread or child process behind");

  /* The first one makes what GLib keeps for good (the default main
   * context's wakeup fd, its worker thread): count after it. */
  for (guint i = 0; i <= n; i++)
    {
      g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func_name ("identity");
      g_autoptr(TwFuture) future = NULL;

      if (i == 1)
        {
          n_fds = count_open_fds ();
          n_threads = tw_test_count_threads ();
        }
      tw_troupe_set_mode (troupe, GPOINTER_TO_INT (data));
      tw_troupe_set_n_workers (troupe, 2);
      future = tw_troupe_submit (troupe, g_variant_new_int32 (i));
      g_assert_cmpint (tw_test_wait_value_int32 (future), ==, i);
      tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
    }

  g_test_message ("%u lifecycles in %" G_GINT64_FORMAT " ms", n,
                  (g_get_monotonic_time () - start) / 1000);
  g_assert_cmpuint (count_open_fds (), ==, n_fds);
  /* The count taken after the first troupe may include one of its joined
   * threads still listed in /proc: none may be left beyond it. */
  g_assert_cmpuint (tw_test_wait_for_n_threads (n_threads), <=, n_threads);
  g_assert_cmpuint (count_children (), ==, 0);
  n_tasks += n;
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  tw_fault_register ();
  tw_init ();

  g_test_init (&argc, &argv, NULL);
  g_test_bug_base ("https://example.invalid/tiny-worker/issues/");
  g_test_bug ("14");

  for (guint i = 0; i < G_N_ELEMENTS (crash_kinds); i++)
    for (guint j = 0; j < G_N_ELEMENTS (crash_stages); j++)
      {
        CrashCase *crash = &crash_cases[i * G_N_ELEMENTS (crash_stages) + j];
        g_autofree char *path = g_strdup_printf ("/faults/crash/%s/%s",
                                                 crash_kinds[i].kind, crash_stages[j]);

        crash->kind = &crash_kinds[i];
        crash->stage = crash_stages[j];
        g_test_add_data_func (path, crash, test_faults_crash);
      }
  g_test_add_data_func ("/faults/grandchild/system", "system", test_faults_grandchild);
  g_test_add_data_func ("/faults/grandchild/fork", "fork", test_faults_grandchild);
  g_test_add_data_func ("/faults/no-pidfd/grandchild", "fork", test_faults_no_pidfd);
  g_test_add_data_func ("/faults/no-pidfd/launcher-background", "launcher",
                        test_faults_no_pidfd);
  g_test_add_func ("/faults/launcher-background", test_faults_launcher_background);
  g_test_add_func ("/faults/no-tw-init", test_faults_no_tw_init);
  tw_test_add_mode_test ("/faults/deep-values", test_faults_deep_values);
  tw_test_add_mode_test ("/faults/deep-outputs", test_faults_deep_outputs);
  tw_test_add_mode_test ("/faults/lifecycles", test_faults_lifecycles);
  g_test_add_data_func ("/faults/fds/some", "some", test_faults_fds);
  g_test_add_data_func ("/faults/fds/none", "none", test_faults_fds);

  ret = g_test_run ();
  if (!g_test_subprocess ())
    g_test_message ("faults: %u task outcomes checked", n_tasks);

  return ret;
}
