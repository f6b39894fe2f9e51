/* tw-test-launch.c: helpers for the launcher tests
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
#include <sys/socket.h>
#include <unistd.h>

#include "tw-test-launch.h"

void
tw_test_launch_init (int    *argc,
                     char ***argv)
{
  tw_test_process_serve ();
  tw_test_process_init_full (argc, argv, "TW_LAUNCH_WORKER", "tw-launch-worker");
  tw_test_set_wait_timeout (TW_TEST_LAUNCH_TIMEOUT_USEC);
}

TwTroupe *
tw_test_launch_troupe_new (const char         *func_name,
                           const char * const *launcher,
                           const char         *worker_path,
                           guint               n_workers)
{
  TwTroupe *troupe = tw_test_process_troupe_new (func_name, TW_TEST_WORKER_PROGRAM, n_workers);

  if (worker_path != NULL)
    {
      const char *argv[] = { worker_path, NULL };

      tw_troupe_set_worker_argv (troupe, argv);
    }
  if (launcher != NULL)
    tw_troupe_set_launcher (troupe, launcher);

  return troupe;
}

void
tw_test_launch_assert_squares (TwTroupe *troupe)
{
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GString) line = g_string_new ("[");

  for (guint i = 0; i < 10; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));

  for (guint i = 0; i < 10; i++)
    g_string_append_printf (line, "%s%" G_GINT64_FORMAT, i > 0 ? ", " : "",
                            tw_test_wait_int64 (futures->pdata[i]));

  g_string_append (line, "]");
  g_assert_cmpstr (line->str, ==, "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]");
}

char *
tw_test_launch_find_program (const char *name)
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

char *
tw_test_launch_copy_worker (const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *bin = g_build_filename (dir, "bin", NULL);
  char *copy = g_build_filename (bin, "tw-remote-worker", NULL);
  gsize length;

  g_assert_cmpint (g_mkdir_with_parents (bin, 0755), ==, 0);
  g_file_get_contents (tw_test_get_worker_path (), &contents, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents_full (copy, contents, length, G_FILE_SET_CONTENTS_NONE, 0755, &error);
  g_assert_no_error (error);

  return copy;
}

gboolean
tw_test_launch_run (const char * const  *argv,
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

guint16
tw_test_launch_free_port (void)
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
