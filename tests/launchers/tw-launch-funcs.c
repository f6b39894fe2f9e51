/* tw-launch-funcs.c: the functions of the launcher tests' worker program
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

/*
 * Both sides register these: the worker program to run them, and the
 * test programs, since a troupe refuses a function name that is not
 * registered where it is made.
 */

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tw-launch-funcs.h"

/* "square": x → x * x, as the seed examples. */
static GVariant *
square_func (GVariant      *input,
             GCancellable  *cancellable,
             gpointer       user_data,
             GError       **error)
{
  gint64 x = g_variant_get_int64 (input);

  return g_variant_new_int64 (x * x);
}

/* "exe": the path of the program this worker runs, to tell which copy
 * a launcher started. */
static GVariant *
exe_func (GVariant      *input,
          GCancellable  *cancellable,
          gpointer       user_data,
          GError       **error)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", error);

  if (exe == NULL)
    return NULL;

  return g_variant_new_string (exe);
}

/* "write-file": creates the file named by the input; fails with the
 * errno as a GIOError (G_IO_ERROR_READ_ONLY in a read-only sandbox). */
static GVariant *
write_file_func (GVariant      *input,
                 GCancellable  *cancellable,
                 gpointer       user_data,
                 GError       **error)
{
  const char *path = g_variant_get_string (input, NULL);
  static const char text[] = "written by a worker\n";
  int fd;

  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write (fd, text, sizeof text - 1) != (gssize)sizeof text - 1)
    {
      int saved_errno = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot write %s: %s", path, g_strerror (saved_errno));
      return NULL;
    }

  close (fd);

  return g_variant_new_boolean (TRUE);
}

/* "connect": opens a TCP connection to the (host, port) of the input and
 * closes it; fails with the errno as a GIOError. */
static GVariant *
connect_func (GVariant      *input,
              GCancellable  *cancellable,
              gpointer       user_data,
              GError       **error)
{
  struct sockaddr_in address = { .sin_family = AF_INET };
  const char *host;
  guint16 port;
  int fd;

  g_variant_get (input, "(&sq)", &host, &port);
  address.sin_port = htons (port);
  if (inet_pton (AF_INET, host, &address.sin_addr) != 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Not an IPv4 address: %s", host);
      return NULL;
    }

  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *)&address, sizeof address) < 0)
    {
      int saved_errno = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot connect to %s:%u: %s", host, port, g_strerror (saved_errno));
      return NULL;
    }

  close (fd);

  return g_variant_new_boolean (TRUE);
}

/* "allocate": allocates and touches the number of bytes of the input;
 * over TwTroupe:max-memory, g_malloc() aborts the process. */
static GVariant *
allocate_func (GVariant      *input,
               GCancellable  *cancellable,
               gpointer       user_data,
               GError       **error)
{
  guint64 size = g_variant_get_uint64 (input);
  volatile guint8 *data = g_malloc (size);
  guint64 sum;

  memset ((guint8 *)data, 1, size);
  sum = data[0] + data[size - 1];
  g_free ((guint8 *)data);

  return g_variant_new_uint64 (sum);
}

/* "spin": keeps a CPU busy for at most the seconds of the input (of
 * wall time, so a broken TwTroupe:max-cpu-time cannot hang the test). */
static GVariant *
spin_func (GVariant      *input,
           GCancellable  *cancellable,
           gpointer       user_data,
           GError       **error)
{
  gint64 end_time = g_get_monotonic_time () + g_variant_get_uint32 (input) * G_USEC_PER_SEC;
  volatile guint64 n = 0;

  while (g_get_monotonic_time () < end_time)
    {
      for (guint i = 0; i < 100000; i++)
        n++;
    }

  return g_variant_new_uint64 (n);
}

/* "getenv": the value of the environment variable named by the input,
 * or "" if unset: shows what the launcher set up. */
static GVariant *
getenv_func (GVariant      *input,
             GCancellable  *cancellable,
             gpointer       user_data,
             GError       **error)
{
  const char *value = g_getenv (g_variant_get_string (input, NULL));

  return g_variant_new_string (value ? value : "");
}

/* "rlimits": the worker's soft RLIMIT_AS and RLIMIT_CPU, as (tt), with
 * G_MAXUINT64 for no limit. */
static GVariant *
rlimits_func (GVariant      *input,
              GCancellable  *cancellable,
              gpointer       user_data,
              GError       **error)
{
  struct rlimit as_limit, cpu_limit;

  getrlimit (RLIMIT_AS, &as_limit);
  getrlimit (RLIMIT_CPU, &cpu_limit);

  return g_variant_new ("(tt)",
                        as_limit.rlim_cur == RLIM_INFINITY ? G_MAXUINT64 : (guint64)as_limit.rlim_cur,
                        cpu_limit.rlim_cur == RLIM_INFINITY ? G_MAXUINT64 : (guint64)cpu_limit.rlim_cur);
}

/* "pid": the worker's pid, to tell when a worker was replaced. */
static GVariant *
pid_func (GVariant      *input,
          GCancellable  *cancellable,
          gpointer       user_data,
          GError       **error)
{
  return g_variant_new_int64 (getpid ());
}

void
tw_launch_test_register (void)
{
  tw_register_func ("square", square_func, NULL, NULL);
  tw_register_func ("exe", exe_func, NULL, NULL);
  tw_register_func ("write-file", write_file_func, NULL, NULL);
  tw_register_func ("connect", connect_func, NULL, NULL);
  tw_register_func ("allocate", allocate_func, NULL, NULL);
  tw_register_func ("spin", spin_func, NULL, NULL);
  tw_register_func ("getenv", getenv_func, NULL, NULL);
  tw_register_func ("rlimits", rlimits_func, NULL, NULL);
  tw_register_func ("pid", pid_func, NULL, NULL);
}
