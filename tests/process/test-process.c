/* test-process.c
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
 * The process-mode test suite (issue #4).
 *
 * This program is also a worker program: a troupe with no
 * TwTroupe:worker-argv runs it again with its own arguments, and then
 * main() must reach tw_init() with the same functions and types
 * registered, before g_test_init() sees the arguments. Other tests name
 * tw-test-worker in TwTroupe:worker-argv instead, and tw-fake-worker
 * breaks the protocol on purpose. Both paths come from the environment
 * (TW_TEST_WORKER, TW_FAKE_WORKER, set by meson), or else are looked up
 * next to this program. The stdin/stdout transport test speaks to a
 * worker program through the library's private wire functions.
 *
 * Tests that show a library bug report it with g_test_fail_printf() and
 * go on, so that one bug does not hide the others (meson runs this with
 * --keep-going).
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>

#include "tw-process-funcs.h"
#include "tw-wire-private.h"

/* How long a test waits for something that should happen soon. Only a
 * broken library reaches it: it turns a hang into a failure. */
#define TIMEOUT_USEC (30 * G_USEC_PER_SEC)

/* How long a test waits for something that the library is expected to
 * do in bounded time, but that may hang when it is broken. */
#define BOUNDED_USEC (10 * G_USEC_PER_SEC)

static char *test_worker_path;
static char *fake_worker_path;
static char *self_path;

/* Which worker program a test runs. */
typedef enum
{
  WORKER_SELF,     /* the default: this program, re-executed */
  WORKER_PROGRAM,  /* tw-test-worker, through TwTroupe:worker-argv */
} WorkerKind;

/* Helpers ------------------------------------------------------------------ */

static void
set_worker_program (TwTroupe   *troupe,
                    WorkerKind  kind)
{
  if (kind == WORKER_PROGRAM)
    {
      const char *argv[] = { test_worker_path, NULL };

      tw_troupe_set_worker_argv (troupe, argv);
    }
}

static TwTroupe *
new_troupe_for_func (const char *name,
                     WorkerKind  kind,
                     guint       n_workers)
{
  TwTroupe *troupe = tw_troupe_new_for_func_name (name);

  tw_troupe_set_mode (troupe, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (troupe, n_workers);
  set_worker_program (troupe, kind);

  return troupe;
}

static TwTroupe *
new_troupe_for_fake (const char *mode,
                     const char *state_file)
{
  const char *argv[] = { fake_worker_path, mode, state_file, NULL };
  TwTroupe *troupe = tw_troupe_new_for_func_name ("echo");

  tw_troupe_set_mode (troupe, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (troupe, 1);
  tw_troupe_set_cancel_grace_period (troupe, 200);
  tw_troupe_set_worker_argv (troupe, argv);

  return troupe;
}

static GVariant *
wait_value (TwFuture *future)
{
  g_autoptr(GError) error = NULL;
  GVariant *value = tw_future_wait (future, TIMEOUT_USEC, &error);

  g_assert_no_error (error);
  g_assert_nonnull (value);

  return value;
}

static gint64
wait_int64 (TwFuture *future)
{
  g_autoptr(GVariant) value = wait_value (future);

  g_assert_true (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64));

  return g_variant_get_int64 (value);
}

static GError *
wait_error (TwFuture *future)
{
  GError *error = NULL;
  g_autoptr(GVariant) value = tw_future_wait (future, TIMEOUT_USEC, &error);

  g_assert_null (value);
  g_assert_nonnull (error);
  g_assert_false (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));

  return error;
}

static void
assert_message_contains (const GError *error,
                         const char   *needle)
{
  if (strstr (error->message, needle) == NULL)
    g_error ("Expected “%s” in the error message “%s”", needle, error->message);
}

/* Waits for a pid file written by "sleep" or "ignore-cancel". */
static GPid
wait_pid_file (const char *path)
{
  gint64 end_time = g_get_monotonic_time () + TIMEOUT_USEC;

  while (g_get_monotonic_time () < end_time)
    {
      g_autofree char *contents = NULL;

      if (g_file_get_contents (path, &contents, NULL, NULL))
        return (GPid)g_ascii_strtoll (contents, NULL, 10);
      g_usleep (2000);
    }

  g_error ("No pid file %s appeared", path);
}

static char *
make_temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("tw-test-process-XXXXXX", &error);

  g_assert_no_error (error);

  return dir;
}

static void
remove_temp_dir (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

/* Reads the state and parent of a process from /proc; FALSE if there is
 * no such process. */
static gboolean
read_proc_stat (GPid  pid,
                char *state,
                GPid *ppid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int)pid);
  g_autofree char *contents = NULL;
  const char *end;
  int parent;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;

  /* "pid (comm) state ppid ...", where comm may hold anything. */
  end = strrchr (contents, ')');
  if (end == NULL || sscanf (end + 1, " %c %d", state, &parent) != 2)
    return FALSE;
  *ppid = parent;

  return TRUE;
}

/* A zombie has exited: it only waits for its parent to reap it. */
static gboolean
process_is_running (GPid pid)
{
  char state;
  GPid ppid;

  return read_proc_stat (pid, &state, &ppid) && state != 'Z' && state != 'X';
}

/* Whether every thread of the process has exited, and so closed its file
 * descriptors. Its main thread turns zombie as soon as it exits, while
 * the others may still hold the process's files for a moment. */
static gboolean
process_is_gone (GPid pid)
{
  g_autofree char *tasks_path = g_strdup_printf ("/proc/%d/task", (int)pid);
  g_autoptr(GDir) tasks = NULL;
  guint n_tasks = 0;

  if (process_is_running (pid))
    return FALSE;

  tasks = g_dir_open (tasks_path, 0, NULL);
  while (tasks != NULL && g_dir_read_name (tasks) != NULL)
    n_tasks++;

  return n_tasks <= 1;
}

/* The pids of every child of @parent, from a scan of /proc. */
static GArray *
list_children (GPid parent)
{
  GArray *children = g_array_new (FALSE, FALSE, sizeof (GPid));
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *name;

  g_assert_nonnull (dir);

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      guint64 pid;
      GPid ppid;
      char state;

      if (!g_ascii_string_to_unsigned (name, 10, 1, G_MAXINT, &pid, NULL))
        continue;
      if (read_proc_stat (pid, &state, &ppid) && ppid == parent)
        {
          GPid child = pid;

          g_array_append_val (children, child);
        }
    }

  return children;
}

/* No child process is left, running or zombie: the troupe reaped every
 * worker it started. */
static void
assert_no_children (void)
{
  g_autoptr(GArray) children = list_children (getpid ());
  pid_t ret;

  for (guint i = 0; i < children->len; i++)
    g_test_message ("left-over child process %d", (int)g_array_index (children, GPid, i));
  g_assert_cmpuint (children->len, ==, 0);

  errno = 0;
  ret = waitpid (-1, NULL, WNOHANG);
  g_assert_cmpint (ret, ==, -1);
  g_assert_cmpint (errno, ==, ECHILD);
}

static guint
count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);

  while (g_dir_read_name (dir) != NULL)
    n++;

  /* Without the one that reads the directory. */
  return n - 1;
}

static void
shutdown_and_check (TwTroupe       *troupe,
                    TwShutdownMode  mode)
{
  tw_troupe_shutdown (troupe, mode);
  assert_no_children ();
}

typedef struct
{
  TwTroupe       *troupe;
  TwShutdownMode  mode;
  GThread        *thread;
  gint            done;
} ShutdownThread;

static gpointer
shutdown_thread (gpointer data)
{
  ShutdownThread *st = data;

  tw_troupe_shutdown (st->troupe, st->mode);
  g_atomic_int_set (&st->done, TRUE);

  return NULL;
}

/* Shuts @troupe down in another thread, so that the test can give up
 * waiting for a shutdown that hangs. */
static ShutdownThread *
shutdown_start (TwTroupe       *troupe,
                TwShutdownMode  mode)
{
  ShutdownThread *st = g_new0 (ShutdownThread, 1);

  st->troupe = g_object_ref (troupe);
  st->mode = mode;
  st->thread = g_thread_new ("shutdown", shutdown_thread, st);

  return st;
}

/* Waits at most @usec for the shutdown to finish. Returns TRUE, and frees
 * @st, if it did. */
static gboolean
shutdown_wait (ShutdownThread *st,
               gint64          usec)
{
  gint64 end_time = g_get_monotonic_time () + usec;

  while (!g_atomic_int_get (&st->done) && g_get_monotonic_time () < end_time)
    g_usleep (5000);

  if (!g_atomic_int_get (&st->done))
    return FALSE;

  g_thread_join (st->thread);
  g_object_unref (st->troupe);
  g_free (st);

  return TRUE;
}

/* Shuts @troupe down, or fails the test if that takes longer than @usec. */
static void
shutdown_bounded (TwTroupe       *troupe,
                  TwShutdownMode  mode,
                  gint64          usec)
{
  if (!shutdown_wait (shutdown_start (troupe, mode), usec))
    g_error ("The troupe did not shut down within %" G_GINT64_FORMAT " s",
             usec / G_USEC_PER_SEC);
}

/* Kills the fake workers started in @mode, to unblock a troupe that waits
 * for them after a test failed. */
static void
kill_fake_workers (const char *mode)
{
  g_autoptr(GArray) children = list_children (getpid ());

  for (guint i = 0; i < children->len; i++)
    {
      GPid pid = g_array_index (children, GPid, i);
      g_autofree char *path = g_strdup_printf ("/proc/%d/cmdline", (int)pid);
      g_autofree char *cmdline = NULL;
      gsize length;

      /* "program\0mode\0...": the mode is the second argument. */
      if (g_file_get_contents (path, &cmdline, &length, NULL) &&
          strstr (cmdline, "tw-fake-worker") != NULL &&
          strlen (cmdline) + 1 < length &&
          g_str_equal (cmdline + strlen (cmdline) + 1, mode))
        kill (pid, SIGKILL);
    }
}

/* Runs "pid" and returns the pid of the worker that ran it. */
static GPid
run_pid_task (TwTroupe *troupe)
{
  g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new ("()"));

  return wait_int64 (future);
}

/* Values ------------------------------------------------------------------- */

/* tw_troupe_submit() sinks a floating input and takes a reference of its
 * own on any other: the tests pass the values they keep as they are. */

static GVariant *
make_bytes (gsize size)
{
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8)((i * 13 + i / 1021) & 0xff);

  return g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size, TRUE, g_free, data);
}

static GPtrArray *
make_values (void)
{
  GPtrArray *values = g_ptr_array_new_with_free_func ((GDestroyNotify)g_variant_unref);
  g_autoptr(GVariantBuilder) dict = g_variant_builder_new (G_VARIANT_TYPE_VARDICT);
  const char *strv[] = { "a", "", "ünïcödé ✓", "with\nnewline", NULL };

  g_variant_builder_add (dict, "{sv}", "answer", g_variant_new_int32 (42));
  g_variant_builder_add (dict, "{sv}", "name", g_variant_new_string ("tiny"));
  g_variant_builder_add (dict, "{sv}", "nested",
                         g_variant_new_variant (g_variant_new ("(bd)", TRUE, -0.25)));

  /* Scalars. */
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_boolean (TRUE)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_byte (0xfe)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_int16 (-12345)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_int32 (G_MININT32 + 7)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_int64 (G_MININT64 + 3)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_uint64 (G_MAXUINT64 - 5)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_double (3.14159265358979)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_double (-0.0)));

  /* Strings. */
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_string ("")));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_string ("ünïcödé ✓ \u2603")));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_object_path ("/org/example/Tw")));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_signature ("a{sv}")));

  /* Containers. */
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_strv (strv, -1)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_builder_end (dict)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new ("(ixsmsmi)", -1,
                                                               G_GINT64_CONSTANT (1) << 40,
                                                               "tuple", NULL, TRUE, 5)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new ("()")));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_variant (
                             g_variant_new_variant (g_variant_new_int32 (1)))));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("(sa{sv})"),
                                                                     NULL, 0)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_parsed ("[[1, 2], [], [3]]")));

  /* Bytes. */
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_bytestring ("")));
  g_ptr_array_add (values, g_variant_ref_sink (make_bytes (1024 * 1024)));

  return values;
}

static void
test_process_values (gconstpointer data)
{
  WorkerKind kind = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = new_troupe_for_func ("echo", kind, 2);
  g_autoptr(GPtrArray) values = make_values ();
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);

  g_test_summary ("Scalars, strings, containers and byte arrays cross to a worker "
                  "process and back unchanged");

  for (guint i = 0; i < values->len; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, values->pdata[i]));

  for (guint i = 0; i < values->len; i++)
    {
      g_autoptr(GVariant) value = wait_value (futures->pdata[i]);

      g_assert_cmpstr (g_variant_get_type_string (value), ==,
                       g_variant_get_type_string (values->pdata[i]));
      g_assert_true (g_variant_equal (value, values->pdata[i]));
    }

  shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

#define BIG_SIZE (10 * 1024 * 1024)

static void
test_process_big_values (gconstpointer data)
{
  WorkerKind kind = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) echo = new_troupe_for_func ("echo", kind, 2);
  g_autoptr(TwTroupe) big = new_troupe_for_func ("big", kind, 1);
  g_autoptr(GVariant) input = g_variant_ref_sink (make_bytes (BIG_SIZE));
  g_autoptr(TwFuture) echoed = NULL;
  g_autoptr(TwFuture) made = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) big_value = NULL;
  g_autoptr(GPtrArray) inputs = g_ptr_array_new_with_free_func ((GDestroyNotify)g_variant_unref);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  const guint8 *bytes;
  gsize size;

  g_test_summary ("A 10 MiB byte array goes to a worker process and comes back, "
                  "and a worker process makes one from a small input");

  echoed = tw_troupe_submit (echo, input);
  made = tw_troupe_submit (big, g_variant_new_uint64 (BIG_SIZE));

  /* Many large values at once, several in flight to each worker. */
  for (guint i = 0; i < 16; i++)
    {
      g_autoptr(GVariant) mib = g_variant_ref_sink (make_bytes (1024 * 1024 + i));

      g_ptr_array_add (inputs, g_variant_ref (mib));
      g_ptr_array_add (futures, tw_troupe_submit (echo, mib));
    }
  for (guint i = 0; i < 16; i++)
    {
      g_autoptr(GVariant) mib = wait_value (futures->pdata[i]);

      g_assert_true (g_variant_equal (mib, inputs->pdata[i]));
    }

  value = wait_value (echoed);
  g_assert_cmpuint (g_variant_get_size (value), ==, BIG_SIZE);
  g_assert_true (g_variant_equal (value, input));

  big_value = wait_value (made);
  g_assert_cmpstr (g_variant_get_type_string (big_value), ==, "ay");
  bytes = g_variant_get_fixed_array (big_value, &size, 1);
  g_assert_cmpuint (size, ==, BIG_SIZE);
  for (gsize i = 0; i < size; i++)
    {
      if (bytes[i] != tw_test_big_byte (i))
        g_error ("Byte %" G_GSIZE_FORMAT " of the big value is %u, not %u",
                 i, bytes[i], tw_test_big_byte (i));
    }

  tw_troupe_shutdown (echo, TW_SHUTDOWN_MODE_DRAIN);
  shutdown_and_check (big, TW_SHUTDOWN_MODE_DRAIN);
}

#define N_MANY_TASKS 20000

static void
test_process_many_tasks (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe_for_func ("square", WORKER_SELF, 2);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);

  g_test_summary ("20 000 tasks on two worker processes, every result checked");

  for (gint64 i = 0; i < N_MANY_TASKS; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i - 10000)));

  for (gint64 i = 0; i < N_MANY_TASKS; i++)
    g_assert_cmpint (wait_int64 (futures->pdata[i]), ==, (i - 10000) * (i - 10000));

  /* A future settles before the troupe counts it: read the counters once
   * the troupe has stopped. */
  shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpuint (tw_troupe_get_n_succeeded (troupe), ==, N_MANY_TASKS);
  g_assert_cmpuint (tw_troupe_get_n_failed (troupe), ==, 0);
}

/* Errors ------------------------------------------------------------------- */

static void
test_process_errors (gconstpointer data)
{
  static const struct {
    const char *domain;
    gint32      code;
    const char *message;
  } errors[] = {
    { TW_TEST_PROCESS_ERROR_DOMAIN, 42, "The test failed this task on purpose: ünïcödé ✓" },
    { "g-io-error-quark", G_IO_ERROR_NOT_FOUND, "No such thing" },
    { "tw-test-never-registered-in-the-parent-quark", -17, "negative codes work too" },
    { "tw-test-process-error-quark", 0, "" },
  };
  WorkerKind kind = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = new_troupe_for_func ("fail", kind, 2);
  g_autoptr(TwTroupe) handles = new_troupe_for_func ("make-handle", kind, 1);
  g_autoptr(TwFuture) handle_future = NULL;
  g_autoptr(GError) handle_error = NULL;

  g_test_summary ("A worker's error crosses the process boundary with its domain "
                  "(by quark name), code and message unchanged");

  for (guint i = 0; i < G_N_ELEMENTS (errors); i++)
    {
      g_autoptr(TwFuture) future = NULL;
      g_autoptr(GError) error = NULL;

      future = tw_troupe_submit (troupe, g_variant_new ("(sis)", errors[i].domain,
                                                        errors[i].code, errors[i].message));
      error = wait_error (future);
      g_assert_cmpstr (g_quark_to_string (error->domain), ==, errors[i].domain);
      g_assert_cmpint (error->code, ==, errors[i].code);
      g_assert_cmpstr (error->message, ==, errors[i].message);
      g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_FAILED);
    }

  {
    g_autoptr(TwFuture) future = NULL;
    g_autoptr(GError) error = NULL;

    /* The quark is the same one the parent uses. */
    future = tw_troupe_submit (troupe, g_variant_new ("(sis)", TW_TEST_PROCESS_ERROR_DOMAIN,
                                                      3, "three"));
    error = wait_error (future);
    g_assert_error (error, TW_TEST_PROCESS_ERROR, 3);
  }

  /* A worker's output that cannot cross fails its task, in the worker. */
  handle_future = tw_troupe_submit (handles, g_variant_new ("()"));
  handle_error = wait_error (handle_future);
  g_assert_error (handle_error, TW_ERROR, TW_ERROR_UNSERIALIZABLE);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  shutdown_and_check (handles, TW_SHUTDOWN_MODE_DRAIN);
}

/* Worker types ------------------------------------------------------------- */

static GPtrArray *read_lines (const char *path);

static void
test_process_worker_type (gconstpointer data)
{
  WorkerKind kind = GPOINTER_TO_INT (data);
  g_autofree char *dir = make_temp_dir ();
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
  set_worker_program (troupe, kind);

  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *input = g_strdup_printf ("%u", i);

      g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_string (input)));
    }

  for (guint i = 0; i < 100; i++)
    {
      g_autoptr(GVariant) value = wait_value (futures->pdata[i]);
      g_autofree char *expected = g_strdup_printf ("bar:%u", i);

      g_assert_cmpstr (g_variant_get_string (value, NULL), ==, expected);
    }

  shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);

  /* Setup ran in the worker processes, never here, once per process; and
   * each of them tore its worker down. */
  log = read_lines (log_path);
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

  remove_temp_dir (dir);
}

static GPtrArray *
read_lines (const char *path)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  GPtrArray *result = g_ptr_array_new_with_free_func (g_free);

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return result;

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] != '\0')
        g_ptr_array_add (result, g_strdup (lines[i]));
    }

  return result;
}

static TwTroupe *
new_failing_troupe (WorkerKind  kind,
                    const char *log_path)
{
  g_autoptr(GVariantBuilder) props = g_variant_builder_new (G_VARIANT_TYPE_VARDICT);
  TwTroupe *troupe;

  g_variant_builder_add (props, "{sv}", "log-path", g_variant_new_string (log_path));
  troupe = tw_troupe_new_for_worker (TW_TEST_TYPE_FAILING_WORKER, g_variant_builder_end (props));
  tw_troupe_set_mode (troupe, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (troupe, 1);
  set_worker_program (troupe, kind);

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
  WorkerKind kind = GPOINTER_TO_INT (data);
  g_autofree char *dir = make_temp_dir ();
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
      g_autoptr(GError) error = wait_error (futures->pdata[i]);

      assert_setup_error (error);
    }
  elapsed = g_get_monotonic_time () - start;

  /* The worker process ran its setup (and logged its pid) each time the
   * troupe started one. */
  spawned = read_lines (log_path);
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
  late_error = wait_error (late);
  assert_setup_error (late_error);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC / 2);
  {
    g_autoptr(GPtrArray) again = read_lines (log_path);

    g_assert_cmpuint (again->len, ==, n_spawned);
  }

  shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpuint (tw_troupe_get_n_failed (troupe), ==, N_SETUP_TASKS + 1);
  remove_temp_dir (dir);
}

/* Crashes ------------------------------------------------------------------ */

#define N_SIDE_TASKS 1000

static void
test_process_kill (void)
{
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *pid_file = g_build_filename (dir, "sleep.pid", NULL);
  g_autoptr(TwTroupe) squares = new_troupe_for_func ("square", WORKER_SELF, 2);
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
    g_autoptr(TwTroupe) mixed = new_troupe_for_func ("sleep", WORKER_SELF, 2);
    g_autoptr(GPtrArray) naps = g_ptr_array_new_with_free_func (g_object_unref);

    victim = tw_troupe_submit (mixed, g_variant_new ("(ts)", (guint64)30000, pid_file));
    for (guint i = 0; i < N_SIDE_TASKS; i++)
      {
        g_ptr_array_add (naps, tw_troupe_submit (mixed, g_variant_new ("(ts)", (guint64)0, "")));
        g_ptr_array_add (futures, tw_troupe_submit (squares, g_variant_new_int64 (i)));
      }

    pid = wait_pid_file (pid_file);
    for (guint i = 0; i < N_SIDE_TASKS; i++)
      n_done_before_kill += tw_future_is_done (naps->pdata[i]);
    g_test_message ("killing worker %d; %u of its troupe's other tasks were done",
                    (int)pid, n_done_before_kill);
    g_assert_cmpint (kill (pid, SIGKILL), ==, 0);

    error = wait_error (victim);
    g_assert_error (error, TW_ERROR, TW_ERROR_WORKER_CRASHED);
    assert_message_contains (error, "signal 9");
    g_test_message ("%s", error->message);

    for (guint i = 0; i < N_SIDE_TASKS; i++)
      {
        GPid ran_on = wait_int64 (naps->pdata[i]);

        g_assert_cmpint (ran_on, >, 0);
      }

    /* The killed worker was replaced. */
    after = tw_troupe_submit (mixed, g_variant_new ("(ts)", (guint64)0, ""));
    g_assert_cmpint (wait_int64 (after), !=, pid);

    tw_troupe_shutdown (mixed, TW_SHUTDOWN_MODE_DRAIN);
    g_assert_cmpuint (tw_troupe_get_n_failed (mixed), ==, 1);
    g_assert_cmpuint (tw_troupe_get_n_succeeded (mixed), ==, N_SIDE_TASKS + 1);
  }

  for (guint i = 0; i < N_SIDE_TASKS; i++)
    g_assert_cmpint (wait_int64 (futures->pdata[i]), ==, (gint64)i * i);

  shutdown_and_check (squares, TW_SHUTDOWN_MODE_DRAIN);
  remove_temp_dir (dir);
}

typedef struct
{
  WorkerKind  kind;
  const char *func;
  const char *expected;   /* in the error message */
} CrashCase;

static GPid
run_spared_task (TwTroupe *troupe)
{
  g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_string ("survive"));

  return wait_int64 (future);
}

static void
test_process_crash (gconstpointer data)
{
  const CrashCase *crash = data;
  g_autoptr(TwTroupe) crasher = new_troupe_for_func (crash->func, crash->kind, 1);
  g_autoptr(TwTroupe) pids = new_troupe_for_func ("pid", crash->kind, 1);
  g_autoptr(TwTroupe) squares = new_troupe_for_func ("square", crash->kind, 2);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  GPid other_before, other_after, before, after;
  guint n_crashed = 0;

  g_test_summary ("A worker that crashes, aborts or exits fails only its task, "
                  "with a message naming the signal or status; the troupe starts a "
                  "new process and keeps working");

  other_before = run_pid_task (pids);
  for (gint64 i = 0; i < 50; i++)
    g_ptr_array_add (futures, tw_troupe_submit (squares, g_variant_new_int64 (i)));

  before = run_spared_task (crasher);
  future = tw_troupe_submit (crasher, g_variant_new ("()"));
  error = wait_error (future);
  g_test_message ("%s", error->message);
  g_assert_error (error, TW_ERROR, TW_ERROR_WORKER_CRASHED);
  assert_message_contains (error, crash->expected);
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
      g_autoptr(GVariant) value = tw_future_wait (batch->pdata[i], TIMEOUT_USEC, &batch_error);

      if (i % 10 == 3)
        {
          g_assert_null (value);
          g_assert_error (batch_error, TW_ERROR, TW_ERROR_WORKER_CRASHED);
          assert_message_contains (batch_error, crash->expected);
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
    g_assert_cmpint (wait_int64 (futures->pdata[i]), ==, i * i);
  other_after = run_pid_task (pids);
  g_assert_cmpint (other_before, ==, other_after);

  tw_troupe_shutdown (crasher, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (pids, TW_SHUTDOWN_MODE_DRAIN);
  shutdown_and_check (squares, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpuint (tw_troupe_get_n_failed (crasher), ==, 4);
  g_assert_cmpuint (tw_troupe_get_n_succeeded (crasher), ==, 29);
}

/* One troupe runs tasks across several deaths of its worker process. */
static void
test_process_respawn (gconstpointer data)
{
  WorkerKind kind = GPOINTER_TO_INT (data);
  g_autofree char *dir = make_temp_dir ();
  g_autoptr(TwTroupe) troupe = new_troupe_for_func ("sleep", kind, 1);
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
      pids[i] = wait_pid_file (pid_file);
      for (guint j = 0; j < i; j++)
        g_assert_cmpint (pids[i], !=, pids[j]);

      g_assert_cmpint (kill (pids[i], SIGKILL), ==, 0);
      error = wait_error (future);
      g_assert_error (error, TW_ERROR, TW_ERROR_WORKER_CRASHED);
      assert_message_contains (error, "signal 9");
    }

  /* "sleep" answers with the pid of a fourth process. */
  {
    g_autoptr(TwFuture) last = tw_troupe_submit (troupe, g_variant_new ("(ts)", (guint64)0, ""));
    GPid last_pid = wait_int64 (last);

    for (guint j = 0; j < G_N_ELEMENTS (pids); j++)
      g_assert_cmpint (last_pid, !=, pids[j]);
  }

  shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
  remove_temp_dir (dir);
}

/* A worker process that dies while it runs no task fails no task. */
static void
test_process_idle_death (gconstpointer data)
{
  WorkerKind kind = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = new_troupe_for_func ("pid", kind, 1);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  gint64 end_time = g_get_monotonic_time () + TIMEOUT_USEC;
  GPid pid;

  g_test_summary ("A worker process that dies between tasks (killed while idle) "
                  "fails no task: the next one runs on a new process");

  pid = run_pid_task (troupe);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  while (!process_is_gone (pid) && g_get_monotonic_time () < end_time)
    g_usleep (2000);
  g_assert_true (process_is_gone (pid));

  future = tw_troupe_submit (troupe, g_variant_new ("()"));
  value = tw_future_wait (future, TIMEOUT_USEC, &error);
  if (value == NULL)
    {
      g_test_fail_printf ("A task submitted after its worker process %d died while idle "
                          "failed without ever running: %s (%s, %d)", (int)pid,
                          error->message, g_quark_to_string (error->domain), error->code);
    }
  else
    g_assert_cmpint (g_variant_get_int64 (value), !=, pid);

  /* Either way, the troupe goes on. */
  g_assert_cmpint (run_pid_task (troupe), !=, pid);

  shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

static void
test_process_non_normal_input (gconstpointer data)
{
  WorkerKind kind = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = new_troupe_for_func ("echo", kind, 1);
  g_autoptr(GVariant) input = g_variant_ref_sink (tw_test_new_non_normal_value ());
  g_autoptr(GVariant) expected = g_variant_ref_sink (g_variant_new ("(yi)", 1, 5));
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;

  g_test_summary ("A valid input that is not in normal form (as built from untrusted "
                  "bytes) crosses to a worker process like any other value");

  g_assert_false (g_variant_is_normal_form (input));
  g_assert_true (g_variant_equal (input, expected));

  future = tw_troupe_submit (troupe, input);
  value = tw_future_wait (future, TIMEOUT_USEC, &error);
  if (value == NULL)
    g_test_fail_printf ("The task failed: %s (%s, %d)", error->message,
                        g_quark_to_string (error->domain), error->code);
  else
    g_assert_true (g_variant_equal (value, expected));

  /* The troupe keeps working. */
  {
    g_autoptr(TwFuture) next = tw_troupe_submit (troupe, g_variant_new_int32 (3));
    g_autoptr(GVariant) next_value = wait_value (next);

    g_assert_cmpint (g_variant_get_int32 (next_value), ==, 3);
  }

  shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

static void
test_process_non_normal_output (gconstpointer data)
{
  WorkerKind kind = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = new_troupe_for_func ("non-normal", kind, 1);
  g_autoptr(GVariant) expected = g_variant_ref_sink (g_variant_new ("(yi)", 1, 5));
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;

  g_test_summary ("A worker's output that is valid but not in normal form comes back "
                  "like any other value");

  future = tw_troupe_submit (troupe, g_variant_new ("()"));
  value = tw_future_wait (future, TIMEOUT_USEC, &error);
  if (value == NULL)
    g_test_fail_printf ("The task failed: %s (%s, %d)", error->message,
                        g_quark_to_string (error->domain), error->code);
  else
    g_assert_true (g_variant_equal (value, expected));

  shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

/* Output ------------------------------------------------------------------- */

static gboolean
contains_bytes (const char *haystack,
                gsize       haystack_len,
                const char *needle,
                gsize       needle_len)
{
  for (gsize i = 0; i + needle_len <= haystack_len; i++)
    {
      if (memcmp (haystack + i, needle, needle_len) == 0)
        return TRUE;
    }

  return FALSE;
}

typedef struct
{
  int saved_stdout;
  int saved_stderr;
} Redirect;

static void
redirect_output (Redirect   *redirect,
                 const char *out_path,
                 const char *err_path)
{
  int out_fd = open (out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int err_fd = open (err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  g_assert_cmpint (out_fd, >=, 0);
  g_assert_cmpint (err_fd, >=, 0);

  fflush (stdout);
  fflush (stderr);
  redirect->saved_stdout = fcntl (STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  redirect->saved_stderr = fcntl (STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  dup2 (out_fd, STDOUT_FILENO);
  dup2 (err_fd, STDERR_FILENO);
  close (out_fd);
  close (err_fd);
}

static void
restore_output (Redirect *redirect)
{
  fflush (stdout);
  fflush (stderr);
  dup2 (redirect->saved_stdout, STDOUT_FILENO);
  dup2 (redirect->saved_stderr, STDERR_FILENO);
  close (redirect->saved_stdout);
  close (redirect->saved_stderr);
}

#define N_PRINT_TASKS 200

static void
test_process_stdout_noise (gconstpointer data)
{
  WorkerKind kind = GPOINTER_TO_INT (data);
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *out_path = g_build_filename (dir, "stdout", NULL);
  g_autofree char *err_path = g_build_filename (dir, "stderr", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  gsize out_len, err_len;
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  Redirect redirect;

  g_test_summary ("Workers that print to stdout and stderr do not corrupt the "
                  "protocol, and their output stays visible");

  /* The workers inherit this process's stdout and stderr: catch them in
   * files, so the noise neither reaches the TAP stream nor goes unseen. */
  redirect_output (&redirect, out_path, err_path);

  troupe = new_troupe_for_func ("print", kind, 2);
  for (guint i = 0; i < N_PRINT_TASKS; i++)
    {
      g_ptr_array_add (values, g_strdup_printf ("value %u", i));
      g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_string (values->pdata[i])));
    }

  for (guint i = 0; i < N_PRINT_TASKS; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = tw_future_wait (futures->pdata[i], TIMEOUT_USEC, &error);

      if (value == NULL || !g_str_equal (g_variant_get_string (value, NULL), values->pdata[i]))
        {
          restore_output (&redirect);
          g_assert_no_error (error);
          g_assert_cmpstr (g_variant_get_string (value, NULL), ==, values->pdata[i]);
        }
    }

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  restore_output (&redirect);
  assert_no_children ();

  /* The noise holds NUL bytes: search with lengths. */
  g_assert_true (g_file_get_contents (out_path, &out, &out_len, NULL));
  g_assert_true (g_file_get_contents (err_path, &err, &err_len, NULL));
  g_assert_true (contains_bytes (out, out_len, "on stdout\n", 10));
  g_assert_true (contains_bytes (out, out_len, "\x10\0\0\0\x01\0\0\0noise", 13));
  g_assert_true (contains_bytes (out, out_len, "more noise through g_print", 26));
  g_assert_true (contains_bytes (err, err_len, "on stderr\n", 10));
  g_assert_true (contains_bytes (err, err_len, "more noise through g_printerr", 29));

  remove_temp_dir (dir);
}

/* Unserializable values ---------------------------------------------------- */

static GVariant *
identity_func (GVariant      *input,
               GCancellable  *cancellable,
               gpointer       user_data,
               GError       **error)
{
  return g_variant_ref (input);
}

static void
test_process_unserializable (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe_for_func ("echo", WORKER_SELF, 1);
  g_autoptr(TwTroupe) threads = tw_troupe_new_for_func (identity_func, NULL, NULL);
  g_autoptr(GVariantBuilder) dict = g_variant_builder_new (G_VARIANT_TYPE_VARDICT);
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify)g_variant_unref);
  g_autoptr(TwFuture) from_thread = NULL;
  g_autoptr(TwFuture) chained = NULL;
  g_autoptr(TwFuture) ok = NULL;
  g_autoptr(GError) chained_error = NULL;
  g_autoptr(GVariant) ok_value = NULL;
  GVariant *in_array;

  g_test_summary ("A value holding a file descriptor handle is refused at submit "
                  "with TW_ERROR_UNSERIALIZABLE, even when hidden in a variant");

  in_array = g_variant_new_variant (g_variant_new ("(bv)", TRUE, g_variant_new_handle (2)));

  g_variant_builder_add (dict, "{sv}", "ok", g_variant_new_int32 (1));
  g_variant_builder_add (dict, "{sv}", "deep",
                         g_variant_new_variant (g_variant_new ("(sv)", "x",
                                                               g_variant_new_handle (3))));

  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_handle (0)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new ("(ih)", 1, 2)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_variant (g_variant_new_handle (1))));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_VARIANT,
                                                                     &in_array, 1)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_builder_end (dict)));

  for (guint i = 0; i < values->len; i++)
    {
      g_autoptr(TwFuture) future = tw_troupe_submit (troupe, values->pdata[i]);
      g_autoptr(GError) error = NULL;

      /* Refused at submit: failed before any wait. */
      g_assert_true (tw_future_is_done (future));
      error = wait_error (future);
      g_assert_error (error, TW_ERROR, TW_ERROR_UNSERIALIZABLE);
    }

  /* A chained input is checked when it arrives. */
  from_thread = tw_troupe_submit (threads, values->pdata[2]);
  chained = tw_troupe_submit_future (troupe, from_thread);
  chained_error = wait_error (chained);
  g_assert_error (chained_error, TW_ERROR, TW_ERROR_UNSERIALIZABLE);

  /* Nothing reached the worker, which still works. */
  ok = tw_troupe_submit (troupe, g_variant_new ("v", g_variant_new_int32 (5)));
  ok_value = wait_value (ok);
  g_assert_cmpstr (g_variant_get_type_string (ok_value), ==, "v");
  {
    g_autoptr(GVariant) inner = g_variant_get_variant (ok_value);

    g_assert_cmpint (g_variant_get_int32 (inner), ==, 5);
  }

  tw_troupe_shutdown (threads, TW_SHUTDOWN_MODE_DRAIN);
  shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpuint (tw_troupe_get_n_succeeded (troupe), ==, 1);
}

/* Cancellation ------------------------------------------------------------- */

static void
test_process_cancel_running (gconstpointer data)
{
  WorkerKind kind = GPOINTER_TO_INT (data);
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *pid_file = g_build_filename (dir, "sleep.pid", NULL);
  g_autoptr(TwTroupe) troupe = new_troupe_for_func ("sleep", kind, 1);
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
  pid = wait_pid_file (pid_file);
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_RUNNING);

  cancelled_at = g_get_monotonic_time ();
  tw_future_cancel (future);
  error = wait_error (future);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_CANCELLED);
  /* Well within the grace period. */
  g_assert_cmpint (g_get_monotonic_time () - cancelled_at, <, 4 * G_USEC_PER_SEC);

  /* The same process runs the next task. */
  next = tw_troupe_submit (troupe, g_variant_new ("(ts)", (guint64)0, ""));
  g_assert_cmpint (wait_int64 (next), ==, pid);
  g_assert_true (process_is_running (pid));

  shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
  remove_temp_dir (dir);
}

static void
test_process_cancel_queued (gconstpointer data)
{
  WorkerKind kind = GPOINTER_TO_INT (data);
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *long_file = g_build_filename (dir, "long.pid", NULL);
  g_autoptr(TwTroupe) troupe = new_troupe_for_func ("sleep", kind, 1);
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
  wait_pid_file (long_file);

  for (guint i = 0; i < waiting->len; i++)
    {
      g_autoptr(GError) error = NULL;
      gint64 cancelled_at = g_get_monotonic_time ();

      tw_future_cancel (waiting->pdata[i]);
      error = wait_error (waiting->pdata[i]);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_cmpint (g_get_monotonic_time () - cancelled_at, <, G_USEC_PER_SEC / 2);
    }

  tw_future_cancel (running);
  running_error = wait_error (running);
  g_assert_error (running_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);

  /* None of them ever started. */
  for (guint i = 0; i < waiting->len; i++)
    {
      g_autofree char *name = g_strdup_printf ("waiting-%u.pid", i);
      g_autofree char *pid_file = g_build_filename (dir, name, NULL);

      g_assert_false (g_file_test (pid_file, G_FILE_TEST_EXISTS));
    }

  remove_temp_dir (dir);
}

#define GRACE_MSEC 200

static void
test_process_cancel_grace (gconstpointer data)
{
  WorkerKind kind = GPOINTER_TO_INT (data);
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *pid_file = g_build_filename (dir, "ignore.pid", NULL);
  g_autoptr(TwTroupe) troupe = new_troupe_for_func ("ignore-cancel", kind, 1);
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
  pid = wait_pid_file (pid_file);

  cancelled_at = g_get_monotonic_time ();
  tw_future_cancel (future);
  error = wait_error (future);
  elapsed = g_get_monotonic_time () - cancelled_at;
  g_test_message ("the task settled %" G_GINT64_FORMAT " ms after cancel", elapsed / 1000);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_CANCELLED);
  g_assert_cmpint (elapsed, >=, (GRACE_MSEC - 20) * 1000);
  g_assert_cmpint (elapsed, <, 5 * G_USEC_PER_SEC);

  /* The process was killed and reaped by then. */
  g_assert_false (process_is_running (pid));

  /* The next task runs on a new process. "ignore-cancel" would take 30 s,
   * so ask the same troupe's worker for its pid through a pid file. */
  {
    g_autofree char *next_file = g_build_filename (dir, "next.pid", NULL);
    g_autoptr(TwFuture) next = tw_troupe_submit (troupe, g_variant_new_string (next_file));

    next_pid = wait_pid_file (next_file);
    g_assert_cmpint (next_pid, !=, pid);
    tw_future_cancel (next);
    g_clear_error (&error);
    error = wait_error (next);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  }

  pids = new_troupe_for_func ("pid", kind, 1);
  tw_troupe_set_cancel_grace_period (pids, GRACE_MSEC);
  g_assert_cmpint (run_pid_task (pids), !=, pid);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  shutdown_and_check (pids, TW_SHUTDOWN_MODE_DRAIN);
  remove_temp_dir (dir);
}

/* The stdin/stdout transport ----------------------------------------------- */

static void
write_frame (int          fd,
             TwWireKind   kind,
             guint64      id,
             GVariant    *payload)
{
  g_autoptr(GError) error = NULL;

  g_variant_ref_sink (payload);
  tw_wire_write (fd, kind, id, payload, -1, &error);
  g_variant_unref (payload);
  g_assert_no_error (error);
}

static void
read_frame (TwWireReader *reader,
            TwWireKind    kind,
            guint64       id,
            TwWireFrame  *frame)
{
  g_autoptr(GError) error = NULL;

  tw_wire_read (reader, NULL, g_get_monotonic_time () + TIMEOUT_USEC, frame, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (frame->kind, ==, kind);
  g_assert_cmpuint (frame->id, ==, id);
}

static void
test_process_stdio_transport (gconstpointer data)
{
  WorkerKind kind = GPOINTER_TO_INT (data);
  const char *argv[] = { kind == WORKER_SELF ? self_path : test_worker_path, NULL };
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) worker = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) err_bytes = NULL;
  g_autofree char *pid_string = NULL;
  TwWireReader reader;
  TwWireFrame frame;
  int to_child, from_child;
  guint32 version;
  guint64 pid;
  const char *err;
  gsize err_len;

  g_test_summary ("A worker program started with TW_WORKER_FDS=0,1, as by a launcher "
                  "that forwards only stdin and stdout, speaks the protocol there, and "
                  "what it prints goes to stderr");

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "TW_WORKER_FDS", "0,1", TRUE);
  worker = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);

  to_child = g_unix_output_stream_get_fd (
    G_UNIX_OUTPUT_STREAM (g_subprocess_get_stdin_pipe (worker)));
  from_child = g_unix_input_stream_get_fd (
    G_UNIX_INPUT_STREAM (g_subprocess_get_stdout_pipe (worker)));
  tw_wire_reader_init (&reader, from_child);
  reader.newline = TRUE;  /* each frame on stdout ends its line */

  write_frame (to_child, TW_WIRE_HELLO, 0,
               g_variant_new ("(uss@a{sv})", TW_WIRE_VERSION, "func", "print",
                              g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0)));
  read_frame (&reader, TW_WIRE_READY, 0, &frame);
  g_assert_cmpstr (g_variant_get_type_string (frame.payload), ==, "(ut)");
  g_variant_get (frame.payload, "(ut)", &version, &pid);
  g_assert_cmpuint (version, ==, TW_WIRE_VERSION);
  pid_string = g_strdup_printf ("%" G_GUINT64_FORMAT, pid);
  g_assert_cmpstr (g_subprocess_get_identifier (worker), ==, pid_string);
  tw_wire_frame_clear (&frame);

  /* "print" writes noise to its stdout, which must not reach the protocol. */
  for (guint64 id = 1; id <= 20; id++)
    {
      g_autofree char *input = g_strdup_printf ("value %" G_GUINT64_FORMAT, id);

      write_frame (to_child, TW_WIRE_TASK, id, g_variant_new_string (input));
      read_frame (&reader, TW_WIRE_RESULT, id, &frame);
      g_assert_cmpstr (g_variant_get_string (frame.payload, NULL), ==, input);
      tw_wire_frame_clear (&frame);
    }

  write_frame (to_child, TW_WIRE_QUIT, 0, g_variant_new ("()"));
  g_assert_true (g_subprocess_wait (worker, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (worker));
  g_assert_cmpint (g_subprocess_get_exit_status (worker), ==, 0);
  tw_wire_reader_clear (&reader);

  /* What the worker printed on stdout went to stderr, still visible. */
  err_bytes = g_input_stream_read_bytes (g_subprocess_get_stderr_pipe (worker), 1024 * 1024,
                                         NULL, &error);
  g_assert_no_error (error);
  err = g_bytes_get_data (err_bytes, &err_len);
  g_assert_true (contains_bytes (err, err_len, "on stdout\n", 10));
  g_assert_true (contains_bytes (err, err_len, "on stderr\n", 10));
}

/* Lifecycle ---------------------------------------------------------------- */

static void
exercise_troupe (WorkerKind kind)
{
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *pid_file = g_build_filename (dir, "ignore.pid", NULL);
  g_autoptr(TwTroupe) squares = new_troupe_for_func ("square", kind, 2);
  g_autoptr(TwTroupe) crasher = new_troupe_for_func ("abort", kind, 2);
  g_autoptr(TwTroupe) stubborn = new_troupe_for_func ("ignore-cancel", kind, 1);
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
  wait_pid_file (pid_file);
  tw_future_cancel (stuck);

  for (gint64 i = 0; i < 100; i++)
    g_assert_cmpint (wait_int64 (futures->pdata[i]), ==, i * i);
  crash_error = wait_error (crash);
  g_assert_error (crash_error, TW_ERROR, TW_ERROR_WORKER_CRASHED);
  stuck_error = wait_error (stuck);
  g_assert_error (stuck_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  tw_troupe_shutdown (squares, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (crasher, TW_SHUTDOWN_MODE_CANCEL_PENDING);
  /* The last one is disposed without a shutdown. */
  g_clear_object (&stubborn);

  remove_temp_dir (dir);
}

static void
test_process_no_leaks (gconstpointer data)
{
  WorkerKind kind = GPOINTER_TO_INT (data);
  guint fds_before, fds_after;

  g_test_summary ("Shutdown stops and reaps every worker process, and leaves no "
                  "file descriptor behind in the parent");

  /* GLib opens a few fds once and keeps them (the worker context's
   * wakeup, say): run once before counting. */
  exercise_troupe (kind);
  assert_no_children ();

  fds_before = count_fds ();
  for (guint round = 0; round < 2; round++)
    exercise_troupe (kind);
  fds_after = count_fds ();

  assert_no_children ();
  g_assert_cmpuint (fds_after, ==, fds_before);
}

static void
test_process_inherited_fds (gconstpointer data)
{
  WorkerKind kind = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = new_troupe_for_func ("fds", kind, 2);
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
      g_autoptr(GVariant) value = wait_value (futures->pdata[i]);
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

  shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
  close (leaky_pipe[0]);
  close (leaky_pipe[1]);
  close (leaky_file);
}

static GVariant *
square_local_func (GVariant      *input,
                   GCancellable  *cancellable,
                   gpointer       user_data,
                   GError       **error)
{
  gint64 x = g_variant_get_int64 (input);

  return g_variant_new_int64 (x * x);
}

static void
test_process_anonymous_func (void)
{
  g_autoptr(TwFuture) settled = NULL;
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func (square_local_func, NULL, NULL);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(TwFuture) chained = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) chained_error = NULL;

  g_test_summary ("A troupe of an anonymous function fails its tasks with "
                  "G_IO_ERROR_NOT_SUPPORTED in process mode");

  tw_troupe_set_mode (troupe, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (troupe, 1);

  future = tw_troupe_submit (troupe, g_variant_new_int64 (3));
  error = wait_error (future);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);

  settled = tw_future_new_for_value (g_variant_new_int64 (3));
  chained = tw_troupe_submit_future (troupe, settled);
  chained_error = wait_error (chained);
  g_assert_error (chained_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);

  shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
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
  WorkerKind kind = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = new_troupe_for_func ("parent-only", kind, 1);
  g_autoptr(TwTroupe) nowhere = new_troupe_for_func ("registered-nowhere", kind, 1);
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
  error = wait_error (future);
  g_test_message ("%s", error->message);
  g_assert_error (error, TW_ERROR, TW_ERROR_UNKNOWN_FUNC);
  assert_message_contains (error, "parent-only");

  nowhere_future = tw_troupe_submit (nowhere, g_variant_new_int64 (3));
  nowhere_error = wait_error (nowhere_future);
  g_assert_error (nowhere_error, TW_ERROR, TW_ERROR_UNKNOWN_FUNC);

  typed = tw_troupe_new_for_worker (TW_TEST_TYPE_PARENT_ONLY_WORKER, NULL);
  tw_troupe_set_mode (typed, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (typed, 1);
  set_worker_program (typed, kind);
  typed_future = tw_troupe_submit (typed, g_variant_new_int64 (3));
  typed_error = wait_error (typed_future);
  g_test_message ("%s", typed_error->message);
  g_assert_error (typed_error, TW_ERROR, TW_ERROR_WORKER_SETUP);
  assert_message_contains (typed_error, "TwTestParentOnlyWorker");

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (nowhere, TW_SHUTDOWN_MODE_DRAIN);
  shutdown_and_check (typed, TW_SHUTDOWN_MODE_DRAIN);
}

/* Chaining ----------------------------------------------------------------- */

static GVariant *
halve_func (GVariant      *input,
            GCancellable  *cancellable,
            gpointer       user_data,
            GError       **error)
{
  return g_variant_new_double (g_variant_get_int64 (input) / 2.0);
}

static void
test_process_chain (void)
{
  g_autoptr(TwTroupe) process_square = new_troupe_for_func ("square", WORKER_SELF, 2);
  g_autoptr(TwTroupe) program_square = new_troupe_for_func ("square", WORKER_PROGRAM, 2);
  g_autoptr(TwTroupe) process_fail = new_troupe_for_func ("fail", WORKER_PROGRAM, 1);
  g_autoptr(TwTroupe) thread_square = tw_troupe_new_for_func (square_local_func, NULL, NULL);
  g_autoptr(TwTroupe) thread_halve = tw_troupe_new_for_func (halve_func, NULL, NULL);
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TwFuture) failed = NULL;
  g_autoptr(TwFuture) failed_squared = NULL;
  g_autoptr(TwFuture) failed_halved = NULL;
  g_autoptr(GError) failed_error = NULL;

  g_test_summary ("Lazy chaining works process to thread, thread to process and "
                  "process to process, and passes errors along");

  tw_troupe_set_n_workers (thread_square, 2);
  tw_troupe_set_n_workers (thread_halve, 2);

  for (gint64 i = 0; i < 10; i++)
    {
      TwFuture *in_process = tw_troupe_submit (process_square, g_variant_new_int64 (i));
      TwFuture *in_thread = tw_troupe_submit (thread_square, g_variant_new_int64 (i));
      TwFuture *process_thread = tw_troupe_submit_future (thread_halve, in_process);
      TwFuture *thread_process = tw_troupe_submit_future (process_square, in_thread);
      TwFuture *process_program = tw_troupe_submit_future (program_square, in_process);
      TwFuture *three_deep = tw_troupe_submit_future (process_square, process_program);

      /* The array keeps them all: index 6 * i + k is the k-th above. */
      g_ptr_array_add (all, in_process);
      g_ptr_array_add (all, in_thread);
      g_ptr_array_add (all, process_thread);
      g_ptr_array_add (all, thread_process);
      g_ptr_array_add (all, process_program);
      g_ptr_array_add (all, three_deep);
    }

  for (gint64 i = 0; i < 10; i++)
    {
      g_autoptr(GVariant) half = wait_value (all->pdata[6 * i + 2]);

      g_assert_cmpint (wait_int64 (all->pdata[6 * i + 0]), ==, i * i);
      g_assert_cmpint (wait_int64 (all->pdata[6 * i + 1]), ==, i * i);
      g_assert_cmpfloat (g_variant_get_double (half), ==, i * i / 2.0);
      g_assert_cmpint (wait_int64 (all->pdata[6 * i + 3]), ==, i * i * i * i);
      g_assert_cmpint (wait_int64 (all->pdata[6 * i + 4]), ==, i * i * i * i);
      g_assert_cmpint (wait_int64 (all->pdata[6 * i + 5]), ==, i * i * i * i * i * i * i * i);
    }

  /* A worker's error in a process passes unchanged through the chain. */
  failed = tw_troupe_submit (process_fail, g_variant_new ("(sis)", TW_TEST_PROCESS_ERROR_DOMAIN,
                                                          5, "five"));
  failed_squared = tw_troupe_submit_future (process_square, failed);
  failed_halved = tw_troupe_submit_future (thread_halve, failed_squared);
  failed_error = wait_error (failed_halved);
  g_assert_error (failed_error, TW_TEST_PROCESS_ERROR, 5);
  g_assert_cmpstr (failed_error->message, ==, "five");

  tw_troupe_shutdown (thread_square, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (thread_halve, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (process_square, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (program_square, TW_SHUTDOWN_MODE_DRAIN);
  shutdown_and_check (process_fail, TW_SHUTDOWN_MODE_DRAIN);
}

/* Shutdown ----------------------------------------------------------------- */

static void
test_process_shutdown_drain (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe_for_func ("echo", WORKER_SELF, 2);
  g_autoptr(TwTroupe) feeder = new_troupe_for_func ("sleep", WORKER_PROGRAM, 1);
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
      g_assert_cmpint (wait_int64 (futures->pdata[i]), ==, i);
    }
  g_assert_true (tw_future_is_done (feed));
  g_assert_true (tw_future_is_done (chained));
  feeder_pid = wait_int64 (feed);
  chained_value = wait_value (chained);
  g_assert_cmpint (g_variant_get_int64 (chained_value), ==, feeder_pid);

  late = tw_troupe_submit (troupe, g_variant_new_int64 (0));
  late_error = wait_error (late);
  g_assert_error (late_error, TW_ERROR, TW_ERROR_SHUT_DOWN);

  /* Again: nothing more happens. */
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  shutdown_and_check (feeder, TW_SHUTDOWN_MODE_DRAIN);
}

static void
test_process_shutdown_cancel_pending (void)
{
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *pid_file = g_build_filename (dir, "running.pid", NULL);
  g_autoptr(TwTroupe) troupe = new_troupe_for_func ("sleep", WORKER_SELF, 1);
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

  wait_pid_file (pid_file);
  for (guint i = 0; i < queued->len; i++)
    {
      if (tw_future_get_state (queued->pdata[i]) != TW_FUTURE_STATE_PENDING)
        g_test_message ("task %u has not started, but its state is %d", i,
                        tw_future_get_state (queued->pdata[i]));
    }

  shutdown_and_check (troupe, TW_SHUTDOWN_MODE_CANCEL_PENDING);

  g_assert_cmpint (wait_int64 (running), >, 0);
  for (guint i = 0; i < queued->len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = tw_future_wait (queued->pdata[i], TIMEOUT_USEC, &error);

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
  late_error = wait_error (late);
  g_assert_error (late_error, TW_ERROR, TW_ERROR_SHUT_DOWN);

  remove_temp_dir (dir);
}

#define LONG_TASK_MSEC 600

static void
test_process_parallel (gconstpointer data)
{
  WorkerKind kind = GPOINTER_TO_INT (data);
  g_autofree char *dir = make_temp_dir ();
  g_autoptr(TwTroupe) troupe = new_troupe_for_func ("sleep", kind, 2);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 start, first_started = 0, last_started = 0, elapsed;
  GPid pids[2];

  g_test_summary ("Two long tasks on a troupe of two idle workers run at the same "
                  "time, one on each worker process");

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

      wait_pid_file (pid_file);
      started = g_get_monotonic_time () - start;
      first_started = i == 0 ? started : MIN (first_started, started);
      last_started = MAX (last_started, started);
    }

  pids[0] = wait_int64 (futures->pdata[0]);
  pids[1] = wait_int64 (futures->pdata[1]);
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

  shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
  remove_temp_dir (dir);
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
  g_autoptr(TwTroupe) troupe = new_troupe_for_func ("sleep", WORKER_SELF, 2);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);

  g_test_summary ("tw_troupe_shutdown_async() stops every worker process too");

  for (guint i = 0; i < 6; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new ("(ts)", (guint64)30, "")));

  tw_troupe_shutdown_async (troupe, TW_SHUTDOWN_MODE_DRAIN, NULL, shutdown_async_cb, loop);
  g_main_loop_run (loop);

  for (guint i = 0; i < futures->len; i++)
    g_assert_cmpint (wait_int64 (futures->pdata[i]), >, 0);
  assert_no_children ();
}

/* Fake workers ------------------------------------------------------------- */

typedef enum
{
  FAKE_HELLO,      /* misbehaves in answer to HELLO */
  FAKE_TASK,       /* misbehaves in answer to a TASK */
} FakePhase;

typedef struct
{
  const char *mode;
  FakePhase   phase;
  GQuark    (*domain) (void);
  gint        code;
  const char *expected;   /* in the message, or NULL */
} FakeCase;

static void
test_process_fake (gconstpointer data)
{
  const FakeCase *fake = data;
  g_autoptr(TwTroupe) troupe = new_troupe_for_fake (fake->mode, NULL);
  /* A process that closes its pipes and lingers is given five seconds to
   * exit before it is killed: one task is enough for that mode. */
  guint n_tasks = fake->phase == FAKE_TASK && !g_str_equal (fake->mode, "close-hang") ? 2 : 1;

  g_test_summary ("A worker program that breaks the protocol fails its task with a "
                  "clear error; the troupe neither crashes nor hangs");

  /* One task after another: each runs on a new fake process. */
  for (guint i = 0; i < n_tasks; i++)
    {
      g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_int64 (i));
      g_autoptr(GError) error = wait_error (future);

      g_test_message ("%s: %s", fake->mode, error->message);
      g_assert_error (error, fake->domain (), fake->code);
      if (fake->expected != NULL)
        assert_message_contains (error, fake->expected);
    }

  shutdown_bounded (troupe, TW_SHUTDOWN_MODE_DRAIN, BOUNDED_USEC);
  assert_no_children ();
}

static void
test_process_fake_ok (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe_for_fake ("ok", NULL);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GVariant) value = NULL;

  g_test_summary ("The fake worker speaks the protocol correctly when asked to, so "
                  "the other fake tests break it on purpose only");

  future = tw_troupe_submit (troupe, g_variant_new_int64 (12));
  value = wait_value (future);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 12);

  shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

static void
test_process_fake_half_frame (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe_for_fake ("half-frame", NULL);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) wait_error_ = NULL;
  g_autoptr(GVariant) value = NULL;
  gint64 cancelled_at;

  g_test_summary ("A worker that sends half a frame and hangs looks like a long "
                  "task: cancelling it kills the process after the grace period");

  future = tw_troupe_submit (troupe, g_variant_new_int64 (1));

  /* It cannot be told from a task that takes long... */
  value = tw_future_wait (future, G_USEC_PER_SEC / 2, &wait_error_);
  g_assert_null (value);
  g_assert_error (wait_error_, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_RUNNING);

  /* ...and is ended the same way. */
  cancelled_at = g_get_monotonic_time ();
  tw_future_cancel (future);
  error = wait_error (future);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - cancelled_at, <, 5 * G_USEC_PER_SEC);

  shutdown_bounded (troupe, TW_SHUTDOWN_MODE_DRAIN, BOUNDED_USEC);
  assert_no_children ();
}

static void
test_process_fake_silent_shutdown (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe_for_fake ("silent-hello", NULL);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) wait_error_ = NULL;
  g_autoptr(GVariant) value = NULL;
  ShutdownThread *st;
  gint64 start;

  g_test_summary ("A troupe whose worker process never answers HELLO still shuts "
                  "down in bounded time");

  future = tw_troupe_submit (troupe, g_variant_new_int64 (1));
  value = tw_future_wait (future, G_USEC_PER_SEC / 2, &wait_error_);
  g_assert_null (value);
  g_assert_error (wait_error_, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);

  tw_future_cancel (future);
  error = wait_error (future);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  start = g_get_monotonic_time ();
  st = shutdown_start (troupe, TW_SHUTDOWN_MODE_CANCEL_PENDING);
  if (!shutdown_wait (st, BOUNDED_USEC))
    {
      g_test_fail_printf ("tw_troupe_shutdown() was still blocked %" G_GINT64_FORMAT
                          " s later, in the handshake with a worker that never answers",
                          (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
      /* Unblock it for the tests that follow. */
      kill_fake_workers ("silent-hello");
      g_assert_true (shutdown_wait (st, BOUNDED_USEC));
    }
  assert_no_children ();
}

static void
test_process_fake_cancel_in_handshake (void)
{
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *state = g_build_filename (dir, "state", NULL);
  g_autoptr(TwTroupe) troupe = new_troupe_for_fake ("crash-then-silent", state);
  g_autoptr(TwFuture) first = NULL;
  g_autoptr(TwFuture) second = NULL;
  g_autoptr(GError) first_error = NULL;
  g_autoptr(GError) wait_error_ = NULL;
  g_autoptr(GVariant) value = NULL;
  GError *error = NULL;
  gint64 cancelled_at;

  g_test_summary ("Cancelling a task that waits for its new worker process to "
                  "answer HELLO ends it within the grace period");

  /* The first process dies in its first task... */
  first = tw_troupe_submit (troupe, g_variant_new_int64 (1));
  first_error = wait_error (first);
  g_assert_error (first_error, TW_ERROR, TW_ERROR_WORKER_CRASHED);

  /* ...and the next task waits for a new one, which never answers. */
  second = tw_troupe_submit (troupe, g_variant_new_int64 (2));
  value = tw_future_wait (second, G_USEC_PER_SEC / 2, &wait_error_);
  g_assert_null (value);
  g_assert_error (wait_error_, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_false (tw_future_is_done (second));

  cancelled_at = g_get_monotonic_time ();
  tw_future_cancel (second);
  value = tw_future_wait (second, BOUNDED_USEC, &error);
  g_assert_null (value);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    {
      g_test_fail_printf ("The cancelled task was still running %" G_GINT64_FORMAT
                          " s after tw_future_cancel(), in the handshake with a worker "
                          "that never answers",
                          (g_get_monotonic_time () - cancelled_at) / G_USEC_PER_SEC);
      g_clear_error (&error);
      /* Unblock it for the tests that follow. */
      kill_fake_workers ("crash-then-silent");
      value = tw_future_wait (second, BOUNDED_USEC, &error);
      g_assert_null (value);
      g_test_message ("after the fake worker was killed: %s", error->message);
    }
  else
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  shutdown_bounded (troupe, TW_SHUTDOWN_MODE_DRAIN, BOUNDED_USEC);
  assert_no_children ();
  remove_temp_dir (dir);
}

/* Parent death ------------------------------------------------------------- */

#define HELPER_ARG "--parent-death-helper"
#define HELPER_WORKERS 3

/* Runs in a child of the test: starts a process troupe, reports its
 * worker pids on stdout, then waits to be killed. */
static int
parent_death_helper_main (const char *dir)
{
  g_autoptr(TwTroupe) troupe = new_troupe_for_func ("sleep", WORKER_SELF, HELPER_WORKERS);
  g_autoptr(GArray) children = NULL;
  gint64 end_time = g_get_monotonic_time () + TIMEOUT_USEC;

  /* Two workers in a task, one idle. */
  for (guint i = 0; i < HELPER_WORKERS - 1; i++)
    {
      g_autofree char *name = g_strdup_printf ("helper-%u.pid", i);
      g_autofree char *pid_file = g_build_filename (dir, name, NULL);
      TwFuture *future = tw_troupe_submit (troupe, g_variant_new ("(ts)", (guint64)600000,
                                                                  pid_file));

      (void)future;  /* leaked: the process is killed before it settles */
      wait_pid_file (pid_file);
    }

  /* The idle worker was started with its thread. */
  for (;;)
    {
      children = list_children (getpid ());
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
  g_autofree char *dir = make_temp_dir ();
  const char *argv[] = { self_path, HELPER_ARG, dir, NULL };
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
    g_assert_true (process_is_running (g_array_index (workers, GPid, i)));

  g_subprocess_send_signal (helper, SIGKILL);
  g_assert_true (g_subprocess_wait (helper, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_signaled (helper));
  killed_at = g_get_monotonic_time ();

  end_time = killed_at + 5 * G_USEC_PER_SEC;
  for (guint i = 0; i < workers->len; i++)
    {
      GPid worker = g_array_index (workers, GPid, i);

      while (process_is_running (worker) && g_get_monotonic_time () < end_time)
        g_usleep (10000);
      if (process_is_running (worker))
        {
          kill (worker, SIGKILL);
          g_error ("Worker %d still runs 5 s after its parent died", (int)worker);
        }
    }
  g_test_message ("all workers gone %" G_GINT64_FORMAT " ms after the parent died",
                  (g_get_monotonic_time () - killed_at) / 1000);

  remove_temp_dir (dir);
}

/* Main --------------------------------------------------------------------- */

static char *
find_program (const char *env_name,
              const char *name)
{
  const char *path = g_getenv (env_name);
  g_autofree char *dir = NULL;

  if (path != NULL)
    return g_strdup (path);

  dir = g_path_get_dirname (self_path);

  return g_build_filename (dir, name, NULL);
}

static void
add_kind_test (const char   *path,
               GTestDataFunc func)
{
  g_autofree char *self = g_strconcat (path, "/self", NULL);
  g_autofree char *program = g_strconcat (path, "/program", NULL);

  g_test_add_data_func (self, GINT_TO_POINTER (WORKER_SELF), func);
  g_test_add_data_func (program, GINT_TO_POINTER (WORKER_PROGRAM), func);
}

static const CrashCase crash_cases[] = {
  { WORKER_SELF, "segfault", "signal 11" },
  { WORKER_SELF, "abort", "signal 6" },
  { WORKER_SELF, "exit", "status 3" },
  { WORKER_PROGRAM, "segfault", "signal 11" },
  { WORKER_PROGRAM, "abort", "signal 6" },
  { WORKER_PROGRAM, "exit", "status 3" },
};

static const FakeCase fake_cases[] = {
  { "garbage-hello", FAKE_HELLO, tw_error_quark, TW_ERROR_PROTOCOL, "normal form" },
  { "garbage-text-hello", FAKE_HELLO, tw_error_quark, TW_ERROR_PROTOCOL, "limit" },
  { "oversized-hello", FAKE_HELLO, tw_error_quark, TW_ERROR_PROTOCOL, "4294967280" },
  { "not-normal-hello", FAKE_HELLO, tw_error_quark, TW_ERROR_PROTOCOL, "normal form" },
  { "wrong-version-hello", FAKE_HELLO, tw_error_quark, TW_ERROR_PROTOCOL, "version 1001" },
  { "wrong-type-hello", FAKE_HELLO, tw_error_quark, TW_ERROR_PROTOCOL, NULL },
  { "wrong-kind-hello", FAKE_HELLO, tw_error_quark, TW_ERROR_PROTOCOL, NULL },
  { "setup-failed-version-hello", FAKE_HELLO, tw_error_quark, TW_ERROR_PROTOCOL,
    "this worker program speaks version 1001" },
  { "close-hello", FAKE_HELLO, tw_error_quark, TW_ERROR_WORKER_SETUP, "while it set up" },
  { "garbage", FAKE_TASK, tw_error_quark, TW_ERROR_PROTOCOL, "normal form" },
  { "garbage-text", FAKE_TASK, tw_error_quark, TW_ERROR_PROTOCOL, "limit" },
  { "oversized", FAKE_TASK, tw_error_quark, TW_ERROR_PROTOCOL, "4294967280" },
  { "not-normal", FAKE_TASK, tw_error_quark, TW_ERROR_PROTOCOL, "normal form" },
  { "wrong-id", FAKE_TASK, tw_error_quark, TW_ERROR_PROTOCOL, NULL },
  { "wrong-kind", FAKE_TASK, tw_error_quark, TW_ERROR_PROTOCOL, NULL },
  { "bad-error", FAKE_TASK, tw_error_quark, TW_ERROR_PROTOCOL, NULL },
  { "close-exit", FAKE_TASK, tw_error_quark, TW_ERROR_WORKER_CRASHED, "status 0" },
  { "close-hang", FAKE_TASK, tw_error_quark, TW_ERROR_WORKER_CRASHED, NULL },
};

int
main (int   argc,
      char *argv[])
{
  int ret;

  /* First of all: in a worker process started by a troupe, serve tasks
   * and exit, before GTest parses arguments meant for the test run. */
  tw_test_process_register ();
  tw_init ();

  /* Registered after tw_init (), so only in this process, never in a
   * worker re-executed from it. */
  tw_register_func ("parent-only", identity_func, NULL, NULL);
  g_type_ensure (TW_TEST_TYPE_PARENT_ONLY_WORKER);

  self_path = g_file_read_link ("/proc/self/exe", NULL);
  g_assert_nonnull (self_path);

  if (argc == 3 && g_str_equal (argv[1], HELPER_ARG))
    return parent_death_helper_main (argv[2]);

  test_worker_path = find_program ("TW_TEST_WORKER", "tw-test-worker");
  fake_worker_path = find_program ("TW_FAKE_WORKER", "tw-fake-worker");

  g_test_init (&argc, &argv, NULL);
  g_test_bug_base ("");
  g_test_bug ("4");

  add_kind_test ("/Tw/Process/values", test_process_values);
  add_kind_test ("/Tw/Process/big-values", test_process_big_values);
  g_test_add_func ("/Tw/Process/many-tasks", test_process_many_tasks);
  add_kind_test ("/Tw/Process/errors", test_process_errors);
  add_kind_test ("/Tw/Process/worker-type", test_process_worker_type);
  add_kind_test ("/Tw/Process/setup-failure", test_process_setup_failure);
  g_test_add_func ("/Tw/Process/kill", test_process_kill);
  for (guint i = 0; i < G_N_ELEMENTS (crash_cases); i++)
    {
      const char *kind = crash_cases[i].kind == WORKER_SELF ? "self" : "program";
      g_autofree char *path = g_strdup_printf ("/Tw/Process/crash/%s/%s",
                                               crash_cases[i].func, kind);

      g_test_add_data_func (path, &crash_cases[i], test_process_crash);
    }
  add_kind_test ("/Tw/Process/respawn", test_process_respawn);
  add_kind_test ("/Tw/Process/idle-death", test_process_idle_death);
  add_kind_test ("/Tw/Process/non-normal/input", test_process_non_normal_input);
  add_kind_test ("/Tw/Process/non-normal/output", test_process_non_normal_output);
  add_kind_test ("/Tw/Process/stdout-noise", test_process_stdout_noise);
  add_kind_test ("/Tw/Process/stdio-transport", test_process_stdio_transport);
  g_test_add_func ("/Tw/Process/unserializable", test_process_unserializable);
  add_kind_test ("/Tw/Process/cancel-running", test_process_cancel_running);
  add_kind_test ("/Tw/Process/cancel-queued", test_process_cancel_queued);
  add_kind_test ("/Tw/Process/cancel-grace", test_process_cancel_grace);
  add_kind_test ("/Tw/Process/no-leaks", test_process_no_leaks);
  add_kind_test ("/Tw/Process/inherited-fds", test_process_inherited_fds);
  g_test_add_func ("/Tw/Process/anonymous-func", test_process_anonymous_func);
  add_kind_test ("/Tw/Process/unknown-in-child", test_process_unknown_in_child);
  g_test_add_func ("/Tw/Process/chain", test_process_chain);
  add_kind_test ("/Tw/Process/parallel", test_process_parallel);
  g_test_add_func ("/Tw/Process/shutdown/drain", test_process_shutdown_drain);
  g_test_add_func ("/Tw/Process/shutdown/cancel-pending", test_process_shutdown_cancel_pending);
  g_test_add_func ("/Tw/Process/shutdown/async", test_process_shutdown_async);
  g_test_add_func ("/Tw/Process/fake/ok", test_process_fake_ok);
  for (guint i = 0; i < G_N_ELEMENTS (fake_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/Tw/Process/fake/%s", fake_cases[i].mode);

      g_test_add_data_func (path, &fake_cases[i], test_process_fake);
    }
  g_test_add_func ("/Tw/Process/fake/half-frame", test_process_fake_half_frame);
  g_test_add_func ("/Tw/Process/fake/silent-hello-shutdown", test_process_fake_silent_shutdown);
  g_test_add_func ("/Tw/Process/fake/cancel-in-handshake", test_process_fake_cancel_in_handshake);
  g_test_add_func ("/Tw/Process/parent-death", test_process_parent_death);

  ret = g_test_run ();

  g_free (test_worker_path);
  g_free (fake_worker_path);
  g_free (self_path);

  return ret;
}
