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

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
 * serving thread), which also reads the frames between tasks. A task busy
 * for longer than WATCH_USEC (running, or sending its answer) gets a
 * watcher thread reading on its behalf, so that CANCEL reaches it and a
 * parent writing into a full pipe is drained; short tasks cost no thread
 * switch.
 * It shares nothing with the parent side but the wire module.
 */

#define WATCH_USEC    1000
/* The watcher's poll ends when a frame or the end of the pipe comes; this
 * bounds it otherwise, so that the serving thread can join the watcher. */
#define QUIT_POLL_MSEC  100

typedef struct
{
  /* Read-only once serving starts. */
  int            in_fd;
  int            out_fd;
  gboolean       newline;      /* end every frame with a newline (on stdout) */

  /* Serving thread only, with out_lock held while writing. */
  GMutex         out_lock;     /* one writer at a time on out_fd */
  GByteArray    *out;          /* the answer being sent */
  guint64        serving_id;   /* the task being run, for its progress */

  /* Protected by lock. Only one thread reads in_fd at a time: the
   * serving thread between tasks (into the reader, with the lock
   * dropped), the watcher while one is busy. */
  GMutex         lock;
  GCond          cond;         /* wakes the watcher */
  TwWireReader   reader;
  GQueue         frames;       /* TwWireFrame read ahead, oldest first */
  gboolean       ended;        /* end of file, QUIT or a bad frame was read */
  gboolean       quit;         /* the serving loop is over: the watcher returns */
  gboolean       watcher_asleep; /* waiting for a task to start */
  guint          n_started;    /* tasks started so far */
  gboolean       busy;         /* a task runs or its answer is being sent */
  guint64        current_id;   /* the task the serving thread is running, or 0 */
  GCancellable  *cancellable;  /* that task's cancellable */
  GHashTable    *cancelled;    /* ids cancelled before they started */
  gboolean       nudged;       /* a NOP was sent for the partial frame read */
} TwProcessChild;

static void
tw_process_child_frame_free (gpointer data)
{
  TwWireFrame *frame = data;

  tw_wire_frame_clear (frame);
  g_free (frame);
}

/* Cancels task @id if it runs, by returning its cancellable for the
 * caller to cancel with no lock held (its handlers are user code), or
 * marks it to be skipped. Each task has its own cancellable, so one
 * cancelled late reaches no other task. Called with the lock held. */
static GCancellable *
tw_process_child_cancel_locked (TwProcessChild *child,
                                guint64         id)
{
  if (id == child->current_id && child->cancellable != NULL)
    return g_object_ref (child->cancellable);

  g_hash_table_add (child->cancelled, g_memdup2 (&id, sizeof id));

  return NULL;
}

/* Moves every whole frame the reader holds to child->frames, acting on
 * CANCEL at once; end of file, QUIT or a bad frame end the input. Returns
 * the running task's cancellable if it is to be cancelled. Called with
 * the lock held. */
static GCancellable *
tw_process_child_take_frames (TwProcessChild *child)
{
  GCancellable *cancel = NULL;
  GError *error = NULL;
  TwWireFrame frame;

  while (!child->ended && tw_wire_take (&child->reader, &frame, &error))
    {
      child->nudged = FALSE;
      if (frame.kind == TW_WIRE_QUIT)
        child->ended = TRUE;
      else if (frame.kind == TW_WIRE_CANCEL)
        {
          GCancellable *running = tw_process_child_cancel_locked (child, frame.id);

          if (cancel == NULL)
            cancel = running;
          else
            g_clear_object (&running);  /* the same task, cancelled twice */
        }
      else if (frame.kind != TW_WIRE_NOP)
        {
          g_queue_push_tail (&child->frames, g_memdup2 (&frame, sizeof frame));
          continue;
        }
      tw_wire_frame_clear (&frame);
    }

  if (error != NULL)
    {
      child->ended = TRUE;
      g_error_free (error);
    }

  return cancel;
}

/* Reads once from in_fd, which must be this thread's to read, and takes
 * the frames. Called with the lock held; drops it while reading when
 * @unlocked, as the read may block: the reader is then this thread's
 * alone, as no other reads. */
static GCancellable *
tw_process_child_read (TwProcessChild *child,
                       gboolean        unlocked)
{
  gssize n;

  if (unlocked)
    g_mutex_unlock (&child->lock);
  n = tw_wire_reader_read (&child->reader);
  if (unlocked)
    g_mutex_lock (&child->lock);

  if (n <= 0)
    child->ended = TRUE;

  return tw_process_child_take_frames (child);
}

/* The next frame for the serving thread, or NULL at the end of input. */
static TwWireFrame *
tw_process_child_next (TwProcessChild *child)
{
  TwWireFrame *frame;

  g_mutex_lock (&child->lock);
  while (child->frames.length == 0 && !child->ended)
    {
      GCancellable *cancel;

      /* The rest of a frame may be held back by a relay, until we answer
       * (see tw_wire_nudge()); no task runs, so stdout is ours. */
      if (child->newline && !child->nudged &&
          child->reader.buffer->len > child->reader.offset)
        {
          g_mutex_lock (&child->out_lock);
          tw_wire_nudge (child->out_fd, TRUE);
          g_mutex_unlock (&child->out_lock);
          child->nudged = TRUE;
        }

      /* No task runs: there is no cancellable to get back. */
      cancel = tw_process_child_read (child, TRUE);

      g_clear_object (&cancel);
    }
  frame = g_queue_pop_head (&child->frames);
  g_mutex_unlock (&child->lock);

  return frame;
}

/* Tells the parent that task @id runs, so that a crash from now on is
 * blamed on it, not on a task that went before. Only if no other frame
 * is being written and the pipe has room: it must never block the
 * watcher, which drains a parent that writes. Called with the lock held. */
static void
tw_process_child_announce (TwProcessChild *child,
                           guint64         id)
{
  struct pollfd pfd = { .fd = child->out_fd, .events = POLLOUT };
  g_autoptr(GByteArray) out = NULL;
  G_GNUC_UNUSED gssize n;

  if (!g_mutex_trylock (&child->out_lock))
    return;

  if (poll (&pfd, 1, 0) == 1 && pfd.revents == POLLOUT)
    {
      out = g_byte_array_new ();
      tw_wire_append (out, TW_WIRE_STARTED, id, g_variant_new ("()"), NULL);
      if (child->newline)
        tw_wire_end_line (out);
      /* Less than PIPE_BUF, and there is room: it does not block. */
      n = write (child->out_fd, out->data, out->len);
    }
  g_mutex_unlock (&child->out_lock);
}

/* Waits on the cond until the running task has run for WATCH_USEC, then
 * announces it and
 * polls in_fd for the frames sent meanwhile, CANCEL above all. A task
 * that ends, or a busy stream of short ones, never needs it; the watcher
 * sleeps once no task started for a whole period. */
static gpointer
tw_process_child_watcher_thread (gpointer data)
{
  TwProcessChild *child = data;
  guint seen = 0;
  guint announced = 0;

  g_mutex_lock (&child->lock);
  while (!child->quit)
    {
      struct pollfd pfd = { .fd = child->in_fd, .events = POLLIN };
      GCancellable *cancel = NULL;

      if (child->ended || !child->busy || child->n_started != seen)
        {
          if (child->n_started == seen && (!child->busy || child->ended))
            {
              child->watcher_asleep = TRUE;
              g_cond_wait (&child->cond, &child->lock);
              child->watcher_asleep = FALSE;
            }
          else
            {
              seen = child->n_started;
              g_cond_wait_until (&child->cond, &child->lock,
                                 g_get_monotonic_time () + WATCH_USEC);
            }
          continue;
        }

      if (announced != seen && child->current_id != 0)
        {
          tw_process_child_announce (child, child->current_id);
          announced = seen;
        }

      g_mutex_unlock (&child->lock);
      poll (&pfd, 1, QUIT_POLL_MSEC);
      g_mutex_lock (&child->lock);

      /* Still the same task, so in_fd is this thread's to read; poll
       * said it will not block. */
      if (pfd.revents != 0 && !child->quit && !child->ended &&
          child->busy && child->n_started == seen)
        cancel = tw_process_child_read (child, FALSE);

      if (cancel != NULL)
        {
          g_mutex_unlock (&child->lock);
          g_cancellable_cancel (cancel);
          g_object_unref (cancel);
          g_mutex_lock (&child->lock);
        }
    }
  g_mutex_unlock (&child->lock);

  return NULL;
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
  gboolean written;

  g_mutex_lock (&child->out_lock);
  written = tw_wire_flush (child->out_fd, child->out, -1, NULL);
  g_mutex_unlock (&child->out_lock);
  if (written)
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
  gboolean written;

  g_mutex_lock (&child->lock);
  cancelled = g_hash_table_remove (child->cancelled, &frame->id);
  child->current_id = frame->id;
  child->cancellable = cancellable;
  child->n_started++;
  child->busy = TRUE;
  if (child->watcher_asleep)
    g_cond_signal (&child->cond);
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

  /* The watcher reads on while the answer goes out: a parent writing
   * more tasks into a full pipe is not reading answers either. */
  written = tw_process_child_answer (child, frame->id, result, error);

  g_mutex_lock (&child->lock);
  child->busy = FALSE;
  g_mutex_unlock (&child->lock);

  return written;
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

/* Reads HELLO, sets the worker up and answers READY or SETUP_FAILED.
 * Returns the factory, or NULL when the child is to exit. */
static TwWorkerFactory *
tw_process_child_greet (TwProcessChild  *child,
                        gpointer        *worker)
{
  g_autoptr(TwWorkerFactory) factory = NULL;
  g_autoptr(GError) error = NULL;
  TwWireFrame *hello = tw_process_child_next (child);

  if (hello == NULL)
    return NULL;

  if (hello->kind != TW_WIRE_HELLO)
    g_set_error (&error, TW_ERROR, TW_ERROR_PROTOCOL, "Expected HELLO, got frame kind %u",
                 hello->kind);
  else
    factory = tw_process_child_setup (hello->payload, worker, &error);
  tw_process_child_frame_free (hello);

  if (error != NULL)
    {
      tw_process_child_append (child, TW_WIRE_SETUP_FAILED, 0, tw_wire_error_to_variant (error));
      tw_process_child_flush (child);
      return NULL;
    }

  tw_process_child_append (child, TW_WIRE_READY, 0,
                           g_variant_new ("(ut)", TW_WIRE_VERSION, (guint64)getpid ()));
  if (!tw_process_child_flush (child))
    return NULL;

  return g_steal_pointer (&factory);
}

/* Returns the exit status. */
static int
tw_process_child_serve (TwProcessChild *child)
{
  g_autoptr(TwWorkerFactory) factory = NULL;
  TwProgressSink sink = { tw_process_child_progress_cb, child };
  gpointer worker = NULL;
  GThread *watcher;
  TwWireFrame *frame;

  factory = tw_process_child_greet (child, &worker);
  if (factory == NULL)
    return 1;

  watcher = g_thread_new ("tw-child-watcher", tw_process_child_watcher_thread, child);
  tw_worker_set_progress_sink (&sink);

  while ((frame = tw_process_child_next (child)) != NULL)
    {
      gboolean written = (frame->kind != TW_WIRE_TASK && frame->kind != TW_WIRE_CHUNK) ||
                         tw_process_child_run_task (child, factory, worker, frame);

      tw_process_child_frame_free (frame);
      if (!written)
        break;
    }

  g_mutex_lock (&child->lock);
  child->quit = TRUE;
  g_cond_signal (&child->cond);
  g_mutex_unlock (&child->lock);
  g_thread_join (watcher);

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
  TwProcessChild child = { 0, };
  int in_fd, out_fd;
  int status;

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
  child.in_fd = in_fd;
  child.out_fd = out_fd;
  child.frames = (GQueue) G_QUEUE_INIT;
  child.out = g_byte_array_new ();
  child.cancelled = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_mutex_init (&child.lock);
  g_mutex_init (&child.out_lock);
  g_cond_init (&child.cond);

  status = tw_process_child_serve (&child);

  tw_wire_reader_clear (&child.reader);
  g_queue_clear_full (&child.frames, tw_process_child_frame_free);
  g_byte_array_unref (child.out);
  g_hash_table_unref (child.cancelled);
  g_mutex_clear (&child.lock);
  g_mutex_clear (&child.out_lock);
  g_cond_clear (&child.cond);

  return status;
}
