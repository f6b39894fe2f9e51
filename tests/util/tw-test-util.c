/* tw-test-util.c: the helpers that every C test program shares
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

#include <string.h>

#include <glib/gstdio.h>

#include "tw-test-util.h"

G_DEFINE_QUARK (tw-test-error-quark, tw_test_error)

/* Set before the tests run, read-only while they do. */
static gint64 wait_timeout_usec = TW_TEST_TIMEOUT_USEC;

void
tw_test_gate_init (TwTestGate *gate)
{
  g_mutex_init (&gate->lock);
  g_cond_init (&gate->cond);
  gate->open = FALSE;
  gate->n_entered = 0;
}

void
tw_test_gate_clear (TwTestGate *gate)
{
  g_mutex_clear (&gate->lock);
  g_cond_clear (&gate->cond);
}

void
tw_test_gate_open (TwTestGate *gate)
{
  g_mutex_lock (&gate->lock);
  gate->open = TRUE;
  g_cond_broadcast (&gate->cond);
  g_mutex_unlock (&gate->lock);
}

/* Returns FALSE if the gate stayed shut for TW_TEST_TIMEOUT_USEC: the
 * caller then fails its task, and the test sees that. */
gboolean
tw_test_gate_pass (TwTestGate *gate)
{
  gint64 end_time = g_get_monotonic_time () + TW_TEST_TIMEOUT_USEC;
  gboolean opened;

  g_mutex_lock (&gate->lock);
  gate->n_entered++;
  g_cond_broadcast (&gate->cond);
  while (!gate->open)
    {
      if (!g_cond_wait_until (&gate->cond, &gate->lock, end_time))
        break;
    }
  opened = gate->open;
  g_mutex_unlock (&gate->lock);

  return opened;
}

void
tw_test_gate_wait_entered (TwTestGate *gate,
                           guint       n_entered)
{
  gint64 end_time = g_get_monotonic_time () + TW_TEST_TIMEOUT_USEC;

  g_mutex_lock (&gate->lock);
  while (gate->n_entered < n_entered)
    {
      if (!g_cond_wait_until (&gate->cond, &gate->lock, end_time))
        break;
    }
  g_assert_cmpuint (gate->n_entered, >=, n_entered);
  g_mutex_unlock (&gate->lock);
}

guint
tw_test_gate_get_n_entered (TwTestGate *gate)
{
  guint n_entered;

  g_mutex_lock (&gate->lock);
  n_entered = gate->n_entered;
  g_mutex_unlock (&gate->lock);

  return n_entered;
}

void
tw_test_calls_init (TwTestCalls *calls)
{
  tw_test_gate_init (&calls->gate);
  calls->n_calls = 0;
  calls->n_destroyed = 0;
}

void
tw_test_calls_clear (TwTestCalls *calls)
{
  tw_test_gate_clear (&calls->gate);
}

void
tw_test_calls_destroy (gpointer data)
{
  TwTestCalls *calls = data;

  g_atomic_int_inc (&calls->n_destroyed);
}

GVariant *
tw_test_gated_square_func (GVariant      *input,
                           GCancellable  *cancellable,
                           gpointer       user_data,
                           GError       **error)
{
  TwTestCalls *calls = user_data;
  gint64 x = g_variant_get_int64 (input);

  g_atomic_int_inc (&calls->n_calls);

  if (x < 0 && !tw_test_gate_pass (&calls->gate))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "The gate stayed shut");
      return NULL;
    }

  return g_variant_new_int64 (x * x);
}

GVariant *
tw_test_gated_echo_func (GVariant      *input,
                         GCancellable  *cancellable,
                         gpointer       user_data,
                         GError       **error)
{
  if (!tw_test_gate_pass (user_data))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           "The test never opened the gate");
      return NULL;
    }

  return g_variant_ref (input);
}

GVariant *
tw_test_echo_func (GVariant      *input,
                   GCancellable  *cancellable,
                   gpointer       user_data,
                   GError       **error)
{
  return g_variant_ref (input);
}

GVariant *
tw_test_square_func (GVariant      *input,
                     GCancellable  *cancellable,
                     gpointer       user_data,
                     GError       **error)
{
  gint64 x = g_variant_get_int64 (input);

  if (user_data != NULL)
    g_atomic_int_inc ((gint *)user_data);

  return g_variant_new_int64 (x * x);
}

void
tw_test_set_wait_timeout (gint64 usec)
{
  wait_timeout_usec = usec;
}

GVariant *
tw_test_wait_value (TwFuture *future)
{
  g_autoptr(GError) error = NULL;
  GVariant *value;

  value = tw_future_wait (future, wait_timeout_usec, &error);
  g_assert_no_error (error);
  g_assert_nonnull (value);
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_SUCCEEDED);

  return value;
}

GError *
tw_test_wait_error (TwFuture *future)
{
  GError *error = NULL;
  g_autoptr(GVariant) value = NULL;

  value = tw_future_wait (future, wait_timeout_usec, &error);
  g_assert_null (value);
  g_assert_nonnull (error);
  g_assert_true (tw_future_is_done (future));

  return error;
}

gint64
tw_test_wait_int64 (TwFuture *future)
{
  g_autoptr(GVariant) value = tw_test_wait_value (future);

  g_assert_true (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64));

  return g_variant_get_int64 (value);
}

gint32
tw_test_wait_value_int32 (TwFuture *future)
{
  g_autoptr(GVariant) value = tw_test_wait_value (future);

  g_assert_true (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32));

  return g_variant_get_int32 (value);
}

void
tw_test_assert_counters (TwTroupe *troupe,
                         guint     n_succeeded,
                         guint     n_failed,
                         guint     n_cancelled)
{
  guint n_completed, n_queued, n_running;

  g_assert_cmpuint (tw_troupe_get_n_succeeded (troupe), ==, n_succeeded);
  g_assert_cmpuint (tw_troupe_get_n_failed (troupe), ==, n_failed);
  g_assert_cmpuint (tw_troupe_get_n_cancelled (troupe), ==, n_cancelled);
  g_assert_cmpuint (tw_troupe_get_n_completed (troupe), ==, n_succeeded + n_failed + n_cancelled);
  g_assert_cmpuint (tw_troupe_get_n_queued (troupe), ==, 0);
  g_assert_cmpuint (tw_troupe_get_n_running (troupe), ==, 0);

  /* The properties read the same values. */
  g_object_get (troupe,
                "n-completed", &n_completed,
                "n-queued", &n_queued,
                "n-running", &n_running,
                NULL);
  g_assert_cmpuint (n_completed, ==, n_succeeded + n_failed + n_cancelled);
  g_assert_cmpuint (n_queued, ==, 0);
  g_assert_cmpuint (n_running, ==, 0);
}

struct _TwTestShutdown
{
  TwTroupe       *troupe;    /* owned */
  TwShutdownMode  mode;
  GThread        *thread;
  gint            returned;  /* atomic */
};

static gpointer
tw_test_shutdown_thread (gpointer data)
{
  TwTestShutdown *shutdown = data;

  tw_troupe_shutdown (shutdown->troupe, shutdown->mode);
  g_atomic_int_set (&shutdown->returned, TRUE);

  return NULL;
}

TwTestShutdown *
tw_test_shutdown_start (TwTroupe       *troupe,
                        TwShutdownMode  mode)
{
  TwTestShutdown *shutdown = g_new0 (TwTestShutdown, 1);

  shutdown->troupe = g_object_ref (troupe);
  shutdown->mode = mode;
  shutdown->thread = g_thread_new ("test-shutdown", tw_test_shutdown_thread, shutdown);

  return shutdown;
}

gboolean
tw_test_shutdown_has_returned (TwTestShutdown *shutdown)
{
  return g_atomic_int_get (&shutdown->returned);
}

void
tw_test_shutdown_join (TwTestShutdown *shutdown)
{
  g_thread_join (shutdown->thread);
  g_object_unref (shutdown->troupe);
  g_free (shutdown);
}

gboolean
tw_test_shutdown_wait (TwTestShutdown *shutdown,
                       gint64          usec)
{
  gint64 end_time = g_get_monotonic_time () + usec;

  while (!tw_test_shutdown_has_returned (shutdown) && g_get_monotonic_time () < end_time)
    g_usleep (5000);

  if (!tw_test_shutdown_has_returned (shutdown))
    return FALSE;

  tw_test_shutdown_join (shutdown);

  return TRUE;
}

static gboolean
tw_test_timeout_cb (gpointer user_data)
{
  g_error ("Timed out waiting for the main context");

  return G_SOURCE_REMOVE;
}

void
tw_test_iterate_until (GMainContext   *context,
                       const gboolean *flag)
{
  GSource *timeout;

  timeout = g_timeout_source_new (TW_TEST_TIMEOUT_USEC / 1000);
  g_source_set_callback (timeout, tw_test_timeout_cb, NULL, NULL);
  g_source_attach (timeout, context);

  while (!*flag)
    g_main_context_iteration (context, TRUE);

  g_source_destroy (timeout);
  g_source_unref (timeout);
}

void
tw_test_run_loop (GMainLoop *loop)
{
  GSource *timeout;

  timeout = g_timeout_source_new (TW_TEST_TIMEOUT_USEC / 1000);
  g_source_set_callback (timeout, tw_test_timeout_cb, NULL, NULL);
  g_source_attach (timeout, g_main_loop_get_context (loop));

  g_main_loop_run (loop);

  g_source_destroy (timeout);
  g_source_unref (timeout);
}

void
tw_test_add_mode_test (const char    *path,
                       GTestDataFunc  func)
{
  g_autofree char *thread = g_strconcat (path, "/thread", NULL);
  g_autofree char *process = g_strconcat (path, "/process", NULL);

  g_test_add_data_func (thread, GINT_TO_POINTER (TW_TROUPE_MODE_THREAD), func);
  g_test_add_data_func (process, GINT_TO_POINTER (TW_TROUPE_MODE_PROCESS), func);
}

guint
tw_test_count_threads (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, &error);
  guint n = 0;

  g_assert_no_error (error);

  while (g_dir_read_name (dir) != NULL)
    n++;

  return n;
}

guint
tw_test_wait_for_n_threads (guint n_threads)
{
  gint64 end_time = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  guint n;

  while ((n = tw_test_count_threads ()) != n_threads &&
         g_get_monotonic_time () < end_time)
    g_usleep (1000);

  return n;
}

guint
tw_test_count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);

  while (g_dir_read_name (dir) != NULL)
    n++;

  /* Without the one that reads the directory. */
  return n - 1;
}

char *
tw_test_make_temp_dir (const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *template = g_strdup_printf ("tw-test-%s-XXXXXX", name);
  char *dir = g_dir_make_tmp (template, &error);

  g_assert_no_error (error);

  return dir;
}

void
tw_test_remove_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        tw_test_remove_dir (child);
      else
        g_unlink (child);
    }

  g_rmdir (path);
}

void
tw_test_assert_contains (const char *haystack,
                         const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_error ("Expected “%s” in “%s”", needle, haystack);
}

gboolean
tw_test_contains_bytes (const char *haystack,
                        gsize       haystack_len,
                        const char *needle,
                        gsize       needle_len)
{
  for (gsize i = 0; i + needle_len <= haystack_len; i++)
    {
      if (memcmp (haystack + i, needle, needle_len) == 0)
        return TRUE;
    }

  return FALSE;
}

GPtrArray *
tw_test_read_lines (const char *path)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  GPtrArray *result = g_ptr_array_new_with_free_func (g_free);

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return result;

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] != '\0')
        g_ptr_array_add (result, g_strdup (lines[i]));
    }

  return result;
}

guint
tw_test_count_lines (const char *path)
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
