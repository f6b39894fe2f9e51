/* tw-process-child.c
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

#include "tw-error.h"
#include "tw-process-child-private.h"
#include "tw-wire-private.h"
#include "tw-worker-factory-private.h"
#include "tw-worker-private.h"

/*
 * The child side of process mode: a worker process serves the tasks its
 * troupe sends, one at a time, on the thread that called tw_init() (the
 * serving thread), while a reader thread takes CANCEL frames as they come.
 * It shares nothing with the parent side but the wire module.
 */

typedef struct
{
  /* Read-only once serving starts. */
  TwWireReader   reader;       /* the reader thread's, once it started */
  int            out_fd;
  GAsyncQueue   *frames;       /* TwWireFrame from the reader thread; NULL payload ends */
  gboolean       newline;      /* end every frame with a newline (on stdout) */

  /* Serving thread only. */
  GByteArray    *out;          /* the answer being sent */
  guint64        serving_id;   /* the task being run, for its progress */

  /* Protected by lock. */
  GMutex         lock;
  guint64        current_id;   /* the task the serving thread is running, or 0 */
  GCancellable  *cancellable;  /* that task's cancellable */
  GHashTable    *cancelled;    /* ids cancelled before they started */
} TwProcessChild;

static void
tw_process_child_frame_free (gpointer data)
{
  TwWireFrame *frame = data;

  tw_wire_frame_clear (frame);
  g_free (frame);
}

/* Cancels task @id if it runs, or marks it to be skipped. Each task has
 * its own cancellable, so one cancelled late reaches no other task; it
 * is cancelled with no lock held, as its handlers are user code. */
static void
tw_process_child_cancel (TwProcessChild *child,
                         guint64         id)
{
  g_autoptr(GCancellable) cancellable = NULL;

  g_mutex_lock (&child->lock);
  if (id == child->current_id && child->cancellable != NULL)
    cancellable = g_object_ref (child->cancellable);
  else
    g_hash_table_add (child->cancelled, g_memdup2 (&id, sizeof id));
  g_mutex_unlock (&child->lock);

  if (cancellable != NULL)
    g_cancellable_cancel (cancellable);
}

/*
 * The reader thread keeps reading while a task runs, so that CANCEL
 * reaches the running task; everything else goes to the main thread.
 * End of file, QUIT or a read error end the queue.
 */
static gpointer
tw_process_child_reader_thread (gpointer data)
{
  TwProcessChild *child = data;

  for (;;)
    {
      TwWireFrame *frame = g_new0 (TwWireFrame, 1);

      if (!tw_wire_read (&child->reader, NULL, -1, frame, NULL) ||
          frame->kind == TW_WIRE_QUIT)
        {
          tw_wire_frame_clear (frame);
          g_async_queue_push (child->frames, frame);
          return NULL;
        }

      if (frame->kind != TW_WIRE_CANCEL)
        {
          g_async_queue_push (child->frames, frame);
          continue;
        }

      tw_process_child_cancel (child, frame->id);
      tw_process_child_frame_free (frame);
    }
}

/* Makes the worker that HELLO asks for, or fails with @error set. */
static TwWorkerFactory *
tw_process_child_setup (GVariant  *hello,
                        gpointer  *worker,
                        GError   **error)
{
  g_autoptr(GVariant) properties = NULL;
  g_autoptr(TwWorkerFactory) factory = NULL;
  const char *kind;
  const char *name;
  guint32 version;

  if (!g_variant_is_of_type (hello, G_VARIANT_TYPE ("(ussa{sv})")))
    {
      g_set_error (error, TW_ERROR, TW_ERROR_PROTOCOL,
                   "Expected a HELLO of type (ussa{sv}), got %s",
                   g_variant_get_type_string (hello));
      return NULL;
    }

  g_variant_get (hello, "(u&s&s@a{sv})", &version, &kind, &name, &properties);

  if (version != TW_WIRE_VERSION)
    {
      g_set_error (error, TW_ERROR, TW_ERROR_PROTOCOL,
                   "The troupe speaks protocol version %u, but this worker "
                   "program speaks version %u", version, TW_WIRE_VERSION);
      return NULL;
    }

  if (g_str_equal (kind, "func"))
    {
      factory = tw_worker_factory_new_for_name (name, NULL);
      if (factory == NULL)
        g_set_error (error, TW_ERROR, TW_ERROR_UNKNOWN_FUNC,
                     "The worker program registered no function named “%s”; "
                     "register it before calling tw_init" "()", name);
    }
  else if (g_type_from_name (name) == G_TYPE_INVALID)
    g_set_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP,
                 "The worker program has no type named “%s”; register it "
                 "(g_type_ensure()) before calling tw_init" "()", name);
  else
    factory = tw_worker_factory_new_for_type (g_type_from_name (name), properties, error);

  if (factory == NULL)
    return NULL;

  /* Every output must cross back to the parent. */
  tw_worker_factory_set_check (factory, tw_wire_check_value);
  *worker = tw_worker_factory_new_worker (factory, NULL, error);
  if (*worker == NULL)
    return NULL;

  return g_steal_pointer (&factory);
}

/* Sends what child->out holds, each frame on its own line on stdout. */
static gboolean
tw_process_child_flush (TwProcessChild *child)
{
  if (tw_wire_flush (child->out_fd, child->out, -1, NULL))
    return TRUE;

  g_byte_array_set_size (child->out, 0);

  return FALSE;
}

/* Adds one frame to child->out. */
static void
tw_process_child_append (TwProcessChild *child,
                         TwWireKind      kind,
                         guint64         id,
                         GVariant       *payload)
{
  if (tw_wire_append (child->out, kind, id, payload, NULL) && child->newline)
    tw_wire_end_line (child->out);
}

/* Sends the answer at once: an answer held back to batch it with the
 * next would be lost if the next task crashed the process, and the
 * parent could no longer tell which task did. Returns FALSE when the
 * parent is gone. */
static gboolean
tw_process_child_answer (TwProcessChild *child,
                         guint64         id,
                         GVariant       *result,
                         GError         *error)
{
  /* The factory checked that the result fits in a frame. */
  if (result != NULL)
    tw_process_child_append (child, TW_WIRE_RESULT, id, result);
  else
    tw_process_child_append (child, TW_WIRE_ERROR, id, tw_wire_error_to_variant (error));

  return tw_process_child_flush (child);
}

/* Runs one task and answers it. Returns FALSE when the parent is gone. */
static gboolean
tw_process_child_run_task (TwProcessChild        *child,
                           const TwWorkerFactory *factory,
                           gpointer               worker,
                           TwWireFrame           *frame)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GVariant) result = NULL;
  g_autoptr(GError) error = NULL;
  gboolean cancelled;

  g_mutex_lock (&child->lock);
  cancelled = g_hash_table_remove (child->cancelled, &frame->id);
  child->current_id = frame->id;
  child->cancellable = cancellable;
  g_mutex_unlock (&child->lock);

  if (cancelled)
    g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                         "The task was cancelled before it started");
  else if (frame->kind == TW_WIRE_CHUNK &&
           !g_variant_is_of_type (frame->payload, G_VARIANT_TYPE_ARRAY))
    g_set_error (&error, TW_ERROR, TW_ERROR_PROTOCOL, "A chunk must be an array");
  else
    {
      child->serving_id = frame->id;
      result = tw_worker_factory_call (factory, worker, frame->payload,
                                       frame->kind == TW_WIRE_CHUNK, cancellable, &error);
      child->serving_id = 0;
    }

  g_mutex_lock (&child->lock);
  child->current_id = 0;
  child->cancellable = NULL;
  g_mutex_unlock (&child->lock);

  return tw_process_child_answer (child, frame->id, result, error);
}

/* Sends progress of the running task to the parent; the sink is set on
 * the serving thread only. */
static void
tw_process_child_progress_cb (gdouble     fraction,
                              const char *message,
                              gpointer    data)
{
  TwProcessChild *child = data;

  if (child->serving_id == 0)
    return;

  tw_process_child_append (child, TW_WIRE_PROGRESS, child->serving_id,
                           g_variant_new ("(ds)", fraction, message ? message : ""));
  tw_process_child_flush (child);
}

/* Returns the exit status, and whether the reader thread has ended, so
 * that the child's resources can be freed. */
static int
tw_process_child_serve (TwProcessChild *child,
                        gboolean       *reader_ended)
{
  g_autoptr(TwWorkerFactory) factory = NULL;
  TwProgressSink sink = { tw_process_child_progress_cb, child };
  g_autoptr(GError) error = NULL;
  gpointer worker = NULL;
  GThread *reader;
  TwWireFrame hello;
  TwWireFrame *frame;

  *reader_ended = TRUE;

  if (!tw_wire_read (&child->reader, NULL, -1, &hello, &error))
    return 1;

  if (hello.kind != TW_WIRE_HELLO)
    g_set_error (&error, TW_ERROR, TW_ERROR_PROTOCOL, "Expected HELLO, got frame kind %u",
                 hello.kind);
  else
    factory = tw_process_child_setup (hello.payload, &worker, &error);
  tw_wire_frame_clear (&hello);

  if (error != NULL)
    {
      tw_process_child_append (child, TW_WIRE_SETUP_FAILED, 0, tw_wire_error_to_variant (error));
      tw_process_child_flush (child);
      return 1;
    }

  tw_process_child_append (child, TW_WIRE_READY, 0,
                           g_variant_new ("(ut)", TW_WIRE_VERSION, (guint64)getpid ()));
  if (!tw_process_child_flush (child))
    return 1;

  reader = g_thread_new ("tw-child-reader", tw_process_child_reader_thread, child);
  tw_worker_set_progress_sink (&sink);

  while ((frame = g_async_queue_pop (child->frames))->payload != NULL)
    {
      gboolean written = (frame->kind != TW_WIRE_TASK && frame->kind != TW_WIRE_CHUNK) ||
                         tw_process_child_run_task (child, factory, worker, frame);

      tw_process_child_frame_free (frame);
      if (!written)
        break;
    }

  /* After the end of the queue the reader has returned; after a failed
   * write it may still be blocked reading, and the process exits
   * without it. */
  *reader_ended = frame->payload == NULL;
  if (*reader_ended)
    {
      tw_process_child_frame_free (frame);
      g_thread_join (reader);
    }
  else
    g_thread_unref (reader);

  tw_worker_set_progress_sink (NULL);
  tw_worker_factory_free_worker (factory, worker);

  return 0;
}

static gboolean
tw_parse_worker_fds (const char *value,
                     int        *in_fd,
                     int        *out_fd)
{
  g_auto(GStrv) parts = g_strsplit (value, ",", 3);
  guint64 in_value, out_value;

  if (g_strv_length (parts) != 2 ||
      !g_ascii_string_to_unsigned (parts[0], 10, 0, G_MAXINT, &in_value, NULL) ||
      !g_ascii_string_to_unsigned (parts[1], 10, 0, G_MAXINT, &out_value, NULL))
    return FALSE;

  *in_fd = in_value;
  *out_fd = out_value;

  return TRUE;
}

/* Makes the protocol fd @fd close-on-exec, so that programs the worker
 * starts do not hold the pipe open after it dies: the parent would not
 * see it end. Stdin is moved away and replaced by /dev/null. */
static int
tw_process_child_keep_fd (int fd)
{
  int null_fd;
  int kept;

  if (fd != STDIN_FILENO)
    {
      fcntl (fd, F_SETFD, FD_CLOEXEC);
      return fd;
    }

  kept = fcntl (fd, F_DUPFD_CLOEXEC, 3);
  null_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  if (kept < 0 || null_fd < 0)
    {
      if (kept >= 0)
        close (kept);
      return fd;
    }
  dup2 (null_fd, STDIN_FILENO);
  close (null_fd);

  return kept;
}

/* Serves tasks on this thread; see tw_process_main(). */
int
tw_process_child_main (void)
{
  TwProcessChild child = { { 0, }, };
  int in_fd, out_fd;
  int status;
  gboolean reader_ended;

  if (g_getenv (TW_WIRE_ENV) == NULL ||
      !tw_parse_worker_fds (g_getenv (TW_WIRE_ENV), &in_fd, &out_fd))
    {
      g_printerr ("tiny-worker: this process was not started as a worker\n");
      return 2;
    }

  /* Children of the worker must not think they are workers. */
  g_unsetenv (TW_WIRE_ENV);

  if (out_fd == STDOUT_FILENO)
    {
      /* Keep the protocol away from anything user code prints. */
      out_fd = fcntl (STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
      dup2 (STDERR_FILENO, STDOUT_FILENO);
      child.newline = TRUE;
    }
  in_fd = tw_process_child_keep_fd (in_fd);
  fcntl (out_fd, F_SETFD, FD_CLOEXEC);

  prctl (PR_SET_PDEATHSIG, SIGKILL);

  tw_wire_reader_init (&child.reader, in_fd);
  child.out_fd = out_fd;
  child.frames = g_async_queue_new_full (tw_process_child_frame_free);
  child.out = g_byte_array_new ();
  child.cancelled = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_mutex_init (&child.lock);

  status = tw_process_child_serve (&child, &reader_ended);

  /* Otherwise the reader thread may still use them. */
  if (reader_ended)
    {
      tw_wire_reader_clear (&child.reader);
      g_async_queue_unref (child.frames);
      g_byte_array_unref (child.out);
      g_hash_table_unref (child.cancelled);
      g_mutex_clear (&child.lock);
    }

  return status;
}

