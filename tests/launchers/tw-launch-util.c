/* tw-launch-util.c: helpers shared by the launcher tests
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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "tw-launch-funcs.h"
#include "tw-launch-util.h"

static char *worker_path;

/* Registers the functions and calls tw_init() as a program that uses
 * process mode must, then
 * g_test_init(); finds tw-launch-worker through TW_LAUNCH_WORKER (set by
 * meson) or next to the test program. */
void
tw_launch_test_init (int    *argc,
                     char ***argv)
{
  tw_launch_test_register ();
  tw_init ();
  g_test_init (argc, argv, NULL);

  if (g_getenv ("TW_LAUNCH_WORKER") != NULL)
    worker_path = g_strdup (g_getenv ("TW_LAUNCH_WORKER"));
  else
    {
      g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
      g_autofree char *dir = g_path_get_dirname (exe ? exe : (*argv)[0]);

      worker_path = g_build_filename (dir, "tw-launch-worker", NULL);
    }
}

const char *
tw_launch_test_get_worker_path (void)
{
  return worker_path;
}

/* A process troupe for @func_name of tw-launch-worker (or of the program
 * at @worker_path), started through @launcher if not %NULL. */
TwTroupe *
tw_launch_test_troupe_new (const char         *func_name,
                           const char * const *launcher,
                           const char         *worker_path_,
                           guint               n_workers)
{
  const char *argv[] = { worker_path_ ? worker_path_ : worker_path, NULL };
  TwTroupe *troupe = tw_troupe_new_for_func_name (func_name);

  tw_troupe_set_mode (troupe, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (troupe, n_workers);
  tw_troupe_set_worker_argv (troupe, argv);
  if (launcher != NULL)
    tw_troupe_set_launcher (troupe, launcher);

  return troupe;
}

GVariant *
tw_launch_test_wait_value (TwFuture *future)
{
  g_autoptr(GError) error = NULL;
  GVariant *value = tw_future_wait (future, TW_LAUNCH_TIMEOUT_USEC, &error);

  g_assert_no_error (error);
  g_assert_nonnull (value);

  return value;
}

gint64
tw_launch_test_wait_int64 (TwFuture *future)
{
  g_autoptr(GVariant) value = tw_launch_test_wait_value (future);

  g_assert_true (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64));

  return g_variant_get_int64 (value);
}

/* The error @future fails with; a timeout of the wait is a test failure. */
GError *
tw_launch_test_wait_error (TwFuture *future)
{
  GError *error = NULL;
  g_autoptr(GVariant) value = tw_future_wait (future, TW_LAUNCH_TIMEOUT_USEC, &error);

  g_assert_null (value);
  g_assert_nonnull (error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) && !tw_future_is_done (future))
    g_error ("The task did not finish within %d s", (int)(TW_LAUNCH_TIMEOUT_USEC / G_USEC_PER_SEC));

  return error;
}

void
tw_launch_test_assert_contains (const char *haystack,
                                const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_error ("Expected “%s” in “%s”", needle, haystack);
}

/* What the seed examples print: squares 0..@n-1, as a Python list. */
char *
tw_launch_test_square_list (TwTroupe *troupe,
                            guint     n)
{
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  GString *line = g_string_new ("[");

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));

  for (guint i = 0; i < n; i++)
    g_string_append_printf (line, "%s%" G_GINT64_FORMAT, i > 0 ? ", " : "",
                            tw_launch_test_wait_int64 (futures->pdata[i]));

  g_string_append (line, "]");

  return g_string_free (line, FALSE);
}

char *
tw_launch_test_make_temp_dir (const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *template = g_strdup_printf ("tw-test-%s-XXXXXX", name);
  char *dir = g_dir_make_tmp (template, &error);

  g_assert_no_error (error);

  return dir;
}

/* Removes @path and everything under it; symbolic links are not followed. */
void
tw_launch_test_remove_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        tw_launch_test_remove_dir (child);
      else
        g_unlink (child);
    }

  g_rmdir (path);
}

/* Finds @name in PATH or in the sbin directories, where daemons live
 * and which a user's PATH may lack. */
char *
tw_launch_test_find_program (const char *name)
{
  static const char * const sbin[] = { "/usr/sbin", "/sbin", "/usr/local/sbin", NULL };
  char *path = g_find_program_in_path (name);

  for (guint i = 0; path == NULL && sbin[i] != NULL; i++)
    {
      path = g_build_filename (sbin[i], name, NULL);
      if (!g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
        g_clear_pointer (&path, g_free);
    }

  return path;
}

/* Copies tw-launch-worker to @dir/bin/tw-remote-worker: a worker program
 * path that differs from the one the parent knows, as on another machine. */
char *
tw_launch_test_copy_worker (const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *bin = g_build_filename (dir, "bin", NULL);
  char *copy = g_build_filename (bin, "tw-remote-worker", NULL);
  gsize length;

  g_assert_cmpint (g_mkdir_with_parents (bin, 0755), ==, 0);
  g_file_get_contents (worker_path, &contents, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents_full (copy, contents, length, G_FILE_SET_CONTENTS_NONE, 0755, &error);
  g_assert_no_error (error);

  return copy;
}

/* Runs @argv to its end, with stdout and stderr in @output; FALSE with
 * @error set if it could not start or did not exit with status 0. */
gboolean
tw_launch_test_run (const char * const  *argv,
                    char               **output,
                    GError             **error)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *text = NULL;

  *output = NULL;
  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_INHERIT |
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                               G_SUBPROCESS_FLAGS_STDERR_MERGE, error);
  if (process == NULL ||
      !g_subprocess_communicate_utf8 (process, NULL, NULL, &text, NULL, error))
    return FALSE;

  *output = g_steal_pointer (&text);
  if (!g_subprocess_get_successful (process))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s exited with status %d: %s",
                   argv[0], g_subprocess_get_exit_status (process), *output);
      return FALSE;
    }

  return TRUE;
}

/* A TCP port on 127.0.0.1 that nothing listens on now. */
guint16
tw_launch_test_free_port (void)
{
  struct sockaddr_in address = { .sin_family = AF_INET };
  socklen_t length = sizeof address;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (fd, (struct sockaddr *)&address, sizeof address), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *)&address, &length), ==, 0);
  close (fd);

  return ntohs (address.sin_port);
}

/* How many running processes (zombies excluded) run the program at
 * @exe_path. */
guint
tw_launch_test_count_processes (const char *exe_path)
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

/* Waits up to ten seconds for every process running @exe_path to end:
 * the workers of a troupe that was freed, wherever a launcher put them. */
void
tw_launch_test_assert_no_process (const char *exe_path)
{
  gint64 end_time = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (tw_launch_test_count_processes (exe_path) > 0 && g_get_monotonic_time () < end_time)
    g_usleep (20000);

  g_assert_cmpuint (tw_launch_test_count_processes (exe_path), ==, 0);
}

/* The number of lines in the file at @path, 0 if there is none. */
guint
tw_launch_test_count_lines (const char *path)
{
  g_autofree char *contents = NULL;
  guint lines = 0;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return 0;

  for (const char *p = contents; *p != '\0'; p++)
    if (*p == '\n')
      lines++;

  return lines;
}
