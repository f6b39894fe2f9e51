/* tw-test-funcs.c: the functions that test worker programs run
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
 * Every worker program of the tests registers these, and so does every
 * test program that makes troupes for them, since a troupe refuses a
 * function name that is not registered where it is made.
 */

#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tw-test-funcs.h"
#include "tw-test-util.h"

G_DEFINE_QUARK (tw-test-process-error-quark, tw_test_process_error)

/* A crash on purpose must not leave a core dump behind, nor make the
 * system's crash handler spend seconds on it; and it must end the process
 * with the signal even where a sanitizer installed its own handler. */
static void
tw_test_prepare_crash (int signum)
{
  struct rlimit zero = { 0, 0 };

  setrlimit (RLIMIT_CORE, &zero);
  prctl (PR_SET_DUMPABLE, 0);
  signal (signum, SIG_DFL);
}

static void
tw_test_write_pid_file (const char *path)
{
  g_autofree char *contents = NULL;

  if (path == NULL || *path == '\0')
    return;

  /* A worker process that dies before it says that it runs the task is
   * not blamed for it (issue #14): say so before the test may kill it. */
  tw_report_progress (0, NULL);

  /* g_file_set_contents() renames a complete file into place, so the test
   * never reads half a pid. */
  contents = g_strdup_printf ("%d", (int)getpid ());
  g_file_set_contents (path, contents, -1, NULL);
}

static GVariant *
fail_func (GVariant      *input,
           GCancellable  *cancellable,
           gpointer       user_data,
           GError       **error)
{
  const char *domain;
  const char *message;
  gint32 code;

  g_variant_get (input, "(&si&s)", &domain, &code, &message);
  g_set_error_literal (error, g_quark_from_string (domain), code, message);

  return NULL;
}

/* The crashing functions spare an input of "survive", so that one troupe
 * can show both a crash and the tasks after it. */
static gboolean
tw_test_spared (GVariant *input)
{
  return g_variant_is_of_type (input, G_VARIANT_TYPE_STRING) &&
         g_str_equal (g_variant_get_string (input, NULL), "survive");
}

static GVariant *
segfault_func (GVariant      *input,
               GCancellable  *cancellable,
               gpointer       user_data,
               GError       **error)
{
  if (tw_test_spared (input))
    return g_variant_new_int64 (getpid ());

  tw_test_prepare_crash (SIGSEGV);
  raise (SIGSEGV);

  return NULL;
}

static GVariant *
abort_func (GVariant      *input,
            GCancellable  *cancellable,
            gpointer       user_data,
            GError       **error)
{
  if (tw_test_spared (input))
    return g_variant_new_int64 (getpid ());

  tw_test_prepare_crash (SIGABRT);
  abort ();
}

static GVariant *
exit_func (GVariant      *input,
           GCancellable  *cancellable,
           gpointer       user_data,
           GError       **error)
{
  if (tw_test_spared (input))
    return g_variant_new_int64 (getpid ());

  exit (3);
}

static GVariant *
sleep_func (GVariant      *input,
            GCancellable  *cancellable,
            gpointer       user_data,
            GError       **error)
{
  const char *pid_file;
  guint64 msec;
  gint64 end_time;

  g_variant_get (input, "(t&s)", &msec, &pid_file);
  end_time = g_get_monotonic_time () + (gint64)msec * 1000;
  tw_test_write_pid_file (pid_file);

  while (g_get_monotonic_time () < end_time)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      g_usleep (2000);
    }

  return g_variant_new_int64 (getpid ());
}

static GVariant *
ignore_cancel_func (GVariant      *input,
                    GCancellable  *cancellable,
                    gpointer       user_data,
                    GError       **error)
{
  tw_test_write_pid_file (g_variant_get_string (input, NULL));
  g_usleep (TW_TEST_IGNORE_CANCEL_SECONDS * G_USEC_PER_SEC);

  return g_variant_new_int64 (getpid ());
}

static GVariant *
print_func (GVariant      *input,
            GCancellable  *cancellable,
            gpointer       user_data,
            GError       **error)
{
  /* Bytes that would parse as a frame header, and no newline at the end:
   * if stdout were the protocol, this would break it. */
  static const char fake_header[] = "\x10\x00\x00\x00\x01\x00\x00\x00noise";

  printf ("noise from worker %d on stdout\n", (int)getpid ());
  fflush (stdout);
  if (write (STDOUT_FILENO, fake_header, sizeof fake_header - 1) < 0)
    g_warning ("write: %s", g_strerror (errno));
  g_print ("more noise through g_print ");
  fprintf (stderr, "noise from worker %d on stderr\n", (int)getpid ());
  g_printerr ("more noise through g_printerr\n");

  return g_variant_ref (input);
}

static GVariant *
pid_func (GVariant      *input,
          GCancellable  *cancellable,
          gpointer       user_data,
          GError       **error)
{
  return g_variant_new_int64 (getpid ());
}

static int
compare_ints (gconstpointer a,
              gconstpointer b)
{
  return *(const gint32 *)a - *(const gint32 *)b;
}

static GVariant *
fds_func (GVariant      *input,
          GCancellable  *cancellable,
          gpointer       user_data,
          GError       **error)
{
  g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (gint32));
  struct dirent *entry;
  DIR *dir;

  dir = opendir ("/proc/self/fd");
  if (dir == NULL)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "opendir: %s", g_strerror (saved_errno));
      return NULL;
    }

  while ((entry = readdir (dir)) != NULL)
    {
      gint32 fd;

      if (entry->d_name[0] == '.')
        continue;
      fd = atoi (entry->d_name);
      if (fd != dirfd (dir))
        g_array_append_val (fds, fd);
    }
  closedir (dir);

  g_array_sort (fds, compare_ints);

  return g_variant_new_fixed_array (G_VARIANT_TYPE_INT32, fds->data, fds->len,
                                    sizeof (gint32));
}

static GVariant *
big_func (GVariant      *input,
          GCancellable  *cancellable,
          gpointer       user_data,
          GError       **error)
{
  guint64 size = g_variant_get_uint64 (input);
  guint8 *data = g_malloc (size);

  for (guint64 i = 0; i < size; i++)
    data[i] = tw_test_big_byte (i);

  return g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size, TRUE, g_free, data);
}

static GVariant *
make_handle_func (GVariant      *input,
                  GCancellable  *cancellable,
                  gpointer       user_data,
                  GError       **error)
{
  return g_variant_new ("(sv)", "fd", g_variant_new_handle (0));
}

/* The (yi) value (1, 5), serialized with non-zero padding: a valid value
 * that is not in normal form, as g_variant_new_from_data() makes from
 * bytes it does not trust. */
GVariant *
tw_test_new_non_normal_value (void)
{
  static const guint8 data[8] = { 1, 0xAA, 0xAA, 0xAA, 5, 0, 0, 0 };
  GBytes *bytes = g_bytes_new_static (data, sizeof data);
  GVariant *value = g_variant_new_from_bytes (G_VARIANT_TYPE ("(yi)"), bytes, FALSE);

  g_bytes_unref (bytes);

  return value;
}

static GVariant *
non_normal_func (GVariant      *input,
                 GCancellable  *cancellable,
                 gpointer       user_data,
                 GError       **error)
{
  return tw_test_new_non_normal_value ();
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
                        as_limit.rlim_cur == RLIM_INFINITY ? G_MAXUINT64
                                                           : (guint64)as_limit.rlim_cur,
                        cpu_limit.rlim_cur == RLIM_INFINITY ? G_MAXUINT64
                                                            : (guint64)cpu_limit.rlim_cur);
}

void
tw_test_funcs_register (void)
{
  static const struct {
    const char *name;
    TwFunc      func;
  } funcs[] = {
    { "square", tw_test_square_func },
    { "echo", tw_test_echo_func },
    { "fail", fail_func },
    { "segfault", segfault_func },
    { "abort", abort_func },
    { "exit", exit_func },
    { "sleep", sleep_func },
    { "ignore-cancel", ignore_cancel_func },
    { "print", print_func },
    { "pid", pid_func },
    { "fds", fds_func },
    { "big", big_func },
    { "make-handle", make_handle_func },
    { "non-normal", non_normal_func },
    { "exe", exe_func },
    { "write-file", write_file_func },
    { "connect", connect_func },
    { "allocate", allocate_func },
    { "spin", spin_func },
    { "getenv", getenv_func },
    { "rlimits", rlimits_func },
  };

  for (guint i = 0; i < G_N_ELEMENTS (funcs); i++)
    tw_register_func (funcs[i].name, funcs[i].func, NULL, NULL);

  g_type_ensure (TW_TEST_TYPE_FAILING_WORKER);
  g_type_ensure (TW_TEST_TYPE_PREFIX_WORKER);

  /* The error domain of "fail" must not need registering in the worker. */
  (void)tw_test_process_error_quark ();
}
