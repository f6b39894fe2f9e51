/* tw-process-funcs.c
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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tw-process-funcs.h"

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

  /* g_file_set_contents() renames a complete file into place, so the test
   * never reads half a pid. */
  contents = g_strdup_printf ("%d", (int)getpid ());
  g_file_set_contents (path, contents, -1, NULL);
}

static void
tw_test_append_line (const char *path,
                     const char *line)
{
  g_autofree char *text = g_strconcat (line, "\n", NULL);
  int fd;

  if (path == NULL)
    return;

  /* One write with O_APPEND: lines from several processes never mix. */
  fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  if (write (fd, text, strlen (text)) < 0)
    g_warning ("write: %s", g_strerror (errno));
  close (fd);
}

static GVariant *
square_func (GVariant      *input,
             GCancellable  *cancellable,
             gpointer       user_data,
             GError       **error)
{
  gint64 x = g_variant_get_int64 (input);

  return g_variant_new_int64 (x * x);
}

static GVariant *
echo_func (GVariant      *input,
           GCancellable  *cancellable,
           gpointer       user_data,
           GError       **error)
{
  return g_variant_ref (input);
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

/* TwTestFailingWorker ---------------------------------------------------- */

struct _TwTestFailingWorker
{
  TwWorker  parent_instance;
  char     *log_path;   /* construct-only: where setup logs its pid, or NULL */
};

enum {
  FAILING_PROP_0,
  FAILING_PROP_LOG_PATH,
  FAILING_N_PROPS
};

static GParamSpec *failing_properties [FAILING_N_PROPS];

G_DEFINE_FINAL_TYPE (TwTestFailingWorker, tw_test_failing_worker, TW_TYPE_WORKER)

static gboolean
tw_test_failing_worker_setup (TwWorker      *worker,
                              GCancellable  *cancellable,
                              GError       **error)
{
  TwTestFailingWorker *self = TW_TEST_FAILING_WORKER (worker);

  g_autofree char *line = g_strdup_printf ("%d", (int)getpid ());

  tw_test_append_line (self->log_path, line);

  g_set_error_literal (error, TW_TEST_PROCESS_ERROR, TW_TEST_PROCESS_ERROR_SETUP,
                       TW_TEST_SETUP_MESSAGE);

  return FALSE;
}

static GVariant *
tw_test_failing_worker_call (TwWorker      *worker,
                             GVariant      *input,
                             GCancellable  *cancellable,
                             GError       **error)
{
  /* Never reached: setup always fails. */
  return g_variant_ref (input);
}

static void
tw_test_failing_worker_finalize (GObject *object)
{
  TwTestFailingWorker *self = TW_TEST_FAILING_WORKER (object);

  g_clear_pointer (&self->log_path, g_free);

  G_OBJECT_CLASS (tw_test_failing_worker_parent_class)->finalize (object);
}

static void
tw_test_failing_worker_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  TwTestFailingWorker *self = TW_TEST_FAILING_WORKER (object);

  switch (prop_id)
    {
    case FAILING_PROP_LOG_PATH:
      g_value_set_string (value, self->log_path);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tw_test_failing_worker_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  TwTestFailingWorker *self = TW_TEST_FAILING_WORKER (object);

  switch (prop_id)
    {
    case FAILING_PROP_LOG_PATH:
      self->log_path = g_value_dup_string (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tw_test_failing_worker_class_init (TwTestFailingWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  TwWorkerClass *worker_class = TW_WORKER_CLASS (klass);

  object_class->finalize = tw_test_failing_worker_finalize;
  object_class->get_property = tw_test_failing_worker_get_property;
  object_class->set_property = tw_test_failing_worker_set_property;

  worker_class->setup = tw_test_failing_worker_setup;
  worker_class->call = tw_test_failing_worker_call;

  failing_properties [FAILING_PROP_LOG_PATH] =
    g_param_spec_string ("log-path", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, FAILING_N_PROPS, failing_properties);
}

static void
tw_test_failing_worker_init (TwTestFailingWorker *self)
{
}

/* TwTestPrefixWorker ----------------------------------------------------- */

struct _TwTestPrefixWorker
{
  TwWorker  parent_instance;
  char     *prefix;     /* construct-only */
  char     *log_path;   /* construct-only: where setup and teardown log, or NULL */
};

enum {
  PREFIX_PROP_0,
  PREFIX_PROP_PREFIX,
  PREFIX_PROP_LOG_PATH,
  PREFIX_N_PROPS
};

static GParamSpec *prefix_properties [PREFIX_N_PROPS];

G_DEFINE_FINAL_TYPE (TwTestPrefixWorker, tw_test_prefix_worker, TW_TYPE_WORKER)

static gboolean
tw_test_prefix_worker_setup (TwWorker      *worker,
                             GCancellable  *cancellable,
                             GError       **error)
{
  TwTestPrefixWorker *self = TW_TEST_PREFIX_WORKER (worker);
  g_autofree char *line = g_strdup_printf ("setup %d", (int)getpid ());

  tw_test_append_line (self->log_path, line);

  return TRUE;
}

static void
tw_test_prefix_worker_teardown (TwWorker *worker)
{
  TwTestPrefixWorker *self = TW_TEST_PREFIX_WORKER (worker);
  g_autofree char *line = g_strdup_printf ("teardown %d", (int)getpid ());

  tw_test_append_line (self->log_path, line);
}

static GVariant *
tw_test_prefix_worker_call (TwWorker      *worker,
                            GVariant      *input,
                            GCancellable  *cancellable,
                            GError       **error)
{
  TwTestPrefixWorker *self = TW_TEST_PREFIX_WORKER (worker);

  return g_variant_new_take_string (g_strdup_printf ("%s:%s", self->prefix,
                                                     g_variant_get_string (input, NULL)));
}

static void
tw_test_prefix_worker_finalize (GObject *object)
{
  TwTestPrefixWorker *self = TW_TEST_PREFIX_WORKER (object);

  g_clear_pointer (&self->prefix, g_free);
  g_clear_pointer (&self->log_path, g_free);

  G_OBJECT_CLASS (tw_test_prefix_worker_parent_class)->finalize (object);
}

static void
tw_test_prefix_worker_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  TwTestPrefixWorker *self = TW_TEST_PREFIX_WORKER (object);

  switch (prop_id)
    {
    case PREFIX_PROP_PREFIX:
      g_value_set_string (value, self->prefix);
      break;

    case PREFIX_PROP_LOG_PATH:
      g_value_set_string (value, self->log_path);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tw_test_prefix_worker_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  TwTestPrefixWorker *self = TW_TEST_PREFIX_WORKER (object);

  switch (prop_id)
    {
    case PREFIX_PROP_PREFIX:
      self->prefix = g_value_dup_string (value);
      break;

    case PREFIX_PROP_LOG_PATH:
      self->log_path = g_value_dup_string (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tw_test_prefix_worker_class_init (TwTestPrefixWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  TwWorkerClass *worker_class = TW_WORKER_CLASS (klass);

  object_class->finalize = tw_test_prefix_worker_finalize;
  object_class->get_property = tw_test_prefix_worker_get_property;
  object_class->set_property = tw_test_prefix_worker_set_property;

  worker_class->setup = tw_test_prefix_worker_setup;
  worker_class->call = tw_test_prefix_worker_call;
  worker_class->teardown = tw_test_prefix_worker_teardown;

  prefix_properties [PREFIX_PROP_PREFIX] =
    g_param_spec_string ("prefix", NULL, NULL,
                         "none",
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS));

  prefix_properties [PREFIX_PROP_LOG_PATH] =
    g_param_spec_string ("log-path", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, PREFIX_N_PROPS, prefix_properties);
}

static void
tw_test_prefix_worker_init (TwTestPrefixWorker *self)
{
}

void
tw_test_process_register (void)
{
  static const struct {
    const char *name;
    TwFunc      func;
  } funcs[] = {
    { "square", square_func },
    { "echo", echo_func },
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
  };

  for (guint i = 0; i < G_N_ELEMENTS (funcs); i++)
    tw_register_func (funcs[i].name, funcs[i].func, NULL, NULL);

  g_type_ensure (TW_TEST_TYPE_FAILING_WORKER);
  g_type_ensure (TW_TEST_TYPE_PREFIX_WORKER);

  /* The error domain of "fail" must not need registering in the worker. */
  (void)tw_test_process_error_quark ();
}
