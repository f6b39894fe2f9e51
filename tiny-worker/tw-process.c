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

#include <stdlib.h>

#include "tw-process.h"
#include "tw-process-child-private.h"
#include "tw-process-private.h"
#include "tw-wire-private.h"

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
 * does a value over the frame limit of 512 MiB. A value nested more than
 * 126 levels deep (GLib reads 128, and a frame takes two) is refused the
 * same way in both modes, so a troupe takes the same values whatever its
 * mode. A function crosses by the
 * name it was registered under (tw_troupe_new_for_func_name()); a troupe
 * made with tw_troupe_new_for_func() fails its tasks with
 * %G_IO_ERROR_NOT_SUPPORTED in process mode. A worker crosses as its
 * GType name plus its `a{sv}` construct properties. Errors cross as their
 * domain's quark name, code and message, so they arrive unchanged, with
 * three exceptions that keep a worker from misleading the troupe: a
 * %G_IO_ERROR_CANCELLED the troupe did not ask for, any
 * %TW_ERROR_SHUT_DOWN, and a domain that is empty or new past the first
 * 64 new ones arrive as %TW_ERROR_FAILED quoting them.
 *
 * ## Crashes, cancellation and shutdown
 *
 * A worker process that dies while it runs a task (a crash, abort(),
 * exit(), SIGKILL) fails that task only, with %TW_ERROR_WORKER_CRASHED
 * and a message that names the signal or exit status; the next task
 * starts a new process. Its death is seen through a pidfd, at once, even
 * when a process it started still holds its pipes. A worker whose setup
 * fails fails the task given to it with the setup error; the troupe then
 * waits 100 ms, 200 ms, 400 ms and 800 ms before its next attempts, and
 * after five failures in a row it stops starting processes and fails
 * every task with the last setup error. A worker that cannot start for
 * want of file descriptors (`RLIMIT_NOFILE`) is tried again after 50 ms,
 * doubling up to 1.6 s, without counting as a failure, while the workers
 * that run take the tasks; when none runs, tasks fail after about 1.5 s
 * with an error that names the limit.
 *
 * Cancelling a running task triggers the worker's #GCancellable in the
 * child. If the task has not returned within #TwTroupe:cancel-grace-period
 * (1000 ms by default), the child is killed, the task fails with
 * %G_IO_ERROR_CANCELLED, and the next task starts a new process.
 *
 * Shutdown asks each child to quit, waits up to five seconds and then
 * kills it; every child is reaped. Children inherit no file descriptor of
 * the parent but their two protocol pipes, which they make close-on-exec
 * so that programs they run do not hold them, and they exit when the
 * parent dies: they see the pipe close, and the kernel sends them SIGKILL
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
 * the size limit, not in normal form or of an unexpected kind kills that
 * child, and the task it was running fails with %TW_ERROR_PROTOCOL. A
 * frame about another task (an extra or repeated answer, a wrong id)
 * kills the child too, but the task it was running goes to the next
 * worker, up to three times. Tasks sent behind it go to the next worker
 * as well.
 */

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
  return tw_process_child_main ();
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

  tw_process_launch_init ();
}

