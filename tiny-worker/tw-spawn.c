/* tw-spawn.c
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
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>

#include "tw-error.h"
#include "tw-future-private.h"
#include "tw-process.h"
#include "tw-troupe-private.h"
#include "tw-wire-private.h"

/*
 * The parent side of process mode: a TwPoolRunner whose workers are child
 * processes. Each pool thread owns one child and talks to it with
 * blocking, pollable I/O, so the pool's queue, cancellation and shutdown
 * work the same as in thread mode. See the SECTION in tw-process.c.
 */

#define HANDSHAKE_TIMEOUT_USEC   (120 * G_USEC_PER_SEC)
#define QUIT_TIMEOUT_MSEC        5000
#define SETUP_FAILURE_LIMIT      5
#define SETUP_BACKOFF_MSEC       100

typedef struct
{
  /* Read-only. */
  char         **argv;              /* the worker program */
  char         **launcher;          /* a command prefix, or NULL */
  GVariant      *hello;             /* the HELLO payload */
  gint64         cancel_grace_usec;
  guint64        max_memory;        /* RLIMIT_AS of each worker, or 0 */
  guint          max_cpu_time;      /* RLIMIT_CPU of each worker, or 0 */

  /* Protected by lock. */
  GMutex         lock;
  guint          setup_failures;    /* in a row */
  GError        *setup_error;       /* the last one, once past the limit */
} TwProcessConfig;

typedef struct
{
  GSubprocess   *process;
  GThread       *stderr_thread;     /* forwards a launched worker's stderr */
  GMutex         stderr_lock;
  GString       *stderr_tail;       /* its last bytes; protected by stderr_lock */
  int            to_child;
  TwWireReader   reader;
  guint64        last_id;
  gboolean       dead;              /* exited or killed, and reaped */
  gboolean       broken_pipe;       /* writing failed: only read what is left */
} TwProcessWorker;

gpointer
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
   * Pool threads block SIGPIPE; the worker must not inherit that. */
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
static void
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

static void
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
static char *
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
  if (tw_process_get_initial_cwd () != NULL)
    g_subprocess_launcher_set_cwd (launcher, tw_process_get_initial_cwd ());

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
  if (tw_process_get_initial_cwd () != NULL)
    g_subprocess_launcher_set_cwd (launcher, tw_process_get_initial_cwd ());

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
                 "call tw_init() at the start of main()?", how, local_error->message);

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

static TwProcessWorker *
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

  if (tw_is_worker_process ())
    {
      g_set_error_literal (error, TW_ERROR, TW_ERROR_WORKER_SETUP,
                           "This process was started as a worker but did not call "
                           "tw_init(); refusing to start workers of its own");
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

/*
 * The serving loop. Each pool thread keeps up to `depth` tasks in flight
 * to its child: it sends them in one write and reads the answers, which
 * come back in order. The depth adapts to how long a task takes, so that
 * a child has about PIPELINE_USEC of work queued: trivial tasks travel in
 * batches, while long ones are not hoarded by one worker (at least two
 * are in flight, so the round trip is hidden). A lone task is sent at
 * once.
 */

#define PIPELINE_USEC  500
#define MAX_DEPTH      64

typedef struct
{
  TwFuture  *future;       /* owned */
  GVariant  *input;        /* owned */
  guint64    id;           /* the id sent to the current child, or 0 */
  gint64     cancel_time;  /* when CANCEL was sent, or 0 */
  gboolean   settled;      /* cancelled before it started: its answer is
                            * only awaited to keep the order */
  gboolean   started;      /* it reached the head of the pipeline */
  guint      attempt;      /* how many times it failed and was retried */
} TwInFlight;

typedef struct
{
  TwPool           *pool;
  TwProcessConfig  *config;
  TwProcessWorker  *worker;        /* NULL until started, and after it died */
  GQueue            in_flight;     /* TwInFlight, oldest first */
  GCancellable     *cancellable;   /* shared by the futures in flight */
  GByteArray       *out;           /* frames to send */
  guint             depth;
  gint64            last_answer;   /* when the head of in_flight became the head */
  gint64            service_usec;  /* moving average of the time per task */
  guint             n_finished;    /* settled tasks not yet told to the pool */
} TwProcessServer;

static void
tw_in_flight_settle (TwProcessServer *server,
                     TwInFlight      *task,
                     GVariant        *value,
                     GError          *error)
{
  if (!task->settled)
    _tw_future_settle (task->future, value, error);
  else
    {
      g_clear_pointer (&value, g_variant_unref);
      g_clear_error (&error);
    }
  g_object_unref (task->future);
  g_variant_unref (task->input);
  g_free (task);
  server->n_finished++;
}

/* A cancellable whose wake-up fd lives as long as it does: every wait
 * polls it, and GLib would otherwise make and close an eventfd each time. */
static GCancellable *
tw_process_server_new_cancellable (void)
{
  GCancellable *cancellable = g_cancellable_new ();
  GPollFD unused;

  g_cancellable_make_pollfd (cancellable, &unused);

  return cancellable;
}

/* Takes tasks from the pool until the pipeline is full. Returns FALSE when
 * the pool stops and nothing is in flight. */
static gboolean
tw_process_server_fill (TwProcessServer *server)
{
  /* Refill once half the pipeline has drained, so that tasks travel in
   * batches rather than one write each. */
  if (server->in_flight.length > server->depth / 2)
    return TRUE;

  while (server->in_flight.length < server->depth)
    {
      gboolean block = server->in_flight.length == 0;
      TwInFlight *task;
      GVariant *input = NULL;
      TwFuture *future;

      future = tw_pool_pop_task (server->pool, server->n_finished, block, &input);
      server->n_finished = 0;

      if (future == NULL)
        return !block;

      /* It stays pending until the child gets to it. */
      if (!_tw_future_dispatch (future, server->cancellable))
        {
          /* Cancelled after it was popped. */
          g_object_unref (future);
          g_variant_unref (input);
          server->n_finished++;
          continue;
        }

      task = g_new0 (TwInFlight, 1);
      task->future = future;
      task->input = input;
      g_queue_push_tail (&server->in_flight, task);
    }

  return TRUE;
}

/* A task taken out of the pipeline failed: it goes to the back for
 * another attempt if the troupe allows one, or settles with @error. */
static void
tw_process_server_fail_task (TwProcessServer *server,
                             TwInFlight      *task,
                             GError          *error)
{
  if (task->settled || !tw_pool_should_retry (server->pool, error, task->attempt))
    {
      tw_in_flight_settle (server, task, NULL, error);
      return;
    }

  g_error_free (error);
  task->attempt++;
  task->id = 0;
  task->cancel_time = 0;
  g_queue_push_tail (&server->in_flight, task);
}

/* Asks the child to skip or stop @task. */
static void
tw_process_server_send_cancel (TwProcessServer *server,
                               TwInFlight      *task)
{
  task->cancel_time = g_get_monotonic_time ();
  if (server->worker != NULL && !server->worker->broken_pipe)
    tw_wire_write (server->worker->to_child, TW_WIRE_CANCEL, task->id,
                   g_variant_new ("()"), NULL, NULL);
}

/* The head of the pipeline, once sent, is the task the child runs: it
 * becomes RUNNING, and its timeout starts. One that was cancelled while
 * it waited behind others, or by a cancelling shutdown, is skipped. */
static void
tw_process_server_start_head (TwProcessServer *server)
{
  TwInFlight *head = g_queue_peek_head (&server->in_flight);

  if (head == NULL || head->id == 0 || head->started || head->settled)
    return;

  head->started = TRUE;
  if (tw_pool_is_cancelling (server->pool))
    _tw_future_cancel_if_pending (head->future);

  if (_tw_future_start (head->future, server->cancellable))
    tw_pool_watch (server->pool, head->future);
  else
    {
      head->settled = TRUE;
      tw_process_server_send_cancel (server, head);
    }
}

/* Fails the head task with @error, if any; the others never started in
 * that child and go to the next one. */
static void
tw_process_server_lose_worker (TwProcessServer *server,
                               GError          *error)
{
  TwInFlight *head = error ? g_queue_pop_head (&server->in_flight) : NULL;

  tw_process_worker_free (server->worker, server->config);
  server->worker = NULL;

  for (GList *l = server->in_flight.head; l != NULL; )
    {
      TwInFlight *task = l->data;
      GList *next = l->next;

      task->id = 0;
      task->cancel_time = 0;
      if (task->settled)
        {
          g_queue_delete_link (&server->in_flight, l);
          tw_in_flight_settle (server, task, NULL, NULL);
        }
      l = next;
    }

  if (head != NULL)
    tw_process_server_fail_task (server, head, error);
  else
    g_clear_error (&error);
}

/* The child died, broke the protocol or stopped answering: kills and
 * reaps it, and turns @cause into the error of the task it was running. */
static void
tw_process_server_worker_failed (TwProcessServer *server,
                                 GError          *cause)
{
  gboolean crashed = g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_autofree char *how = tw_process_worker_kill (server->worker, server->config, !crashed);
  TwInFlight *head = g_queue_peek_head (&server->in_flight);
  GError *error = NULL;

  if (head == NULL || head->id == 0)
    ;  /* It died between tasks: nobody to blame. */
  else if (crashed)
    g_set_error (&error, TW_ERROR, TW_ERROR_WORKER_CRASHED,
                 "The worker process %s while running the task", how);
  else if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                 "The task was cancelled; its worker process did not stop within "
                 "%" G_GINT64_FORMAT " ms and was killed",
                 server->config->cancel_grace_usec / 1000);
  else
    g_propagate_prefixed_error (&error, g_steal_pointer (&cause),
                                "The worker process %s: ", how);

  g_clear_error (&cause);
  tw_process_worker_quote_stderr (server->worker, error);
  tw_process_server_lose_worker (server, error);
}

/* Starts a child if there is none. Failing that, every task in flight
 * fails with the setup error, as they were given to that worker. */
static gboolean
tw_process_server_ensure_worker (TwProcessServer *server)
{
  GError *error = NULL;
  TwInFlight *task;

  if (server->worker != NULL)
    return TRUE;

  server->worker = tw_process_worker_new (server->config,
                                         tw_pool_get_stop_cancellable (server->pool), &error);
  if (server->worker != NULL)
    return TRUE;

  while ((task = g_queue_pop_head (&server->in_flight)) != NULL)
    tw_in_flight_settle (server, task, NULL, g_error_copy (error));
  g_error_free (error);

  return FALSE;
}

static gboolean
tw_process_server_send (TwProcessServer  *server,
                        GError          **error)
{
  guint64 *last_id = &server->worker->last_id;
  GList *first_new = NULL;

  for (GList *l = server->in_flight.head; l != NULL; l = l->next)
    {
      TwInFlight *task = l->data;

      if (task->id != 0)
        continue;

      if (first_new == NULL)
        first_new = l;
      task->id = ++*last_id;
      if (!tw_wire_append (server->out,
                           _tw_future_is_chunk (task->future) ? TW_WIRE_CHUNK : TW_WIRE_TASK,
                           task->id, task->input, error))
        return FALSE;
    }

  if (server->out->len == 0)
    return TRUE;

  if (server->in_flight.head->data == server->in_flight.tail->data ||
      server->last_answer == 0)
    server->last_answer = g_get_monotonic_time ();

  if (tw_wire_flush (server->worker->to_child, server->out, NULL, error))
    {
      tw_process_server_start_head (server);
      return TRUE;
    }

  /* The child never got these: they are not to blame for its end. */
  for (GList *l = first_new; l != NULL; l = l->next)
    ((TwInFlight *)l->data)->id = 0;

  return FALSE;
}

/* A failed send means the child is gone, but answers it wrote before
 * dying may still be in the pipe: they are read first, and the end of
 * the pipe then blames the task it was running. Anything else is fatal. */
static gboolean
tw_process_server_send_or_drain (TwProcessServer *server)
{
  GError *error = NULL;

  if (server->worker->broken_pipe || tw_process_server_send (server, &error))
    return TRUE;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
    {
      server->worker->broken_pipe = TRUE;
      g_error_free (error);
      return TRUE;
    }

  tw_process_server_worker_failed (server, error);

  return FALSE;
}

/* Sends CANCEL for every task in flight whose future was cancelled, and
 * gives them all a fresh cancellable to wake this thread with. A task
 * behind the head was settled by tw_future_cancel() already: the child
 * skips it. The head may be running: it has the grace period. */
static void
tw_process_server_forward_cancels (TwProcessServer *server)
{
  g_autoptr(GCancellable) old = g_steal_pointer (&server->cancellable);

  /* Futures point at the old one until they are re-pointed: free it after. */
  server->cancellable = tw_process_server_new_cancellable ();
  g_cancellable_release_fd (old);
  for (GList *l = server->in_flight.head; l != NULL; l = l->next)
    _tw_future_set_cancellable (((TwInFlight *)l->data)->future, server->cancellable);

  /* After re-pointing, so a cancel that came in between is seen here. */
  for (GList *l = server->in_flight.head; l != NULL; l = l->next)
    {
      TwInFlight *task = l->data;

      if (task->cancel_time != 0 || task->settled)
        continue;

      if (!task->started && tw_future_is_done (task->future))
        task->settled = TRUE;
      else if (!task->started || !_tw_future_get_cancel_requested (task->future))
        continue;

      if (task->id != 0)
        tw_process_server_send_cancel (server, task);
    }
}

/* Settles the head task with its answer; FALSE for a frame that breaks
 * the protocol, with @error set. */
static gboolean
tw_process_server_answer (TwProcessServer  *server,
                          TwWireFrame      *frame,
                          GError          **error)
{
  TwInFlight *head = g_queue_peek_head (&server->in_flight);
  GError *task_error = NULL;
  gint64 now;

  /* Progress of the running task, not an answer. */
  if (frame->kind == TW_WIRE_PROGRESS && frame->id == head->id &&
      g_variant_is_of_type (frame->payload, G_VARIANT_TYPE ("(ds)")))
    {
      const char *message;
      gdouble fraction;

      g_variant_get (frame->payload, "(d&s)", &fraction, &message);
      if (!head->settled)
        _tw_future_set_progress (head->future, fraction, *message ? message : NULL);
      return TRUE;
    }

  if (frame->id != head->id ||
      (frame->kind != TW_WIRE_RESULT && frame->kind != TW_WIRE_ERROR))
    {
      g_set_error (error, TW_ERROR, TW_ERROR_PROTOCOL,
                   "Unexpected frame of kind %u for task %" G_GUINT64_FORMAT
                   " while waiting for task %" G_GUINT64_FORMAT,
                   frame->kind, frame->id, head->id);
      return FALSE;
    }

  if (frame->kind == TW_WIRE_ERROR &&
      (task_error = tw_wire_error_from_variant (frame->payload)) == NULL)
    {
      g_set_error (error, TW_ERROR, TW_ERROR_PROTOCOL,
                   "The error of task %" G_GUINT64_FORMAT " is a %s, not a (sis)",
                   frame->id, g_variant_get_type_string (frame->payload));
      return FALSE;
    }

  g_queue_pop_head (&server->in_flight);
  if (task_error != NULL)
    tw_process_server_fail_task (server, head, task_error);
  else
    tw_in_flight_settle (server, head, g_steal_pointer (&frame->payload), NULL);
  tw_process_server_start_head (server);

  now = g_get_monotonic_time ();
  server->service_usec = (7 * server->service_usec + (now - server->last_answer)) / 8;
  server->last_answer = now;
  server->depth = CLAMP (PIPELINE_USEC / MAX (server->service_usec, 1), 2, MAX_DEPTH);

  return TRUE;
}

/* Sends what is unsent and waits for one answer, or for a cancellation. */
static void
tw_process_server_pump (TwProcessServer *server)
{
  TwInFlight *head;
  GError *error = NULL;
  TwWireFrame frame;
  gint64 deadline = -1;

  if (!tw_process_server_ensure_worker (server) ||
      !tw_process_server_send_or_drain (server))
    return;

  head = g_queue_peek_head (&server->in_flight);
  if (head->cancel_time != 0)
    deadline = MAX (head->cancel_time, server->last_answer) + server->config->cancel_grace_usec;

  if (tw_wire_read (&server->worker->reader, server->cancellable, deadline, &frame, &error))
    {
      if (!tw_process_server_answer (server, &frame, &error))
        tw_process_server_worker_failed (server, error);
      tw_wire_frame_clear (&frame);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_error (&error);
      tw_process_server_forward_cancels (server);
    }
  else
    tw_process_server_worker_failed (server, error);
}

static void
tw_process_serve (TwPool   *pool,
                  gpointer  data)
{
  TwProcessServer server = {
    .pool = pool,
    .config = data,
    .in_flight = G_QUEUE_INIT,
    .cancellable = tw_process_server_new_cancellable (),
    .out = g_byte_array_new (),
    .depth = 2,
  };

  /* Start the child before the first task, so it does not pay for it;
   * a failure is retried, and reported, with the first task. */
  server.worker = tw_process_worker_new (server.config, tw_pool_get_stop_cancellable (pool), NULL);

  while (tw_process_server_fill (&server))
    tw_process_server_pump (&server);

  g_assert (server.in_flight.length == 0);

  if (server.worker != NULL)
    tw_process_worker_free (server.worker, server.config);
  g_cancellable_release_fd (server.cancellable);
  g_object_unref (server.cancellable);
  g_byte_array_unref (server.out);

  tw_pool_report_finished (pool, server.n_finished);
}

const TwPoolRunner tw_process_runner = {
  .check_input = tw_wire_check_value,
  .serve = tw_process_serve,
};
