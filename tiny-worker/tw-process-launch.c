/* tw-process-launch.c
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

#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>

#include "tw-error.h"
#include "tw-process-private.h"

/*
 * Starting worker processes, on the pool thread that will own each: spawn
 * it directly or through a launcher, with its resource limits, greet it
 * (HELLO, READY), keep the tail of a launched worker's stderr, and reap
 * it. See the "Process mode" section in tw-process.c.
 */

static char *initial_cwd;  /* set once by tw_init(), then read-only */

/* The HELLO that tells each worker process what to run: a worker type
 * with its properties, or a registered function. */
GVariant *
tw_process_hello_new (GType        worker_type,
                      const char  *func_name,
                      GVariant    *properties,
                      GError     **error)
{
  GVariant *props = properties;

  if (props == NULL)
    props = g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0);

  if (worker_type != G_TYPE_NONE)
    return g_variant_new ("(uss@a{sv})", TW_WIRE_VERSION, "worker",
                          g_type_name (worker_type), props);

  if (func_name != NULL)
    return g_variant_new ("(uss@a{sv})", TW_WIRE_VERSION, "func", func_name, props);

  g_variant_unref (g_variant_ref_sink (props));
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "A function given by pointer cannot run in another process; "
                       "register it with tw_register_func" "() and use "
                       "tw_troupe_new_for_func_name" "()");

  return NULL;
}

/* Records where worker processes start: the working directory when
 * tw_init() was called. */
void
tw_process_launch_init (void)
{
  if (g_once_init_enter (&initial_cwd))
    g_once_init_leave (&initial_cwd, g_get_current_dir ());
}

/* The command line of this process, to start workers as "spawn" does:
 * the same executable (by its real path, so a changed PATH or a relative
 * argv[0] does not matter) with the same arguments. */
static char **
tw_process_dup_default_argv (void)
{
  g_autofree char *cmdline = NULL;
  g_autofree char *exe = NULL;
  GPtrArray *argv;
  gsize length;

  if (!g_file_get_contents ("/proc/self/cmdline", &cmdline, &length, NULL) || length == 0)
    return NULL;

  exe = g_file_read_link ("/proc/self/exe", NULL);

  argv = g_ptr_array_new ();
  for (gsize i = 0; i < length; i += strlen (cmdline + i) + 1)
    g_ptr_array_add (argv, g_strdup (cmdline + i));
  if (exe != NULL)
    {
      g_free (argv->pdata[0]);
      argv->pdata[0] = g_steal_pointer (&exe);
    }
  g_ptr_array_add (argv, NULL);

  return (char **)g_ptr_array_free (argv, FALSE);
}

#define HANDSHAKE_TIMEOUT_USEC   (120 * G_USEC_PER_SEC)
#define QUIT_TIMEOUT_MSEC        5000
#define SETUP_FAILURE_LIMIT      5
#define SETUP_BACKOFF_MSEC       100

TwProcessConfig *
tw_process_config_new (const TwProcessOptions *options,
                       GVariant               *hello)
{
  TwProcessConfig *config = g_new0 (TwProcessConfig, 1);

  config->argv = options->worker_argv ? g_strdupv ((char **)options->worker_argv)
                                      : tw_process_dup_default_argv ();
  config->launcher = g_strdupv ((char **)options->launcher);
  config->hello = g_variant_ref_sink (hello);
  config->cancel_grace_usec = (gint64)options->cancel_grace_ms * 1000;
  config->max_memory = options->max_memory;
  config->max_cpu_time = options->max_cpu_time;
  g_mutex_init (&config->lock);

  return config;
}

void
tw_process_config_free (gpointer data)
{
  TwProcessConfig *config = data;

  g_strfreev (config->argv);
  g_strfreev (config->launcher);
  g_variant_unref (config->hello);
  g_clear_error (&config->setup_error);
  g_mutex_clear (&config->lock);
  g_free (config);
}

static void
tw_process_child_setup (gpointer user_data)
{
  TwProcessConfig *config = user_data;
  sigset_t pipe_set;

  /* Only async-signal-safe calls here: this runs between fork and exec.
   * The process runner blocks SIGPIPE; the worker must not inherit that. */
  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  pthread_sigmask (SIG_UNBLOCK, &pipe_set, NULL);
  prctl (PR_SET_PDEATHSIG, SIGKILL);

  /* With a launcher, prlimit on the command line sets them instead. */
  if (config->launcher == NULL && config->max_memory > 0)
    setrlimit (RLIMIT_AS, &(struct rlimit) { config->max_memory, config->max_memory });
  /* A hard limit above the soft one makes the kernel send SIGXCPU, which
   * names the cause, before SIGKILL. */
  if (config->launcher == NULL && config->max_cpu_time > 0)
    setrlimit (RLIMIT_CPU, &(struct rlimit) { config->max_cpu_time, config->max_cpu_time + 1 });
}

static void
tw_process_wait_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);
  *done = TRUE;
}

static gboolean
tw_process_timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;

  return G_SOURCE_REMOVE;
}

/* Reaps the child, killing it if it has not exited within @timeout_msec. */
static void
tw_process_reap (GSubprocess *process,
                 guint        timeout_msec)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GSource) timeout = g_timeout_source_new (timeout_msec);
  gboolean done = FALSE;
  gboolean timed_out = FALSE;

  g_main_context_push_thread_default (context);

  g_source_set_callback (timeout, tw_process_timeout_cb, &timed_out, NULL);
  g_source_attach (timeout, context);
  g_subprocess_wait_async (process, NULL, tw_process_wait_cb, &done);

  while (!done && !timed_out)
    g_main_context_iteration (context, TRUE);

  if (!done)
    g_subprocess_force_exit (process);

  while (!done)
    g_main_context_iteration (context, TRUE);

  g_source_destroy (timeout);
  g_main_context_pop_thread_default (context);
}

#define STDERR_TAIL_SIZE 2048

/* Copies a launched worker's stderr to ours, keeping its tail for error
 * messages: a launcher that fails says why there. */
static gpointer
tw_process_stderr_thread (gpointer data)
{
  TwProcessWorker *worker = data;
  GInputStream *stream = g_subprocess_get_stderr_pipe (worker->process);
  char buffer[4096];
  gssize n;

  while ((n = g_input_stream_read (stream, buffer, sizeof buffer, NULL, NULL)) > 0)
    {
      G_GNUC_UNUSED gssize written = write (STDERR_FILENO, buffer, n);

      g_mutex_lock (&worker->stderr_lock);
      g_string_append_len (worker->stderr_tail, buffer, n);
      if (worker->stderr_tail->len > STDERR_TAIL_SIZE)
        g_string_erase (worker->stderr_tail, 0, worker->stderr_tail->len - STDERR_TAIL_SIZE);
      g_mutex_unlock (&worker->stderr_lock);
    }

  return NULL;
}

/* How the child ended, with what explains it: the worker limits, and
 * the tail of a launched worker's stderr. Call it once it is reaped. */
static char *
tw_process_describe_exit (TwProcessWorker *worker,
                          TwProcessConfig *config)
{
  GSubprocess *process = worker->process;
  GString *how = g_string_new (NULL);

  if (g_subprocess_get_if_signaled (process))
    g_string_append_printf (how, "was killed by signal %d (%s)",
                            g_subprocess_get_term_sig (process),
                            g_strsignal (g_subprocess_get_term_sig (process)));
  else
    g_string_append_printf (how, "exited with status %d", g_subprocess_get_exit_status (process));

  if (config->max_memory > 0)
    g_string_append_printf (how, " (limited to %" G_GUINT64_FORMAT " bytes of memory "
                            "by TwTroupe:max-memory)", config->max_memory);
  if (config->max_cpu_time > 0)
    g_string_append_printf (how, " (limited to %u s of CPU time by TwTroupe:max-cpu-time)",
                            config->max_cpu_time);

  return g_string_free (how, FALSE);
}

/* Appends the tail of a launched worker's stderr to @error's message,
 * where a launcher that failed says why. */
void
tw_process_worker_quote_stderr (TwProcessWorker *worker,
                                GError          *error)
{
  g_autofree char *message = NULL;

  if (error == NULL || worker->stderr_tail == NULL || worker->stderr_tail->len == 0)
    return;

  message = g_strdup_printf ("%s; its stderr ended with: %s", error->message,
                             g_strstrip (worker->stderr_tail->str));
  g_free (error->message);
  error->message = g_steal_pointer (&message);
}

/* Waits for the stderr thread, which ends when the child and whatever
 * shared its stderr are gone. */
static void
tw_process_worker_join_stderr (TwProcessWorker *worker)
{
  g_clear_pointer (&worker->stderr_thread, g_thread_join);
}

void
tw_process_worker_free (TwProcessWorker *worker,
                        TwProcessConfig *config)
{
  if (!worker->dead)
    {
      tw_wire_write (worker->to_child, TW_WIRE_QUIT, 0,
                     g_variant_new ("()"), NULL, NULL);
      close (worker->to_child);
      worker->to_child = -1;
      tw_process_reap (worker->process, QUIT_TIMEOUT_MSEC);
    }

  tw_process_worker_join_stderr (worker);
  if (worker->stderr_tail != NULL)
    {
      g_string_free (worker->stderr_tail, TRUE);
      g_mutex_clear (&worker->stderr_lock);
    }
  if (worker->to_child >= 0)
    close (worker->to_child);
  close (worker->reader.fd);
  tw_wire_reader_clear (&worker->reader);
  g_clear_object (&worker->process);
  g_free (worker);
}

/* Kills and reaps the child; returns how it ended. */
char *
tw_process_worker_kill (TwProcessWorker *worker,
                        TwProcessConfig *config,
                        gboolean         force)
{
  if (force)
    g_subprocess_force_exit (worker->process);
  tw_process_reap (worker->process, QUIT_TIMEOUT_MSEC);
  worker->dead = TRUE;
  tw_process_worker_join_stderr (worker);

  return tw_process_describe_exit (worker, config);
}

/* The parent's ends never block, so waits can watch a cancellable and a
 * deadline (see tw-wire.c). */
static void
tw_process_worker_set_nonblocking (TwProcessWorker *worker)
{
  g_unix_set_fd_nonblocking (worker->to_child, TRUE, NULL);
  g_unix_set_fd_nonblocking (worker->reader.fd, TRUE, NULL);
}

/* The command line of a launched worker: the launcher, then prlimit for
 * the limits, then env to mark the worker, which may run on another
 * machine, where our environment does not reach, then the program. */
static GStrv
tw_process_launched_argv (TwProcessConfig *config)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *as_limit = g_strdup_printf ("--as=%" G_GUINT64_FORMAT, config->max_memory);
  g_autofree char *cpu_limit = g_strdup_printf ("--cpu=%u:%u", config->max_cpu_time,
                                                config->max_cpu_time + 1);

  g_strv_builder_addv (builder, (const char **)config->launcher);
  if (config->max_memory > 0 || config->max_cpu_time > 0)
    {
      g_strv_builder_add (builder, "prlimit");
      if (config->max_memory > 0)
        g_strv_builder_add (builder, as_limit);
      if (config->max_cpu_time > 0)
        g_strv_builder_add (builder, cpu_limit);
      g_strv_builder_add (builder, "--");
    }
  g_strv_builder_add_many (builder, "env", TW_WIRE_ENV "=0,1", NULL);
  g_strv_builder_addv (builder, (const char **)config->argv);

  return g_strv_builder_end (builder);
}

/* Spawns the worker through the launcher, with the protocol on its stdin
 * and stdout, which is all that launchers such as ssh or srun forward. */
static TwProcessWorker *
tw_process_worker_launch (TwProcessConfig  *config,
                          GError          **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_auto(GStrv) argv = tw_process_launched_argv (config);
  TwProcessWorker *worker;
  GSubprocess *process;
  int to_child, from_child;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, tw_process_child_setup, config, NULL);
  if (initial_cwd != NULL)
    g_subprocess_launcher_set_cwd (launcher, initial_cwd);

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *)argv, error);
  if (process == NULL)
    {
      g_prefix_error (error, "Cannot start the worker launcher %s: ", argv[0]);
      return NULL;
    }

  /* Our own copies, so that closing them does not depend on the streams. */
  to_child = fcntl (g_unix_output_stream_get_fd (G_UNIX_OUTPUT_STREAM (g_subprocess_get_stdin_pipe (process))),
                    F_DUPFD_CLOEXEC, 3);
  from_child = fcntl (g_unix_input_stream_get_fd (G_UNIX_INPUT_STREAM (g_subprocess_get_stdout_pipe (process))),
                      F_DUPFD_CLOEXEC, 3);
  g_output_stream_close (g_subprocess_get_stdin_pipe (process), NULL, NULL);
  g_input_stream_close (g_subprocess_get_stdout_pipe (process), NULL, NULL);

  worker = g_new0 (TwProcessWorker, 1);
  worker->process = process;
  worker->to_child = to_child;
  tw_wire_reader_init (&worker->reader, from_child);
  worker->reader.newline = TRUE;  /* the worker speaks over its stdout */
  tw_process_worker_set_nonblocking (worker);
  g_mutex_init (&worker->stderr_lock);
  worker->stderr_tail = g_string_new (NULL);
  worker->stderr_thread = g_thread_new ("tw-worker-stderr", tw_process_stderr_thread, worker);

  return worker;
}

/* Spawns the worker program with the protocol on fds 3 and 4. */
static TwProcessWorker *
tw_process_worker_spawn (TwProcessConfig  *config,
                         GError          **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  TwProcessWorker *worker;
  GSubprocess *process;
  int to_child[2];
  int from_child[2];

  if (config->argv == NULL || config->argv[0] == NULL)
    {
      g_set_error_literal (error, TW_ERROR, TW_ERROR_WORKER_SETUP,
                           "Cannot tell which program to start as a worker");
      return NULL;
    }

  if (config->launcher != NULL)
    return tw_process_worker_launch (config, error);

  if (!g_unix_open_pipe (to_child, FD_CLOEXEC, error))
    return NULL;
  if (!g_unix_open_pipe (from_child, FD_CLOEXEC, error))
    {
      close (to_child[0]);
      close (to_child[1]);
      return NULL;
    }

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_setenv (launcher, TW_WIRE_ENV, "3,4", TRUE);
  g_subprocess_launcher_take_fd (launcher, to_child[0], 3);
  g_subprocess_launcher_take_fd (launcher, from_child[1], 4);
  g_subprocess_launcher_set_child_setup (launcher, tw_process_child_setup, config, NULL);
  if (initial_cwd != NULL)
    g_subprocess_launcher_set_cwd (launcher, initial_cwd);

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *)config->argv, error);

  /* The launcher closes the child's ends when it goes. */
  g_clear_object (&launcher);

  if (process == NULL)
    {
      close (to_child[1]);
      close (from_child[0]);
      return NULL;
    }

  worker = g_new0 (TwProcessWorker, 1);
  worker->process = process;
  worker->to_child = to_child[1];
  tw_wire_reader_init (&worker->reader, from_child[0]);
  tw_process_worker_set_nonblocking (worker);

  return worker;
}

/* Waits for the answer to HELLO. A shutdown that comes meanwhile gives
 * the child a little longer, so that a worker that has already set up
 * can still be asked to quit and tear down, rather than be killed. */
static gboolean
tw_process_worker_read_ready (TwProcessWorker  *worker,
                              GCancellable     *cancellable,
                              TwWireFrame      *frame,
                              GError          **error)
{
  GError *local_error = NULL;

  if (tw_wire_read (&worker->reader, cancellable,
                    g_get_monotonic_time () + HANDSHAKE_TIMEOUT_USEC, frame, &local_error))
    return TRUE;

  if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }

  g_error_free (local_error);

  return tw_wire_read (&worker->reader, NULL,
                       g_get_monotonic_time () + QUIT_TIMEOUT_MSEC * 1000, frame, error);
}

/* Sends HELLO and waits for READY. On failure the child is reaped. */
static gboolean
tw_process_worker_handshake (TwProcessWorker  *worker,
                             TwProcessConfig  *config,
                             GCancellable     *cancellable,
                             GError          **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *how = NULL;
  TwWireFrame frame;
  guint32 version;
  guint64 pid;

  if (tw_wire_write (worker->to_child, TW_WIRE_HELLO, 0, config->hello, NULL, &local_error) &&
      tw_process_worker_read_ready (worker, cancellable, &frame, &local_error))
    {
      GError *setup_error = NULL;

      if (frame.kind == TW_WIRE_READY &&
          g_variant_is_of_type (frame.payload, G_VARIANT_TYPE ("(ut)")))
        {
          g_variant_get (frame.payload, "(ut)", &version, &pid);
          tw_wire_frame_clear (&frame);
          if (version == TW_WIRE_VERSION)
            return TRUE;
          g_set_error (&local_error, TW_ERROR, TW_ERROR_PROTOCOL,
                       "The worker program speaks protocol version %u, but this "
                       "troupe speaks version %u", version, TW_WIRE_VERSION);
        }
      else if (frame.kind == TW_WIRE_SETUP_FAILED &&
               (setup_error = tw_wire_error_from_variant (frame.payload)) != NULL)
        {
          /* The worker's own error, unchanged. */
          tw_wire_frame_clear (&frame);
          g_free (tw_process_worker_kill (worker, config, FALSE));
          g_propagate_error (error, setup_error);
          return FALSE;
        }
      else
        g_set_error (&local_error, TW_ERROR, TW_ERROR_PROTOCOL,
                     "The worker program answered the handshake with frame kind %u", frame.kind);
      tw_wire_frame_clear (&frame);
    }

  how = tw_process_worker_kill (worker, config, !g_error_matches (local_error, G_IO_ERROR,
                                                          G_IO_ERROR_CONNECTION_CLOSED));

  if (local_error->domain == TW_ERROR)
    g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                "Worker process %s: ", how);
  else if (config->launcher != NULL)
    g_set_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP,
                 "The worker launcher %s %s before the worker was ready (%s)",
                 config->launcher[0], how, local_error->message);
  else
    g_set_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP,
                 "Worker process %s before it was ready (%s); does the program "
                 "call tw_init" "() at the start of main()?", how, local_error->message);

  tw_process_worker_quote_stderr (worker, error ? *error : NULL);

  return FALSE;
}

/* Counts a failed start; past the limit the troupe stops starting workers. */
static void
tw_process_config_setup_failed (TwProcessConfig *config,
                                const GError    *error)
{
  guint failures;

  g_mutex_lock (&config->lock);
  failures = ++config->setup_failures;
  if (failures >= SETUP_FAILURE_LIMIT && config->setup_error == NULL)
    config->setup_error = g_error_copy (error);
  g_mutex_unlock (&config->lock);

  if (failures < SETUP_FAILURE_LIMIT)
    g_usleep ((SETUP_BACKOFF_MSEC << (failures - 1)) * 1000);
}

TwProcessWorker *
tw_process_worker_new (TwProcessConfig  *config,
                       GCancellable     *cancellable,
                       GError          **error)
{
  TwProcessWorker *worker;
  GError *local_error = NULL;
  gboolean given_up;

  g_mutex_lock (&config->lock);
  given_up = config->setup_error != NULL;
  if (given_up)
    g_propagate_error (error, g_error_copy (config->setup_error));
  g_mutex_unlock (&config->lock);

  if (given_up)
    return NULL;

  if (g_getenv (TW_WIRE_ENV) != NULL)
    {
      g_set_error_literal (error, TW_ERROR, TW_ERROR_WORKER_SETUP,
                           "This process was started as a worker but did not call "
                           "tw_init" "(); refusing to start workers of its own");
      return NULL;
    }

  worker = tw_process_worker_spawn (config, &local_error);
  if (worker != NULL && !tw_process_worker_handshake (worker, config, cancellable, &local_error))
    {
      tw_process_worker_free (worker, config);
      worker = NULL;
    }

  if (worker == NULL)
    {
      /* A shutdown that cut the handshake short is no setup failure. */
      if (!g_cancellable_is_cancelled (cancellable))
        tw_process_config_setup_failed (config, local_error);
      g_propagate_error (error, local_error);
      return NULL;
    }

  g_mutex_lock (&config->lock);
  config->setup_failures = 0;
  g_mutex_unlock (&config->lock);

  return worker;
}

