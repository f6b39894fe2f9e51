/* test-process-protocol.c: worker programs that break the protocol, and its transports
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
 * tw-fake-worker breaks the protocol on purpose, and the stdin/stdout
 * transport test speaks to a worker program through the library's private
 * wire functions: this program links the internal static library.
 *
 * Tests that show a library bug report it with g_test_fail_printf() and
 * go on, so that one bug does not hide the others (meson runs this with
 * --keep-going).
 */

#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>

#include "tw-test-funcs.h"
#include "tw-test-process.h"
#include "tw-wire-private.h"

/* How long a test waits for something that the library is expected to
 * do in bounded time, but that may hang when it is broken. */
#define BOUNDED_USEC (10 * G_USEC_PER_SEC)

static char *fake_worker_path;

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

/* Shuts @troupe down, or fails the test if that takes longer than @usec. */
static void
shutdown_bounded (TwTroupe       *troupe,
                  TwShutdownMode  mode,
                  gint64          usec)
{
  if (!tw_test_shutdown_wait (tw_test_shutdown_start (troupe, mode), usec))
    g_error ("The troupe did not shut down within %" G_GINT64_FORMAT " s",
             usec / G_USEC_PER_SEC);
}

/* Kills the fake workers started in @mode, to unblock a troupe that waits
 * for them after a test failed. */

static void
kill_fake_workers (const char *mode)
{
  g_autoptr(GArray) children = tw_test_list_children (getpid ());

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

/* Output ------------------------------------------------------------------- */

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
  TwTestWorkerKind kind = GPOINTER_TO_INT (data);
  g_autofree char *dir = tw_test_make_temp_dir ("process");
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

  troupe = tw_test_process_troupe_new ("print", kind, 2);
  for (guint i = 0; i < N_PRINT_TASKS; i++)
    {
      g_ptr_array_add (values, g_strdup_printf ("value %u", i));
      g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_string (values->pdata[i])));
    }

  for (guint i = 0; i < N_PRINT_TASKS; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = tw_future_wait (futures->pdata[i], TW_TEST_TIMEOUT_USEC, &error);

      if (value == NULL || !g_str_equal (g_variant_get_string (value, NULL), values->pdata[i]))
        {
          restore_output (&redirect);
          g_assert_no_error (error);
          g_assert_cmpstr (g_variant_get_string (value, NULL), ==, values->pdata[i]);
        }
    }

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  restore_output (&redirect);
  tw_test_assert_no_children ();

  /* The noise holds NUL bytes: search with lengths. */
  g_assert_true (g_file_get_contents (out_path, &out, &out_len, NULL));
  g_assert_true (g_file_get_contents (err_path, &err, &err_len, NULL));
  g_assert_true (tw_test_contains_bytes (out, out_len, "on stdout\n", 10));
  g_assert_true (tw_test_contains_bytes (out, out_len, "\x10\0\0\0\x01\0\0\0noise", 13));
  g_assert_true (tw_test_contains_bytes (out, out_len, "more noise through g_print", 26));
  g_assert_true (tw_test_contains_bytes (err, err_len, "on stderr\n", 10));
  g_assert_true (tw_test_contains_bytes (err, err_len, "more noise through g_printerr", 29));

  tw_test_remove_dir (dir);
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

  tw_wire_read (reader, NULL, g_get_monotonic_time () + TW_TEST_TIMEOUT_USEC, frame, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (frame->kind, ==, kind);
  g_assert_cmpuint (frame->id, ==, id);
}

static void
test_process_stdio_transport (gconstpointer data)
{
  TwTestWorkerKind kind = GPOINTER_TO_INT (data);
  const char *argv[] = {
    kind == TW_TEST_WORKER_SELF ? tw_test_get_self_path () : tw_test_get_worker_path (), NULL
  };
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
  g_assert_true (tw_test_contains_bytes (err, err_len, "on stdout\n", 10));
  g_assert_true (tw_test_contains_bytes (err, err_len, "on stderr\n", 10));
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
      g_autoptr(GError) error = tw_test_wait_error (future);

      g_test_message ("%s: %s", fake->mode, error->message);
      g_assert_error (error, fake->domain (), fake->code);
      if (fake->expected != NULL)
        tw_test_assert_contains (error->message, fake->expected);
    }

  shutdown_bounded (troupe, TW_SHUTDOWN_MODE_DRAIN, BOUNDED_USEC);
  tw_test_assert_no_children ();
}

/* Issue #15 and #14: NOP frames carry a relay's acknowledgement, and
 * STARTED says which task a crash is to be blamed on; neither answers. */
static void
test_process_fake_chatty (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe_for_fake ("chatty", NULL);

  g_test_summary ("A worker may send NOP and STARTED frames, for any task, before "
                  "its answers; the troupe takes the answers that follow");

  for (gint64 i = 0; i < 3; i++)
    {
      g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_int64 (i));
      g_autoptr(GVariant) value = tw_test_wait_value (future);

      g_assert_cmpint (g_variant_get_int64 (value), ==, i);
    }

  shutdown_bounded (troupe, TW_SHUTDOWN_MODE_DRAIN, BOUNDED_USEC);
  tw_test_assert_no_children ();
}

static void
test_process_fake_ok (void)
{
  g_autofree char *dir = tw_test_make_temp_dir ("process");
  g_autofree char *state = g_build_filename (dir, "state", NULL);
  g_autoptr(TwTroupe) troupe = new_troupe_for_fake ("ok", state);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autofree char *seen = NULL;

  g_test_summary ("The fake worker speaks the protocol correctly when asked to, so "
                  "the other fake tests break it on purpose only; it knows QUIT "
                  "by the library's own frame kinds");

  future = tw_troupe_submit (troupe, g_variant_new_int64 (12));
  value = tw_test_wait_value (future);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 12);

  tw_test_shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_true (g_file_get_contents (state, &seen, NULL, NULL));
  g_assert_cmpstr (seen, ==, "quit");
  tw_test_remove_dir (dir);
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
  error = tw_test_wait_error (future);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - cancelled_at, <, 5 * G_USEC_PER_SEC);

  shutdown_bounded (troupe, TW_SHUTDOWN_MODE_DRAIN, BOUNDED_USEC);
  tw_test_assert_no_children ();
}

static void
test_process_fake_silent_shutdown (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe_for_fake ("silent-hello", NULL);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) wait_error_ = NULL;
  g_autoptr(GVariant) value = NULL;
  TwTestShutdown *st;
  gint64 start;

  g_test_summary ("A troupe whose worker process never answers HELLO still shuts "
                  "down in bounded time");

  future = tw_troupe_submit (troupe, g_variant_new_int64 (1));
  value = tw_future_wait (future, G_USEC_PER_SEC / 2, &wait_error_);
  g_assert_null (value);
  g_assert_error (wait_error_, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);

  tw_future_cancel (future);
  error = tw_test_wait_error (future);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  start = g_get_monotonic_time ();
  st = tw_test_shutdown_start (troupe, TW_SHUTDOWN_MODE_CANCEL_PENDING);
  if (!tw_test_shutdown_wait (st, BOUNDED_USEC))
    {
      g_test_fail_printf ("tw_troupe_shutdown() was still blocked %" G_GINT64_FORMAT
                          " s later, in the handshake with a worker that never answers",
                          (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
      /* Unblock it for the tests that follow. */
      kill_fake_workers ("silent-hello");
      g_assert_true (tw_test_shutdown_wait (st, BOUNDED_USEC));
    }
  tw_test_assert_no_children ();
}

static void
test_process_fake_cancel_in_handshake (void)
{
  g_autofree char *dir = tw_test_make_temp_dir ("process");
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
  first_error = tw_test_wait_error (first);
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
  tw_test_assert_no_children ();
  tw_test_remove_dir (dir);
}

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

  tw_test_process_serve ();
  tw_test_process_init (&argc, &argv);
  fake_worker_path = tw_test_find_program ("TW_FAKE_WORKER", "tw-fake-worker");

  tw_test_add_kind_test ("/process/protocol/worker-output-does-not-corrupt-it",
                         test_process_stdout_noise);
  tw_test_add_kind_test ("/process/protocol/runs-over-stdin-and-stdout",
                         test_process_stdio_transport);
  g_test_add_func ("/process/protocol/fake-worker-can-speak-it", test_process_fake_ok);
  g_test_add_func ("/process/protocol/nop-and-started-are-not-answers", test_process_fake_chatty);
  for (guint i = 0; i < G_N_ELEMENTS (fake_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/process/protocol/attack/%s-fails-the-task",
                                               fake_cases[i].mode);

      g_test_add_data_func (path, &fake_cases[i], test_process_fake);
    }
  g_test_add_func ("/process/protocol/attack/half-frame-ends-on-cancel",
                   test_process_fake_half_frame);
  g_test_add_func ("/process/protocol/attack/silent-hello-still-shuts-down",
                   test_process_fake_silent_shutdown);
  g_test_add_func ("/process/protocol/attack/silent-hello-ends-on-cancel",
                   test_process_fake_cancel_in_handshake);

  ret = g_test_run ();

  g_free (fake_worker_path);

  return ret;
}
