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
#include <unistd.h>

#include <glib-unix.h>

#include "tw-error.h"
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
  GVariant      *hello;             /* the HELLO payload */
  gint64         cancel_grace_usec;

  /* Protected by lock. */
  GMutex         lock;
  guint          setup_failures;    /* in a row */
  GError        *setup_error;       /* the last one, once past the limit */
} TwProcessConfig;

typedef struct
{
  GSubprocess   *process;
  int            to_child;
  TwWireReader   reader;
  guint64        last_id;
  gboolean       dead;              /* exited or killed, and reaped */
} TwProcessWorker;

gpointer
tw_process_config_new (const char * const *argv,
                       GVariant           *hello,
                       guint               cancel_grace_ms)
{
  TwProcessConfig *config = g_new0 (TwProcessConfig, 1);

  config->argv = argv ? g_strdupv ((char **)argv) : tw_process_dup_default_argv ();
  config->hello = g_variant_ref_sink (hello);
  config->cancel_grace_usec = (gint64)cancel_grace_ms * 1000;
  g_mutex_init (&config->lock);

  return config;
}

void
tw_process_config_free (gpointer data)
{
  TwProcessConfig *config = data;

  g_strfreev (config->argv);
  g_variant_unref (config->hello);
  g_clear_error (&config->setup_error);
  g_mutex_clear (&config->lock);
  g_free (config);
}

static void
tw_process_child_setup (gpointer user_data)
{
  sigset_t pipe_set;

  /* Only async-signal-safe calls here: this runs between fork and exec.
   * Pool threads block SIGPIPE; the worker must not inherit that. */
  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  pthread_sigmask (SIG_UNBLOCK, &pipe_set, NULL);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
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

static char *
tw_process_describe_exit (GSubprocess *process)
{
  if (g_subprocess_get_if_signaled (process))
    {
      int signum = g_subprocess_get_term_sig (process);

      return g_strdup_printf ("was killed by signal %d (%s)", signum, g_strsignal (signum));
    }

  return g_strdup_printf ("exited with status %d", g_subprocess_get_exit_status (process));
}

static void
tw_process_worker_free (gpointer worker_data,
                        gpointer data)
{
  TwProcessWorker *worker = worker_data;

  if (!worker->dead)
    {
      tw_wire_write (worker->to_child, TW_WIRE_QUIT, 0,
                     g_variant_new ("()"), NULL, NULL);
      close (worker->to_child);
      worker->to_child = -1;
      tw_process_reap (worker->process, QUIT_TIMEOUT_MSEC);
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
                        gboolean         force)
{
  if (force)
    g_subprocess_force_exit (worker->process);
  tw_process_reap (worker->process, QUIT_TIMEOUT_MSEC);
  worker->dead = TRUE;

  return tw_process_describe_exit (worker->process);
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
  g_subprocess_launcher_set_child_setup (launcher, tw_process_child_setup, NULL, NULL);
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

  return worker;
}

/* Sends HELLO and waits for READY. On failure the child is reaped. */
static gboolean
tw_process_worker_handshake (TwProcessWorker  *worker,
                             TwProcessConfig  *config,
                             GError          **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *how = NULL;
  TwWireFrame frame;
  guint32 version;
  guint64 pid;

  if (tw_wire_write (worker->to_child, TW_WIRE_HELLO, 0, config->hello, NULL, &local_error) &&
      tw_wire_read (&worker->reader, NULL, g_get_monotonic_time () + HANDSHAKE_TIMEOUT_USEC,
                    &frame, &local_error))
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
          tw_process_worker_kill (worker, FALSE);
          g_propagate_error (error, setup_error);
          return FALSE;
        }
      else
        g_set_error (&local_error, TW_ERROR, TW_ERROR_PROTOCOL,
                     "The worker program answered the handshake with frame kind %u", frame.kind);
      tw_wire_frame_clear (&frame);
    }

  how = tw_process_worker_kill (worker, !g_error_matches (local_error, G_IO_ERROR,
                                                          G_IO_ERROR_CONNECTION_CLOSED));

  if (local_error->domain == TW_ERROR)
    g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                "Worker process %s: ", how);
  else
    g_set_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP,
                 "Worker process %s before it was ready (%s); does the program "
                 "call tw_init() at the start of main()?", how, local_error->message);

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

static gpointer
tw_process_worker_new (gpointer       data,
                       GCancellable  *cancellable,
                       GError       **error)
{
  TwProcessConfig *config = data;
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
  if (worker != NULL && !tw_process_worker_handshake (worker, config, &local_error))
    {
      tw_process_worker_free (worker, config);
      worker = NULL;
    }

  if (worker == NULL)
    {
      tw_process_config_setup_failed (config, local_error);
      g_propagate_error (error, local_error);
      return NULL;
    }

  g_mutex_lock (&config->lock);
  config->setup_failures = 0;
  g_mutex_unlock (&config->lock);

  return worker;
}

/* Fails the running task after the child died, broke the protocol or
 * was killed, and leaves the worker dead, to be replaced. */
static void
tw_process_worker_lost (TwProcessWorker  *worker,
                        GError           *cause,
                        GError          **error)
{
  gboolean crashed = g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_autofree char *how = tw_process_worker_kill (worker, !crashed);

  if (crashed)
    g_set_error (error, TW_ERROR, TW_ERROR_WORKER_CRASHED,
                 "The worker process %s while running the task", how);
  else
    g_propagate_prefixed_error (error, cause, "Worker process %s: ", how), cause = NULL;

  g_clear_error (&cause);
}

/* Turns one answer frame into the task's outcome, or a protocol error. */
static GVariant *
tw_process_worker_answer (TwWireFrame  *frame,
                          guint64       id,
                          GError      **error,
                          gboolean     *broken)
{
  GError *task_error;

  *broken = FALSE;

  if (frame->id == id && frame->kind == TW_WIRE_RESULT)
    return g_steal_pointer (&frame->payload);

  if (frame->id == id && frame->kind == TW_WIRE_ERROR &&
      (task_error = tw_wire_error_from_variant (frame->payload)) != NULL)
    {
      g_propagate_error (error, task_error);
      return NULL;
    }

  *broken = TRUE;
  g_set_error (error, TW_ERROR, TW_ERROR_PROTOCOL,
               "Unexpected frame of kind %u for task %" G_GUINT64_FORMAT
               " while waiting for task %" G_GUINT64_FORMAT, frame->kind, frame->id, id);

  return NULL;
}

/*
 * Sends the task and waits for its answer. When @cancellable fires, the
 * child is asked to cancel the task and given the grace period to answer;
 * then it is killed and the task fails with G_IO_ERROR_CANCELLED.
 */
static GVariant *
tw_process_worker_call (gpointer       worker_data,
                        gpointer       data,
                        GVariant      *input,
                        GCancellable  *cancellable,
                        GError       **error)
{
  TwProcessWorker *worker = worker_data;
  TwProcessConfig *config = data;
  GError *local_error = NULL;
  GCancellable *watch = cancellable;
  gint64 deadline = -1;
  guint64 id = ++worker->last_id;

  if (!tw_wire_write (worker->to_child, TW_WIRE_TASK, id, input, cancellable, &local_error))
    {
      tw_process_worker_lost (worker, local_error, error);
      return NULL;
    }

  for (;;)
    {
      TwWireFrame frame;
      GVariant *result;
      gboolean broken;

      if (tw_wire_read (&worker->reader, watch, deadline, &frame, &local_error))
        {
          result = tw_process_worker_answer (&frame, id, &local_error, &broken);
          tw_wire_frame_clear (&frame);
          if (broken)
            break;
          if (result == NULL)
            g_propagate_error (error, local_error);
          return result;
        }

      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && watch != NULL)
        {
          /* Ask once, then wait out the grace period ignoring the cancellable. */
          g_clear_error (&local_error);
          tw_wire_write (worker->to_child, TW_WIRE_CANCEL, id, g_variant_new ("()"), NULL, NULL);
          watch = NULL;
          deadline = g_get_monotonic_time () + config->cancel_grace_usec;
          continue;
        }

      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        {
          g_clear_error (&local_error);
          g_free (tw_process_worker_kill (worker, TRUE));
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                       "The task was cancelled; its worker process did not stop within "
                       "%" G_GINT64_FORMAT " ms and was killed",
                       config->cancel_grace_usec / 1000);
          return NULL;
        }

      break;
    }

  tw_process_worker_lost (worker, local_error, error);

  return NULL;
}

static gboolean
tw_process_worker_alive (gpointer worker_data)
{
  TwProcessWorker *worker = worker_data;

  return !worker->dead;
}

static gboolean
tw_process_check_input (gpointer   data,
                        GVariant  *input,
                        GError   **error)
{
  return tw_wire_check_value (input, error);
}

const TwPoolRunner tw_process_runner = {
  .worker_new = tw_process_worker_new,
  .worker_call = tw_process_worker_call,
  .worker_free = tw_process_worker_free,
  .worker_alive = tw_process_worker_alive,
  .check_input = tw_process_check_input,
};
