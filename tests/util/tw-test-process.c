/* tw-test-process.c: helpers for the tests of process mode and launchers
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
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tw-test-funcs.h"
#include "tw-test-process.h"

/* Set by tw_test_process_init (), read-only while the tests run. */
static char *self_path;
static char *worker_path;

char *
tw_test_find_program (const char *env_name,
                      const char *name)
{
  const char *path = g_getenv (env_name);
  g_autofree char *dir = NULL;

  if (path != NULL)
    return g_strdup (path);

  dir = g_path_get_dirname (self_path);

  return g_build_filename (dir, name, NULL);
}

void
tw_test_process_serve (void)
{
  tw_test_funcs_register ();
  tw_init ();
}

void
tw_test_process_init_full (int          *argc,
                           char       ***argv,
                           const char   *env_name,
                           const char   *name)
{
  g_test_init (argc, argv, NULL);

  self_path = g_file_read_link ("/proc/self/exe", NULL);
  g_assert_nonnull (self_path);
  worker_path = tw_test_find_program (env_name, name);
}

void
tw_test_process_init (int    *argc,
                      char ***argv)
{
  tw_test_process_init_full (argc, argv, "TW_TEST_WORKER", "tw-test-worker");
  g_test_bug_base ("");
  g_test_bug ("4");
}

const char *
tw_test_get_self_path (void)
{
  return self_path;
}

const char *
tw_test_get_worker_path (void)
{
  return worker_path;
}

void
tw_test_add_kind_test (const char    *path,
                       GTestDataFunc  func)
{
  g_autofree char *self = g_strconcat (path, "/re-executed", NULL);
  g_autofree char *program = g_strconcat (path, "/worker-argv", NULL);

  g_test_add_data_func (self, GINT_TO_POINTER (TW_TEST_WORKER_SELF), func);
  g_test_add_data_func (program, GINT_TO_POINTER (TW_TEST_WORKER_PROGRAM), func);
}

void
tw_test_set_worker_program (TwTroupe         *troupe,
                            TwTestWorkerKind  kind)
{
  if (kind == TW_TEST_WORKER_PROGRAM)
    {
      const char *argv[] = { worker_path, NULL };

      tw_troupe_set_worker_argv (troupe, argv);
    }
}

TwTroupe *
tw_test_process_troupe_new (const char       *func_name,
                            TwTestWorkerKind  kind,
                            guint             n_workers)
{
  TwTroupe *troupe = tw_troupe_new_for_func_name (func_name);

  tw_troupe_set_mode (troupe, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (troupe, n_workers);
  tw_test_set_worker_program (troupe, kind);

  return troupe;
}

GPid
tw_test_run_pid_task (TwTroupe *troupe)
{
  g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new ("()"));

  return tw_test_wait_int64 (future);
}

GPid
tw_test_wait_pid_file (const char *path)
{
  gint64 end_time = g_get_monotonic_time () + TW_TEST_TIMEOUT_USEC;

  while (g_get_monotonic_time () < end_time)
    {
      g_autofree char *contents = NULL;

      if (g_file_get_contents (path, &contents, NULL, NULL))
        return (GPid)g_ascii_strtoll (contents, NULL, 10);
      g_usleep (2000);
    }

  g_error ("No pid file %s appeared", path);
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

gboolean
tw_test_process_is_running (GPid pid)
{
  char state;
  GPid ppid;

  return read_proc_stat (pid, &state, &ppid) && state != 'Z' && state != 'X';
}

/* Its main thread turns zombie as soon as it exits, while the others may
 * still hold the process's files for a moment. */
gboolean
tw_test_process_is_gone (GPid pid)
{
  g_autofree char *tasks_path = g_strdup_printf ("/proc/%d/task", (int)pid);
  g_autoptr(GDir) tasks = NULL;
  guint n_tasks = 0;

  if (tw_test_process_is_running (pid))
    return FALSE;

  tasks = g_dir_open (tasks_path, 0, NULL);
  while (tasks != NULL && g_dir_read_name (tasks) != NULL)
    n_tasks++;

  return n_tasks <= 1;
}

GArray *
tw_test_list_children (GPid parent)
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

void
tw_test_assert_no_children (void)
{
  g_autoptr(GArray) children = tw_test_list_children (getpid ());
  pid_t ret;

  for (guint i = 0; i < children->len; i++)
    g_test_message ("left-over child process %d", (int)g_array_index (children, GPid, i));
  g_assert_cmpuint (children->len, ==, 0);

  errno = 0;
  ret = waitpid (-1, NULL, WNOHANG);
  g_assert_cmpint (ret, ==, -1);
  g_assert_cmpint (errno, ==, ECHILD);
}

void
tw_test_shutdown_and_check (TwTroupe       *troupe,
                            TwShutdownMode  mode)
{
  tw_troupe_shutdown (troupe, mode);
  tw_test_assert_no_children ();
}

guint
tw_test_count_processes (const char *exe_path)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *name;
  guint count = 0;

  g_assert_nonnull (dir);

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *exe_link = NULL;
      g_autofree char *exe = NULL;
      g_autofree char *status_path = NULL;
      g_autofree char *status = NULL;

      if (!g_ascii_isdigit (name[0]))
        continue;

      exe_link = g_build_filename ("/proc", name, "exe", NULL);
      exe = g_file_read_link (exe_link, NULL);
      if (exe == NULL || !g_str_has_prefix (exe, exe_path) ||
          (exe[strlen (exe_path)] != '\0' && !g_str_equal (exe + strlen (exe_path), " (deleted)")))
        continue;

      status_path = g_build_filename ("/proc", name, "status", NULL);
      if (g_file_get_contents (status_path, &status, NULL, NULL) &&
          strstr (status, "\nState:\tZ") == NULL)
        count++;
    }

  return count;
}

void
tw_test_assert_no_process (const char *exe_path)
{
  gint64 end_time = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (tw_test_count_processes (exe_path) > 0 && g_get_monotonic_time () < end_time)
    g_usleep (20000);

  g_assert_cmpuint (tw_test_count_processes (exe_path), ==, 0);
}
