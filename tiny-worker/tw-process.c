/* tw-process.c
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
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "tw-error.h"
#include "tw-process.h"
#include "tw-troupe-private.h"
#include "tw-wire-private.h"
#include "tw-worker-private.h"

/**
 * SECTION:tw-process
 * @title: Process mode
 * @short_description: Running workers in child processes
 *
 * A troupe in %TW_TROUPE_MODE_PROCESS runs each worker in a child process,
 * so CPU-bound work scales past one interpreter lock and a worker that
 * crashes cannot take the application down.
 *
 * ## The spawn contract
 *
 * By default a troupe starts its workers by running the current program
 * again, with the same executable, arguments and working directory (as
 * Python's "spawn" start method does), so it works the same for a C
 * program, `python3 script.py` and `gjs -m script.js`. The child finds
 * `TW_WORKER_FDS` in its environment. The program must call tw_init()
 * early in main(), after registering its functions with
 * tw_register_func() and its worker types (g_type_ensure(); in Python and
 * GJS, after defining the classes), and before its own logic: in a worker
 * child tw_init() serves tasks and exits, in any other process it returns
 * at once. #TwTroupe:worker-argv names another program to run instead;
 * it must call tw_init() the same way.
 *
 * |[<!-- language="C" -->
 * int
 * main (int argc, char *argv[])
 * {
 *   tw_register_func ("square", square, NULL, NULL);
 *   g_type_ensure (MY_TYPE_WORKER);
 *   tw_init ();
 *
 *   // the program's own logic, which may create process troupes
 * }
 * ]|
 *
 * ## What crosses the boundary
 *
 * Inputs and outputs are #GVariant values, serialized as they are; any
 * value works except one holding file descriptor handles (type `h`),
 * which tw_troupe_submit() refuses with %TW_ERROR_UNSERIALIZABLE, as it
 * does a value over the frame limit of 512 MiB. A function crosses by the
 * name it was registered under (tw_troupe_new_for_func_name()); a troupe
 * made with tw_troupe_new_for_func() fails its tasks with
 * %G_IO_ERROR_NOT_SUPPORTED in process mode. A worker crosses as its
 * GType name plus its `a{sv}` construct properties. Errors cross as their
 * domain's quark name, code and message, so they arrive unchanged.
 *
 * ## Crashes, cancellation and shutdown
 *
 * A worker process that dies while it runs a task (a crash, abort(),
 * exit(), SIGKILL) fails that task only, with %TW_ERROR_WORKER_CRASHED
 * and a message that names the signal or exit status; the next task
 * starts a new process. A worker whose setup fails fails the task given
 * to it with the setup error; the troupe then waits 100 ms, 200 ms,
 * 400 ms and 800 ms before its next attempts, and after five failures in
 * a row it stops starting processes and fails every task with the last
 * setup error.
 *
 * Cancelling a running task triggers the worker's #GCancellable in the
 * child. If the task has not returned within #TwTroupe:cancel-grace-period
 * (1000 ms by default), the child is killed, the task fails with
 * %G_IO_ERROR_CANCELLED, and the next task starts a new process.
 *
 * Shutdown asks each child to quit, waits up to five seconds and then
 * kills it; every child is reaped. Children inherit no file descriptor of
 * the parent but their two protocol pipes, and they exit when the parent
 * dies: they see the pipe close, and the kernel sends them SIGKILL
 * (`PR_SET_PDEATHSIG`) as a second guard.
 *
 * ## The protocol
 *
 * Parent and child talk over two pipes, file descriptors 3 and 4 in the
 * child, never its stdin or stdout, so a worker that prints cannot
 * corrupt the conversation; its output goes where the parent's goes. (A
 * worker program started with `TW_WORKER_FDS=0,1`, as a launcher that
 * only forwards stdin and stdout would, takes its stdin and stdout for the
 * protocol and points its stdout at stderr before user code runs.)
 * Each frame is a little-endian 32-bit length followed by a #GVariant of
 * type `(utv)`: a message kind, a task id and a payload. The parent
 * first sends HELLO, `(uss@a{sv})`: the protocol version, `"func"` or
 * `"worker"`, the name, and the properties; the child answers READY,
 * `(ut)`, its version and pid, or SETUP_FAILED with the error as `(sis)`.
 * Then the parent sends TASK frames (the input value) and CANCEL or QUIT,
 * and the child answers each task with RESULT (the output value) or ERROR
 * (`(sis)`). A worker built with another protocol version is refused at
 * the handshake with %TW_ERROR_PROTOCOL.
 *
 * The parent treats everything a child sends as untrusted: a frame over
 * the size limit, not in normal form, of an unexpected kind or for
 * another task kills that child, and its task fails with
 * %TW_ERROR_PROTOCOL.
 */

typedef struct
{
  TwWireReader   reader;
  int            out_fd;
  GAsyncQueue   *frames;       /* TwWireFrame from the reader thread; NULL payload ends */

  GByteArray    *out;          /* the answer being sent; main thread only */
  gboolean       newline;      /* end every frame with a newline (on stdout) */

  GMutex         lock;         /* protects the fields below */
  guint64        current_id;   /* the task the main thread is running, or 0 */
  GCancellable  *cancellable;  /* that task's cancellable */
  GHashTable    *cancelled;    /* ids cancelled before they started */
} TwChild;



static char *initial_cwd;

/* In a worker process: the child and the task its main thread runs, for
 * tw_report_progress(). Main thread only. */
static TwChild *serving_child;
static guint64 serving_id;
static GThread *serving_thread;

static void
tw_child_frame_free (gpointer data)
{
  TwWireFrame *frame = data;

  tw_wire_frame_clear (frame);
  g_free (frame);
}

/*
 * The reader thread keeps reading while a task runs, so that CANCEL
 * reaches the running task; everything else goes to the main thread.
 * End of file, QUIT or a read error end the queue.
 */
static gpointer
tw_child_reader_thread (gpointer data)
{
  TwChild *child = data;

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

      g_mutex_lock (&child->lock);
      if (frame->id == child->current_id && child->cancellable != NULL)
        g_cancellable_cancel (child->cancellable);
      else
        g_hash_table_add (child->cancelled, g_memdup2 (&frame->id, sizeof frame->id));
      g_mutex_unlock (&child->lock);

      tw_child_frame_free (frame);
    }
}

typedef struct
{
  TwWorker      *worker;    /* or NULL for a function */
  TwFunc         func;
  gpointer       user_data;
} TwChildRunner;

static gboolean
tw_child_setup (TwChildRunner  *runner,
                GVariant       *hello,
                GError        **error)
{
  g_autoptr(GVariant) properties = NULL;
  g_autoptr(TwWorkerSpec) spec = NULL;
  const char *kind;
  const char *name;
  guint32 version;

  if (!g_variant_is_of_type (hello, G_VARIANT_TYPE ("(ussa{sv})")))
    {
      g_set_error (error, TW_ERROR, TW_ERROR_PROTOCOL,
                   "Expected a HELLO of type (ussa{sv}), got %s",
                   g_variant_get_type_string (hello));
      return FALSE;
    }

  g_variant_get (hello, "(u&s&s@a{sv})", &version, &kind, &name, &properties);

  if (version != TW_WIRE_VERSION)
    {
      g_set_error (error, TW_ERROR, TW_ERROR_PROTOCOL,
                   "The troupe speaks protocol version %u, but this worker "
                   "program speaks version %u", version, TW_WIRE_VERSION);
      return FALSE;
    }

  if (g_str_equal (kind, "func"))
    {
      if (tw_registry_lookup (name, &runner->func, &runner->user_data))
        return TRUE;

      g_set_error (error, TW_ERROR, TW_ERROR_UNKNOWN_FUNC,
                   "The worker program registered no function named “%s”; "
                   "register it before calling tw_init()", name);
      return FALSE;
    }

  if (g_type_from_name (name) == G_TYPE_INVALID)
    {
      g_set_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP,
                   "The worker program has no type named “%s”; register it "
                   "(g_type_ensure()) before calling tw_init()", name);
      return FALSE;
    }

  spec = tw_worker_spec_new (g_type_from_name (name), properties, error);
  if (spec != NULL)
    runner->worker = tw_worker_spec_instantiate (spec, NULL, error);

  return runner->worker != NULL;
}

static GVariant *
tw_child_call (gpointer        data,
               GVariant       *input,
               GCancellable   *cancellable,
               GError        **error)
{
  TwChildRunner *runner = data;
  GError *local_error = NULL;
  GVariant *result;

  if (runner->worker != NULL)
    result = tw_worker_call (runner->worker, input, cancellable, error);
  else
    {
      result = runner->func (input, cancellable, runner->user_data, &local_error);
      result = tw_check_result (result, local_error, "The task function", error);
    }

  if (result != NULL && !tw_wire_check_value (result, error))
    g_clear_pointer (&result, g_variant_unref);

  return result;
}

/* Sends what child->out holds, each frame on its own line on stdout. */
static gboolean
tw_child_flush (TwChild *child)
{
  return tw_wire_flush (child->out_fd, child->out, NULL, NULL);
}

/* Adds one frame to child->out. */
static void
tw_child_append (TwChild    *child,
                 TwWireKind  kind,
                 guint64     id,
                 GVariant   *payload)
{
  if (tw_wire_append (child->out, kind, id, payload, NULL) && child->newline)
    tw_wire_end_line (child->out);
}

/* Sends the answer at once: an answer held back to batch it with the
 * next would be lost if the next task crashed the process, and the
 * parent could no longer tell which task did. Returns FALSE when the
 * parent is gone. */
static gboolean
tw_child_answer (TwChild    *child,
                 guint64     id,
                 GVariant   *result,
                 GError     *error)
{
  /* tw_child_call() checked that the result fits in a frame. */
  if (result != NULL)
    tw_child_append (child, TW_WIRE_RESULT, id, result);
  else
    tw_child_append (child, TW_WIRE_ERROR, id, tw_wire_error_to_variant (error));

  return tw_child_flush (child);
}

/* Runs one task and answers it. Returns FALSE when the parent is gone. */
static gboolean
tw_child_run_task (TwChild       *child,
                   TwChildRunner *runner,
                   TwWireFrame   *frame)
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
  else
    {
      serving_child = child;
      serving_id = frame->id;
      if (frame->kind == TW_WIRE_CHUNK && !g_variant_is_of_type (frame->payload, G_VARIANT_TYPE_ARRAY))
        g_set_error (&error, TW_ERROR, TW_ERROR_PROTOCOL, "A chunk must be an array");
      else if (frame->kind == TW_WIRE_CHUNK)
        result = tw_wire_run_chunk (frame->payload, tw_child_call, runner, cancellable, &error);
      else
        result = tw_child_call (runner, frame->payload, cancellable, &error);
      serving_child = NULL;
    }

  g_mutex_lock (&child->lock);
  child->current_id = 0;
  child->cancellable = NULL;
  g_mutex_unlock (&child->lock);

  return tw_child_answer (child, frame->id, result, error);
}

/* Returns the exit status, and whether the reader thread has ended, so
 * that the child's resources can be freed. */
static int
tw_child_serve (TwChild  *child,
                gboolean *reader_ended)
{
  TwChildRunner runner = { NULL, };
  g_autoptr(GError) error = NULL;
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
    tw_child_setup (&runner, hello.payload, &error);
  tw_wire_frame_clear (&hello);

  if (error != NULL)
    {
      tw_child_append (child, TW_WIRE_SETUP_FAILED, 0, tw_wire_error_to_variant (error));
      tw_child_flush (child);
      return 1;
    }

  tw_child_append (child, TW_WIRE_READY, 0,
                   g_variant_new ("(ut)", TW_WIRE_VERSION, (guint64)getpid ()));
  if (!tw_child_flush (child))
    return 1;

  reader = g_thread_new ("tw-child-reader", tw_child_reader_thread, child);

  while ((frame = g_async_queue_pop (child->frames))->payload != NULL)
    {
      gboolean written = (frame->kind != TW_WIRE_TASK && frame->kind != TW_WIRE_CHUNK) ||
                         tw_child_run_task (child, &runner, frame);

      tw_child_frame_free (frame);
      if (!written)
        break;
    }

  /* After the end of the queue the reader has returned; after a failed
   * write it may still be blocked reading, and the process exits
   * without it. */
  *reader_ended = frame->payload == NULL;
  if (*reader_ended)
    {
      tw_child_frame_free (frame);
      g_thread_join (reader);
    }
  else
    g_thread_unref (reader);

  if (runner.worker != NULL)
    {
      tw_worker_teardown (runner.worker);
      g_object_unref (runner.worker);
    }

  return 0;
}

/* Sends progress for the running task to the parent. Returns FALSE when
 * the calling thread is not a worker process's serving thread. */
gboolean
tw_process_report_progress (gdouble     fraction,
                            const char *message)
{
  if (serving_child == NULL || g_thread_self () != serving_thread)
    return FALSE;

  tw_child_append (serving_child, TW_WIRE_PROGRESS, serving_id,
                   g_variant_new ("(ds)", fraction, message ? message : ""));
  tw_child_flush (serving_child);

  return TRUE;
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

/**
 * tw_is_worker_process:
 *
 * Checks whether this process was started by a troupe as a worker and
 * has not yet become one with tw_init() or tw_process_main().
 *
 * Returns: %TRUE in a worker process before it serves tasks
 *
 * Since: 1.0
 */
gboolean
tw_is_worker_process (void)
{
  return g_getenv (TW_WIRE_ENV) != NULL;
}

/**
 * tw_process_main:
 *
 * Serves tasks on this thread until the troupe shuts the worker down or
 * goes away, then returns the exit status the process should exit with.
 * tw_init() calls this and exits; a binding may call it instead so that
 * it can exit in its own way (flushing its buffers, say).
 *
 * Call it only where tw_is_worker_process() is %TRUE.
 *
 * Returns: the exit status for the worker process: 0 after a clean
 *   shutdown, 1 when setup failed, 2 when the process was not started as
 *   a worker
 *
 * Since: 1.0
 */
int
tw_process_main (void)
{
  TwChild child = { { 0, }, };
  int in_fd, out_fd;
  int status;
  gboolean reader_ended;

  if (!tw_is_worker_process () ||
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

  prctl (PR_SET_PDEATHSIG, SIGKILL);

  serving_thread = g_thread_self ();
  tw_wire_reader_init (&child.reader, in_fd);
  child.out_fd = out_fd;
  child.frames = g_async_queue_new_full (tw_child_frame_free);
  child.out = g_byte_array_new ();
  child.cancelled = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_mutex_init (&child.lock);

  status = tw_child_serve (&child, &reader_ended);

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

/**
 * tw_init:
 *
 * Prepares tiny-worker for process mode. Call it early in main(), after
 * registering functions with tw_register_func() and worker types with
 * g_type_ensure(), and before the program's own logic.
 *
 * In a worker process started by a troupe, it serves tasks and then
 * exits the process: it never returns. Anywhere else it records the
 * working directory that worker processes will start in, and returns at
 * once. Programs that use only %TW_TROUPE_MODE_THREAD need not call it.
 *
 * Since: 1.0
 */
void
tw_init (void)
{
  if (tw_is_worker_process ())
    exit (tw_process_main ());

  if (g_once_init_enter (&initial_cwd))
    g_once_init_leave (&initial_cwd, g_get_current_dir ());
}

const char *
tw_process_get_initial_cwd (void)
{
  return initial_cwd;
}

/* The command line of this process, to start workers as "spawn" does:
 * the same executable (by its real path, so a changed PATH or a relative
 * argv[0] does not matter) with the same arguments. */
char **
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
