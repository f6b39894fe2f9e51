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

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

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

/*
 * tw_process_fill_blocked_signals:
 * @set: the set to fill
 *
 * The signals a process runner's thread blocks: SIGPIPE, so that writing
 * to a dead worker fails with EPIPE, and the asynchronous signals a
 * program handles, so that the kernel gives them to one of the program's
 * own threads (Python, for one, is only woken from a wait in its main
 * thread). Async-signal-safe.
 */
void
tw_process_fill_blocked_signals (sigset_t *set)
{
  static const int signals[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
                                 SIGUSR2, SIGCHLD, SIGALRM, SIGWINCH };

  sigemptyset (set);
  for (gsize i = 0; i < G_N_ELEMENTS (signals); i++)
    sigaddset (set, signals[i]);
}

static void
tw_process_child_setup (gpointer user_data)
{
  TwProcessConfig *config = user_data;
  sigset_t blocked;

  /* Only async-signal-safe calls here: this runs between fork and exec.
   * The worker must not inherit what the process runner blocks. */
  tw_process_fill_blocked_signals (&blocked);
  pthread_sigmask (SIG_UNBLOCK, &blocked, NULL);
  prctl (PR_SET_PDEATHSIG, SIGKILL);

  /* With a launcher, prlimit on the command line sets them instead. */
  if (config->launcher == NULL && config->max_memory > 0)
    setrlimit (RLIMIT_AS, &(struct rlimit) { config->max_memory, config->max_memory });
  /* A hard limit above the soft one makes the kernel send SIGXCPU, which
   * names the cause, before SIGKILL. */
  if (config->launcher == NULL && config->max_cpu_time > 0)
    setrlimit (RLIMIT_CPU, &(struct rlimit) { config->max_cpu_time, config->max_cpu_time + 1 });
}

/* Stores how the child ended once it has; with WNOHANG in @flags,
 * returns FALSE while it runs. Someone else may have reaped it (a
 * SIGCHLD handler of the application's): then its status is unknown. */
static gboolean
tw_process_try_reap (TwProcessWorker *worker,
                     int              flags)
{
  int status = 0;
  pid_t ret;

  do
    ret = waitpid (worker->pid, &status, flags);
  while (ret < 0 && errno == EINTR);

  if (ret == 0)
    return FALSE;

  worker->wait_status = ret == worker->pid ? status : -1;
  worker->pid = 0;
  g_atomic_int_set (&worker->reaped, TRUE);

  return TRUE;
}

/* Reaps the child, killing it if it has not exited within @timeout_msec.
 * Its pidfd says when it exits; without one, it is polled. */
static void
tw_process_reap (TwProcessWorker *worker,
                 guint            timeout_msec)
{
  gint64 deadline = g_get_monotonic_time () + (gint64)timeout_msec * 1000;

  while (worker->pid != 0 && !tw_process_try_reap (worker, WNOHANG))
    {
      gint64 remaining = deadline - g_get_monotonic_time ();
      struct pollfd pfd = { .fd = worker->reader.pid_fd, .events = POLLIN };

      if (remaining <= 0)
        {
          kill (worker->pid, SIGKILL);
          tw_process_try_reap (worker, 0);
        }
      else if (pfd.fd >= 0)
        poll (&pfd, 1, (int)((remaining + 999) / 1000));
      else
        g_usleep (MIN (remaining, 10000));
    }
}

#define STDERR_TAIL_SIZE 2048
#define STDERR_SLICE_MSEC 100
#define STDERR_DRAIN_MSEC 200

/* Copies a launched worker's stderr to ours, keeping its tail for error
 * messages: a launcher that fails says why there. It ends at the end of
 * the pipe, or once the launched process is gone and what it wrote is
 * read: a background process it left may hold the pipe for long, and
 * write on, for at most STDERR_DRAIN_MSEC more. Without a pidfd, it looks
 * every STDERR_SLICE_MSEC whether the launched process has been reaped. */
static gpointer
tw_process_stderr_thread (gpointer data)
{
  TwProcessWorker *worker = data;
  struct pollfd fds[2] = { { .fd = worker->stderr_fd, .events = POLLIN },
                           { .fd = worker->reader.pid_fd, .events = POLLIN } };
  char buffer[4096];
  gint64 gone_time = 0;
  gssize n;
  G_GNUC_UNUSED gssize written;

  for (;;)
    {
      if (poll (fds, 2, fds[1].fd >= 0 ? -1 : STDERR_SLICE_MSEC) < 0 && errno != EINTR)
        break;
      if (gone_time == 0 && (fds[1].revents != 0 || g_atomic_int_get (&worker->reaped)))
        gone_time = g_get_monotonic_time ();

      n = read (worker->stderr_fd, buffer, sizeof buffer);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        break;
      if (n < 0)
        {
          if (gone_time != 0)
            break;
          continue;
        }
      if (gone_time != 0 && g_get_monotonic_time () - gone_time > STDERR_DRAIN_MSEC * 1000)
        break;

      written = write (STDERR_FILENO, buffer, n);
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
  int status = worker->wait_status;
  GString *how = g_string_new (NULL);

  if (status == -1)
    g_string_append (how, "ended (something else reaped it)");
  else if (WIFSIGNALED (status))
    g_string_append_printf (how, "was killed by signal %d (%s)",
                            WTERMSIG (status), g_strsignal (WTERMSIG (status)));
  else
    g_string_append_printf (how, "exited with status %d", WEXITSTATUS (status));

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
                     g_variant_new ("()"), worker->reader.pid_fd, NULL);
      close (worker->to_child);
      worker->to_child = -1;
      tw_process_reap (worker, QUIT_TIMEOUT_MSEC);
    }

  tw_process_worker_join_stderr (worker);
  if (worker->stderr_tail != NULL)
    {
      g_string_free (worker->stderr_tail, TRUE);
      g_mutex_clear (&worker->stderr_lock);
    }
  if (worker->stderr_fd >= 0)
    close (worker->stderr_fd);
  if (worker->to_child >= 0)
    close (worker->to_child);
  if (worker->reader.pid_fd >= 0)
    close (worker->reader.pid_fd);
  close (worker->reader.fd);
  tw_wire_reader_clear (&worker->reader);
  g_free (worker);

  g_mutex_lock (&config->lock);
  config->n_live--;
  g_mutex_unlock (&config->lock);
}

/* Kills and reaps the child; returns how it ended. */
char *
tw_process_worker_kill (TwProcessWorker *worker,
                        TwProcessConfig *config,
                        gboolean         force)
{
  if (force && worker->pid != 0)
    kill (worker->pid, SIGKILL);
  tw_process_reap (worker, QUIT_TIMEOUT_MSEC);
  worker->dead = TRUE;
  tw_process_worker_join_stderr (worker);

  return tw_process_describe_exit (worker, config);
}

#ifndef SYS_pidfd_open
# define SYS_pidfd_open 434
#endif

/* Sets @error for a start that failed with @saved_errno; one for want of
 * file descriptors says so, and that a retry may succeed. */
static void
tw_process_set_start_error (GError     **error,
                            int          saved_errno,
                            const char  *what,
                            gboolean    *retry_later)
{
  struct rlimit limit = { 0, };

  if (saved_errno != EMFILE && saved_errno != ENFILE)
    {
      g_set_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP,
                   "Cannot start a worker process: %s: %s", what, g_strerror (saved_errno));
      return;
    }

  getrlimit (RLIMIT_NOFILE, &limit);
  g_set_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP,
               "Cannot start a worker process: %s: %s (this process may have %"
               G_GUINT64_FORMAT " open files, its RLIMIT_NOFILE)", what,
               g_strerror (saved_errno), (guint64)limit.rlim_cur);
  *retry_later = TRUE;
}

/* A worker for the child @pid whose protocol ends are @to_child and
 * @from_child (taken). Its pidfd tells the reader of its death even when
 * a descendant holds the pipe. */
static TwProcessWorker *
tw_process_worker_wrap (GPid       pid,
                        int        to_child,
                        int        from_child,
                        gboolean  *retry_later,
                        GError   **error)
{
  TwProcessWorker *worker = g_new0 (TwProcessWorker, 1);
  int saved_errno;

  worker->pid = pid;
  worker->stderr_fd = -1;
  worker->to_child = to_child;
  tw_wire_reader_init (&worker->reader, from_child);
  g_unix_set_fd_nonblocking (to_child, TRUE, NULL);
  g_unix_set_fd_nonblocking (from_child, TRUE, NULL);

  worker->reader.pid = pid;
  /* The test suite checks the fallback for when there are no pidfds. */
  if (G_UNLIKELY (g_getenv ("TW_TEST_NO_PIDFD") != NULL))
    errno = ENOSYS;
  else
    worker->reader.pid_fd = syscall (SYS_pidfd_open, pid, 0);
  saved_errno = errno;
  /* Without pidfds (an old kernel, a seccomp filter), the reader polls
   * whether the child exited; only a lack of fds fails the start. */
  if (worker->reader.pid_fd < 0 && (saved_errno == EMFILE || saved_errno == ENFILE))
    {
      tw_process_set_start_error (error, saved_errno, "pidfd_open", retry_later);
      worker->dead = TRUE;
      kill (pid, SIGKILL);
      tw_process_reap (worker, QUIT_TIMEOUT_MSEC);
      close (to_child);
      close (from_child);
      tw_wire_reader_clear (&worker->reader);
      g_free (worker);
      return NULL;
    }

  return worker;
}

/* A spawn failed with @error, and errno @saved_errno: if it was for want
 * of file descriptors, says so in @error. GLib's error says so only in
 * its message, if at all; failing that, a pipe made now tells. */
static void
tw_process_spawn_failed (GError    **error,
                         int         saved_errno,
                         const char *what,
                         gboolean   *retry_later)
{
  const char *message = *error != NULL ? (*error)->message : "";
  int probe[2];

  if (saved_errno != EMFILE && saved_errno != ENFILE)
    {
      if (strstr (message, g_strerror (EMFILE)) != NULL)
        saved_errno = EMFILE;
      else if (strstr (message, g_strerror (ENFILE)) != NULL)
        saved_errno = ENFILE;
      else if (!g_unix_open_pipe (probe, FD_CLOEXEC, NULL))
        saved_errno = errno;
      else
        {
          close (probe[0]);
          close (probe[1]);
        }
    }

  if (saved_errno != EMFILE && saved_errno != ENFILE)
    return;

  g_clear_error (error);
  tw_process_set_start_error (error, saved_errno, what, retry_later);
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

#define SPAWN_FLAGS (G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH | G_SPAWN_CLOEXEC_PIPES)

/* Spawns the worker through the launcher, with the protocol on its stdin
 * and stdout, which is all that launchers such as ssh or srun forward. */
static TwProcessWorker *
tw_process_worker_launch (TwProcessConfig  *config,
                          gboolean         *retry_later,
                          GError          **error)
{
  g_auto(GStrv) argv = tw_process_launched_argv (config);
  TwProcessWorker *worker;
  int to_child, from_child, stderr_fd;
  GPid pid;

  if (!g_spawn_async_with_pipes_and_fds (initial_cwd, (const char * const *)argv, NULL,
                                         SPAWN_FLAGS, tw_process_child_setup, config,
                                         -1, -1, -1, NULL, NULL, 0, &pid,
                                         &to_child, &from_child, &stderr_fd, error))
    {
      tw_process_spawn_failed (error, errno, "spawning the launcher", retry_later);
      g_prefix_error (error, "Cannot start the worker launcher %s: ", argv[0]);
      return NULL;
    }

  worker = tw_process_worker_wrap (pid, to_child, from_child, retry_later, error);
  if (worker == NULL)
    {
      close (stderr_fd);
      return NULL;
    }

  worker->reader.newline = TRUE;  /* the worker speaks over its stdout */
  worker->reader.nudge_fd = to_child;  /* through a relay such as srun */
  worker->stderr_fd = stderr_fd;
  g_unix_set_fd_nonblocking (stderr_fd, TRUE, NULL);
  g_mutex_init (&worker->stderr_lock);
  worker->stderr_tail = g_string_new (NULL);
  worker->stderr_thread = g_thread_new ("tw-worker-stderr", tw_process_stderr_thread, worker);

  return worker;
}

/* Spawns the worker program with the protocol on fds 3 and 4. */
static TwProcessWorker *
tw_process_worker_spawn (TwProcessConfig  *config,
                         gboolean         *retry_later,
                         GError          **error)
{
  g_auto(GStrv) envp = NULL;
  int to_child[2];
  int from_child[2];
  int source_fds[2];
  const int target_fds[2] = { 3, 4 };
  gboolean spawned;
  GPid pid;

  if (config->argv == NULL || config->argv[0] == NULL)
    {
      g_set_error_literal (error, TW_ERROR, TW_ERROR_WORKER_SETUP,
                           "Cannot tell which program to start as a worker");
      return NULL;
    }

  if (config->launcher != NULL)
    return tw_process_worker_launch (config, retry_later, error);

  if (!g_unix_open_pipe (to_child, FD_CLOEXEC, NULL))
    {
      tw_process_set_start_error (error, errno, "pipe", retry_later);
      return NULL;
    }
  if (!g_unix_open_pipe (from_child, FD_CLOEXEC, NULL))
    {
      tw_process_set_start_error (error, errno, "pipe", retry_later);
      close (to_child[0]);
      close (to_child[1]);
      return NULL;
    }

  envp = g_environ_setenv (g_get_environ (), TW_WIRE_ENV, "3,4", TRUE);
  source_fds[0] = to_child[0];
  source_fds[1] = from_child[1];
  spawned = g_spawn_async_with_pipes_and_fds (initial_cwd, (const char * const *)config->argv,
                                              (const char * const *)envp, SPAWN_FLAGS,
                                              tw_process_child_setup, config, -1, -1, -1,
                                              source_fds, target_fds, 2, &pid,
                                              NULL, NULL, NULL, error);
  if (!spawned)
    tw_process_spawn_failed (error, errno, "spawn", retry_later);
  close (to_child[0]);
  close (from_child[1]);

  if (!spawned)
    {
      close (to_child[1]);
      close (from_child[0]);
      return NULL;
    }

  return tw_process_worker_wrap (pid, to_child[1], from_child[0], retry_later, error);
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
  int unread = -1;
  gboolean sent;

  sent = tw_wire_write (worker->to_child, TW_WIRE_HELLO, 0, config->hello,
                        worker->reader.pid_fd, &local_error);
  if (sent && tw_process_worker_read_ready (worker, cancellable, &frame, &local_error))
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

  /* A worker that took HELLO off the pipe did call tw_init(). */
  if (!sent || ioctl (worker->to_child, FIONREAD, &unread) < 0)
    unread = -1;
  how = tw_process_worker_kill (worker, config, !g_error_matches (local_error, G_IO_ERROR,
                                                          G_IO_ERROR_CONNECTION_CLOSED));

  if (local_error->domain == TW_ERROR)
    g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                "Worker process %s: ", how);
  else if (config->launcher != NULL)
    g_set_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP,
                 "The worker launcher %s %s before the worker was ready (%s)",
                 config->launcher[0], how, local_error->message);
  else if (unread == 0)
    g_set_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP,
                 "Worker process %s while it set up its worker, before it was ready (%s)",
                 how, local_error->message);
  else
    g_set_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP,
                 "Worker process %s before it read what to run (%s); does the program "
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

/* Whether some worker of the troupe runs. */
gboolean
tw_process_config_has_live_workers (TwProcessConfig *config)
{
  gboolean live;

  g_mutex_lock (&config->lock);
  live = config->n_live > 0;
  g_mutex_unlock (&config->lock);

  return live;
}

/* Starts a worker process and greets it; @wake_fd wakes the handshake
 * when @cancellable fires. A start that failed for want of file
 * descriptors sets @retry_later and does not count towards giving up:
 * the runner tries again while other workers serve. */
TwProcessWorker *
tw_process_worker_new (TwProcessConfig  *config,
                       GCancellable     *cancellable,
                       int               wake_fd,
                       gboolean         *retry_later,
                       GError          **error)
{
  TwProcessWorker *worker;
  GError *local_error = NULL;
  gboolean given_up;
  gboolean no_fds = FALSE;

  *retry_later = FALSE;
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

  worker = tw_process_worker_spawn (config, &no_fds, &local_error);
  if (worker != NULL)
    {
      worker->reader.wake_fd = wake_fd;
      g_mutex_lock (&config->lock);
      config->n_live++;
      g_mutex_unlock (&config->lock);
      if (!tw_process_worker_handshake (worker, config, cancellable, &local_error))
        {
          tw_process_worker_free (worker, config);
          worker = NULL;
        }
    }

  if (worker == NULL)
    {
      *retry_later = no_fds;
      /* A shutdown that cut the handshake short is no setup failure. */
      if (!g_cancellable_is_cancelled (cancellable) && !*retry_later)
        tw_process_config_setup_failed (config, local_error);
      g_propagate_error (error, local_error);
      return NULL;
    }

  g_mutex_lock (&config->lock);
  config->setup_failures = 0;
  g_mutex_unlock (&config->lock);

  return worker;
}
