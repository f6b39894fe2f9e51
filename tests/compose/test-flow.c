/* test-flow.c: progress reports and backpressure
 *
 * Copyright 2026 The tiny-worker developers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <stdlib.h>

#include <glib/gstdio.h>
#include "tw-test-util.h"

/* Waits for the gate before reporting, so the test can watch first; then
 * for the test to have seen the report. */
static gint report_stage;

static void
wait_for_stage (gint stage)
{
  while (g_atomic_int_get (&report_stage) < stage)
    g_usleep (1000);
}

static GVariant *
report_when_told (GVariant      *input,
                  GCancellable  *cancellable,
                  gpointer       user_data,
                  GError       **error)
{
  wait_for_stage (1);
  tw_report_progress (0.25, "started");
  tw_report_progress (0.5, "half way");
  wait_for_stage (2);

  return g_variant_ref_sink (g_variant_new_int64 (g_variant_get_int64 (input)));
}

/* In process mode the gate is a file the test creates. */
static GVariant *
report_then_poll (GVariant      *input,
                  GCancellable  *cancellable,
                  gpointer       user_data,
                  GError       **error)
{
  const char *path = g_variant_get_string (input, NULL);

  tw_report_progress (0.75, "polling");
  while (!g_file_test (path, G_FILE_TEST_EXISTS))
    g_usleep (10000);

  return g_variant_new_string ("done");
}

static void
progress_changed_cb (GObject    *object,
                     GParamSpec *pspec,
                     gpointer    user_data)
{
  GThread **thread = user_data;

  *thread = g_thread_self ();
}

/* Iterates the default context until the future's progress is @fraction. */
static void
wait_for_progress (TwFuture *future,
                   gdouble   fraction)
{
  gint64 end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (tw_future_get_progress (future) != fraction)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }

  /* Let the coalesced notification run. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_flow_progress_thread (void)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func (report_when_told, NULL, NULL);
  g_autoptr(TwFuture) future = NULL;
  g_autofree char *message = NULL;
  g_autoptr(GVariant) value = NULL;
  GThread *notified_in = NULL;

  report_stage = 0;
  future = tw_troupe_submit (troupe, g_variant_new_int64 (3));
  g_signal_connect (future, "notify::progress", G_CALLBACK (progress_changed_cb), &notified_in);
  g_atomic_int_set (&report_stage, 1);

  wait_for_progress (future, 0.5);
  message = tw_future_dup_progress_message (future);

  g_assert_cmpstr (message, ==, "half way");
  g_assert_true (notified_in == g_thread_self ());

  g_atomic_int_set (&report_stage, 2);
  value = tw_future_wait (future, -1, NULL);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 3);
}

static void
test_flow_progress_process (void)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func_name ("report-then-poll");
  g_autofree char *dir = g_dir_make_tmp ("tw-flow-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "open", NULL);
  g_autoptr(TwFuture) future = NULL;
  g_autofree char *message = NULL;
  g_autoptr(GVariant) value = NULL;

  tw_troupe_set_mode (troupe, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (troupe, 1);
  future = tw_troupe_submit (troupe, g_variant_new_string (path));

  wait_for_progress (future, 0.75);
  message = tw_future_dup_progress_message (future);
  g_assert_cmpstr (message, ==, "polling");

  g_assert_true (g_file_set_contents (path, "", 0, NULL));
  value = tw_future_wait (future, -1, NULL);
  g_assert_cmpstr (g_variant_get_string (value, NULL), ==, "done");

  g_remove (path);
  g_rmdir (dir);
}

static void
test_flow_report_outside_a_task (void)
{
  /* Does nothing, and does not crash. */
  tw_report_progress (0.5, "nobody listens");
}

typedef struct
{
  TwTroupe *troupe;
  gint      returned;
} Submitter;

static gpointer
submit_thread (gpointer data)
{
  Submitter *submitter = data;
  TwFuture *future = tw_troupe_submit (submitter->troupe, g_variant_new_int64 (4));

  g_atomic_int_set (&submitter->returned, 1);

  return future;
}

static void
test_flow_blocking_submit (void)
{
  TwTestGate gate;
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func (tw_test_gated_echo_func, &gate, NULL);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  Submitter submitter = { troupe, 0 };
  g_autoptr(TwFuture) late = NULL;
  g_autoptr(GVariant) value = NULL;
  GThread *thread;

  tw_test_gate_init (&gate);
  tw_troupe_set_n_workers (troupe, 1);
  tw_troupe_set_max_queued (troupe, 2);

  /* One running, two queued: the queue is full. */
  g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (1)));
  tw_test_gate_wait_entered (&gate, 1);
  g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (2)));
  g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (3)));
  g_assert_cmpuint (tw_troupe_get_n_queued (troupe), ==, 2);

  thread = g_thread_new ("submitter", submit_thread, &submitter);
  g_usleep (G_USEC_PER_SEC / 5);
  g_assert_cmpint (g_atomic_int_get (&submitter.returned), ==, 0);
  g_assert_cmpuint (tw_troupe_get_n_queued (troupe), ==, 2);

  tw_test_gate_open (&gate);
  late = g_thread_join (thread);
  value = tw_future_wait (late, -1, NULL);

  g_assert_cmpint (submitter.returned, ==, 1);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 4);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_gate_clear (&gate);
}

static void
submitted_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  TwFuture **future = user_data;
  GError *error = NULL;

  *future = tw_troupe_submit_finish (TW_TROUPE (object), result, &error);
  if (*future == NULL)
    *future = tw_future_new_for_error (error);
}

static void
test_flow_async_submit (void)
{
  TwTestGate gate;
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func (tw_test_gated_echo_func, &gate, NULL);
  g_autoptr(TwFuture) running = NULL;
  g_autoptr(TwFuture) queued = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  TwFuture *waited = NULL;
  TwFuture *abandoned = NULL;

  tw_test_gate_init (&gate);
  tw_troupe_set_n_workers (troupe, 1);
  tw_troupe_set_max_queued (troupe, 1);

  running = tw_troupe_submit (troupe, g_variant_new_int64 (1));
  tw_test_gate_wait_entered (&gate, 1);
  queued = tw_troupe_submit (troupe, g_variant_new_int64 (2));

  tw_troupe_submit_async (troupe, g_variant_new_int64 (3), NULL, submitted_cb, &waited);
  tw_troupe_submit_async (troupe, g_variant_new_int64 (4), cancellable, submitted_cb, &abandoned);

  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_null (waited);
  g_assert_null (abandoned);

  /* Cancelling the second wait gives up on that task only. */
  g_cancellable_cancel (cancellable);
  while (abandoned == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (tw_future_wait (abandoned, 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  tw_test_gate_open (&gate);
  while (waited == NULL)
    g_main_context_iteration (NULL, TRUE);
  value = tw_future_wait (waited, -1, NULL);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 3);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpint (tw_test_gate_get_n_entered (&gate), ==, 3);
  g_assert_cmpuint (tw_troupe_get_n_completed (troupe), ==, 3);

  g_object_unref (waited);
  g_object_unref (abandoned);
  tw_test_gate_clear (&gate);
}

static void
test_flow_raising_the_bound (void)
{
  TwTestGate gate;
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func (tw_test_gated_echo_func, &gate, NULL);
  g_autoptr(TwFuture) running = NULL;
  g_autoptr(TwFuture) queued = NULL;
  TwFuture *waited = NULL;

  tw_test_gate_init (&gate);
  tw_troupe_set_n_workers (troupe, 1);
  tw_troupe_set_max_queued (troupe, 1);
  running = tw_troupe_submit (troupe, g_variant_new_int64 (1));
  tw_test_gate_wait_entered (&gate, 1);
  queued = tw_troupe_submit (troupe, g_variant_new_int64 (2));
  tw_troupe_submit_async (troupe, g_variant_new_int64 (3), NULL, submitted_cb, &waited);

  tw_troupe_set_max_queued (troupe, 0);
  while (waited == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (tw_troupe_get_n_queued (troupe), ==, 2);

  tw_test_gate_open (&gate);
  g_object_unref (waited);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_gate_clear (&gate);
}

static void
test_flow_shutdown_releases_blocked_submits (void)
{
  TwTestGate gate;
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func (tw_test_gated_echo_func, &gate, NULL);
  g_autoptr(TwFuture) running = NULL;
  g_autoptr(TwFuture) queued = NULL;
  g_autoptr(GError) error = NULL;
  TwFuture *waited = NULL;

  tw_test_gate_init (&gate);
  tw_troupe_set_n_workers (troupe, 1);
  tw_troupe_set_max_queued (troupe, 1);
  running = tw_troupe_submit (troupe, g_variant_new_int64 (1));
  tw_test_gate_wait_entered (&gate, 1);
  queued = tw_troupe_submit (troupe, g_variant_new_int64 (2));
  tw_troupe_submit_async (troupe, g_variant_new_int64 (3), NULL, submitted_cb, &waited);

  tw_test_gate_open (&gate);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_CANCEL_PENDING);
  while (waited == NULL)
    g_main_context_iteration (NULL, TRUE);

  /* Either it got in before the shutdown and ran, or it was shut out. */
  if (tw_future_get_state (waited) != TW_FUTURE_STATE_SUCCEEDED)
    {
      g_assert_null (tw_future_wait (waited, 0, &error));
      g_assert_true (g_error_matches (error, TW_ERROR, TW_ERROR_SHUT_DOWN) ||
                     g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
    }
  g_object_unref (waited);
  tw_test_gate_clear (&gate);
}

static GVariant *
describe (GVariant      *input,
          GCancellable  *cancellable,
          gpointer       user_data,
          GError       **error)
{
  if (g_variant_is_of_type (input, G_VARIANT_TYPE_INT64) && g_variant_get_int64 (input) == 13)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "unlucky");
      return NULL;
    }

  return g_variant_new_take_string (g_variant_print (input, FALSE));
}

static void
test_flow_map (gconstpointer data)
{
  TwTroupeMode mode = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func_name ("describe");
  GVariantBuilder builder;
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  const guint n = 10007;

  tw_troupe_set_mode (troupe, mode);
  tw_troupe_set_n_workers (troupe, 2);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("ax"));
  for (guint i = 0; i < n; i++)
    g_variant_builder_add (&builder, "x", (gint64)(i == 13 ? 14 : i));
  future = tw_troupe_map (troupe, g_variant_builder_end (&builder));
  value = tw_future_wait (future, -1, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_type_string (value), ==, "av");
  g_assert_cmpuint (g_variant_n_children (value), ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (value, i);
      g_autoptr(GVariant) output = g_variant_get_variant (boxed);
      g_autofree char *expected = g_strdup_printf ("%u", i == 13 ? 14 : i);

      g_assert_cmpstr (g_variant_get_string (output, NULL), ==, expected);
    }
}

/* n (int64) -> a string of n "x", or () for a negative n */
static GVariant *
repeat_x (GVariant      *input,
          GCancellable  *cancellable,
          gpointer       user_data,
          GError       **error)
{
  gint64 n = g_variant_get_int64 (input);

  if (n < 0)
    return g_variant_new ("()");

  return g_variant_new_take_string (g_strnfill (n, 'x'));
}

static void
test_flow_map_serialised_form (gconstpointer data)
{
  TwTroupeMode mode = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func_name ("repeat-x");
  /* Outputs whose offsets take 1, 2 and 4 bytes, in the chunks and in
   * the whole. */
  const gint64 sizes[][6] = {
    { -1, 0, 1, 7, 8, 9 },
    { 100, 200, 3, 250, -1, 64 },
    { 70000, 5, 70001, 0, 1, 99999 },
  };

  g_test_summary ("A map's output is the same av, byte for byte and in normal form, "
                  "as GLib builds from the same values");

  tw_troupe_set_mode (troupe, mode);
  tw_troupe_set_n_workers (troupe, 2);

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr(TwFuture) future = NULL;
      g_autoptr(GVariant) value = NULL;
      g_autoptr(GVariant) expected = NULL;
      GVariantBuilder builder;

      g_variant_builder_init (&builder, G_VARIANT_TYPE ("av"));
      for (guint j = 0; j < G_N_ELEMENTS (sizes[i]); j++)
        {
          g_autoptr(GVariant) size = g_variant_ref_sink (g_variant_new_int64 (sizes[i][j]));

          g_variant_builder_add (&builder, "v", repeat_x (size, NULL, NULL, NULL));
        }
      expected = g_variant_ref_sink (g_variant_builder_end (&builder));

      future = tw_troupe_map (troupe, g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, sizes[i],
                                                                 G_N_ELEMENTS (sizes[i]),
                                                                 sizeof (gint64)));
      value = tw_future_wait (future, -1, NULL);
      g_assert_nonnull (value);

      g_assert_true (g_variant_equal (value, expected));
      g_assert_true (g_variant_is_normal_form (value));
      g_assert_cmpmem (g_variant_get_data (value), g_variant_get_size (value),
                       g_variant_get_data (expected), g_variant_get_size (expected));
    }
}

static void
test_flow_map_fixed_types (gconstpointer data)
{
  TwTroupeMode mode = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func_name ("describe");
  const char *inputs[] = { "[true, false, true]", "[byte 0x07, 0xff]", "[int16 -3, 4]",
                           "[uint32 9, 0]", "[2.5, -0.0]" };
  const char *outputs[] = { "[<'true'>, <'false'>, <'true'>]", "[<'0x07'>, <'0xff'>]",
                            "[<'-3'>, <'4'>]", "[<'9'>, <'0'>]", "[<'2.5'>, <'-0.0'>]" };

  g_test_summary ("A map of each basic fixed-size type sees every element, in order");

  tw_troupe_set_mode (troupe, mode);

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr(TwFuture) future = tw_troupe_map (troupe, g_variant_new_parsed (inputs[i]));
      g_autoptr(GVariant) value = tw_future_wait (future, -1, NULL);
      g_autoptr(GVariant) expected = g_variant_ref_sink (g_variant_new_parsed (outputs[i]));

      g_assert_nonnull (value);
      g_assert_true (g_variant_equal (value, expected));
    }
}

/* i (int64) -> by range of i: an int64, with one double among them, a
 * byte, an int16, a uint32, a boolean, then doubles and a last string */
static GVariant *
shift_type (GVariant      *input,
            GCancellable  *cancellable,
            gpointer       user_data,
            GError       **error)
{
  gint64 i = g_variant_get_int64 (input);

  if (i == 5001 || (i >= 14000 && i < 15999))
    return g_variant_new_double (i / 4.0);
  if (i < 6000)
    return g_variant_new_int64 (i * i - 7);
  if (i < 8000)
    return g_variant_new_byte (i & 0xff);
  if (i < 10000)
    return g_variant_new_int16 (-i);
  if (i < 12000)
    return g_variant_new_uint32 (i * 3);
  if (i < 14000)
    return g_variant_new_boolean (i % 3 == 0);

  return g_variant_new_string ("end");
}

static void
test_flow_map_packed_outputs (gconstpointer data)
{
  TwTroupeMode mode = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func_name ("shift-type");
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) expected = NULL;
  GVariantBuilder builder;
  gint64 inputs[16000];

  g_test_summary ("A map whose outputs share a basic fixed-size type, change type within "
                  "a chunk or are booleans gives the same av, byte for byte, as GLib "
                  "builds from the same outputs");

  tw_troupe_set_mode (troupe, mode);
  tw_troupe_set_n_workers (troupe, 2);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("av"));
  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr(GVariant) input = g_variant_ref_sink (g_variant_new_int64 (i));

      inputs[i] = i;
      g_variant_builder_add (&builder, "v", shift_type (input, NULL, NULL, NULL));
    }
  expected = g_variant_ref_sink (g_variant_builder_end (&builder));

  /* Chunks of int64s, one of int64s with a double in the middle, then
   * of bytes, int16s, uint32s, booleans, doubles, and doubles then a
   * string. */
  future = tw_troupe_map (troupe, g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, inputs,
                                                             G_N_ELEMENTS (inputs),
                                                             sizeof (gint64)));
  value = tw_future_wait (future, -1, NULL);
  g_assert_nonnull (value);

  g_assert_cmpstr (g_variant_get_type_string (value), ==, "av");
  g_assert_true (g_variant_is_normal_form (value));
  g_assert_cmpmem (g_variant_get_data (value), g_variant_get_size (value),
                   g_variant_get_data (expected), g_variant_get_size (expected));
}

static void
test_flow_running_drops_as_tasks_settle (void)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func_name ("describe");

  g_test_summary ("In process mode too, a settled task no longer counts as running");

  tw_troupe_set_mode (troupe, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (troupe, 2);

  for (gint64 i = 0; i < 50; i++)
    {
      g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_int64 (100 + i));
      g_autoptr(GVariant) value = tw_future_wait (future, -1, NULL);

      g_assert_nonnull (value);
      g_assert_cmpuint (tw_troupe_get_n_running (troupe), ==, 0);
      g_assert_cmpuint (tw_troupe_get_n_completed (troupe), ==, i + 1);
    }

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpuint (tw_troupe_get_n_running (troupe), ==, 0);
}

static void
test_flow_map_mixed_types (gconstpointer data)
{
  TwTroupeMode mode = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func_name ("describe");
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) expected = NULL;

  tw_troupe_set_mode (troupe, mode);
  future = tw_troupe_map (troupe, g_variant_new_parsed ("[<'a'>, <(1, true)>, <@as ['x', 'y']>]"));
  value = tw_future_wait (future, -1, NULL);

  expected = g_variant_ref_sink (g_variant_new_parsed ("[<\"'a'\">, <'(1, true)'>, "
                                                       "<\"['x', 'y']\">]"));
  g_assert_true (g_variant_equal (value, expected));
}

static void
test_flow_map_error (gconstpointer data)
{
  TwTroupeMode mode = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func_name ("describe");
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  GVariantBuilder builder;

  tw_troupe_set_mode (troupe, mode);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("ax"));
  for (gint64 i = 0; i < 100; i++)
    g_variant_builder_add (&builder, "x", i);
  future = tw_troupe_map (troupe, g_variant_builder_end (&builder));

  g_assert_null (tw_future_wait (future, -1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_cmpstr (error->message, ==, "unlucky");
}

static void
test_flow_map_empty (void)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func_name ("describe");
  g_autoptr(TwFuture) future =
    tw_troupe_map (troupe, g_variant_new_array (G_VARIANT_TYPE_STRING, NULL, 0));
  g_autoptr(GVariant) value = tw_future_wait (future, -1, NULL);

  g_assert_cmpstr (g_variant_get_type_string (value), ==, "av");
  g_assert_cmpuint (g_variant_n_children (value), ==, 0);
}

/* Fails the first two attempts for each input; crashes in process mode
 * when the input asks for it, once per marker file. */
static gint n_attempts;

static GVariant *
flaky (GVariant      *input,
       GCancellable  *cancellable,
       gpointer       user_data,
       GError       **error)
{
  if (g_variant_is_of_type (input, G_VARIANT_TYPE_STRING))
    {
      const char *marker = g_variant_get_string (input, NULL);

      if (!g_file_test (marker, G_FILE_TEST_EXISTS))
        {
          g_file_set_contents (marker, "", 0, NULL);
          abort ();
        }
      return g_variant_new_string ("survived");
    }

  if (g_atomic_int_add (&n_attempts, 1) < 2)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BUSY, "try again");
      return NULL;
    }

  return g_variant_ref_sink (g_variant_new_int64 (g_variant_get_int64 (input)));
}

static GVariant *
sleep_until_cancelled (GVariant      *input,
                       GCancellable  *cancellable,
                       gpointer       user_data,
                       GError       **error)
{
  gint64 end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (!g_cancellable_is_cancelled (cancellable) && g_get_monotonic_time () < end)
    g_usleep (1000);

  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "stopped");
  return NULL;
}

static void
test_flow_retries (void)
{
  g_autoptr(TwTroupe) enough = tw_troupe_new_for_func (flaky, NULL, NULL);
  g_autoptr(TwTroupe) too_few = tw_troupe_new_for_func (flaky, NULL, NULL);
  g_autoptr(TwFuture) ok = NULL;
  g_autoptr(TwFuture) bad = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  tw_troupe_set_max_retries (enough, 2);
  n_attempts = 0;
  ok = tw_troupe_submit (enough, g_variant_new_int64 (7));
  value = tw_future_wait (ok, -1, NULL);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 7);
  g_assert_cmpint (n_attempts, ==, 3);

  tw_troupe_set_max_retries (too_few, 1);
  n_attempts = 0;
  bad = tw_troupe_submit (too_few, g_variant_new_int64 (7));
  g_assert_null (tw_future_wait (bad, -1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_assert_cmpint (n_attempts, ==, 2);
}

static void
test_flow_retry_after_crash (void)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func_name ("flaky");
  g_autofree char *dir = g_dir_make_tmp ("tw-flow-XXXXXX", NULL);
  g_autofree char *marker = g_build_filename (dir, "crashed", NULL);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GVariant) value = NULL;

  tw_troupe_set_mode (troupe, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (troupe, 1);
  tw_troupe_set_max_retries (troupe, 1);
  future = tw_troupe_submit (troupe, g_variant_new_string (marker));
  value = tw_future_wait (future, -1, NULL);

  g_assert_cmpstr (g_variant_get_string (value, NULL), ==, "survived");
  g_remove (marker);
  g_rmdir (dir);
}

static void
test_flow_task_timeout (gconstpointer data)
{
  TwTroupeMode mode = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func_name ("sleep-until-cancelled");
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start;

  tw_troupe_set_mode (troupe, mode);
  tw_troupe_set_n_workers (troupe, 1);
  tw_troupe_set_task_timeout (troupe, 200);

  start = g_get_monotonic_time ();
  future = tw_troupe_submit (troupe, g_variant_new_int64 (0));
  g_assert_null (tw_future_wait (future, -1, &error));

  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_CANCELLED);
  /* Generous bounds: at least the timeout, well before the 20 s sleep. */
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 200 * 1000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
}

static GVariant *
nap_ms (GVariant      *input,
        GCancellable  *cancellable,
        gpointer       user_data,
        GError       **error)
{
  g_usleep (g_variant_get_int64 (input) * 1000);

  return g_variant_ref_sink (g_variant_new_int64 (g_variant_get_int64 (input)));
}

static void
test_flow_map_unordered (gconstpointer data)
{
  TwTroupeMode mode = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func_name ("nap-ms");
  g_autoptr(TwAsCompleted) results = NULL;
  gint64 order[3];
  TwFuture *future;
  guint n = 0;

  tw_troupe_set_mode (troupe, mode);
  tw_troupe_set_n_workers (troupe, 3);
  results = tw_troupe_map_unordered (troupe, g_variant_new_parsed ("[int64 600, 0, 300]"));

  while ((future = tw_as_completed_next (results, -1, NULL)) != NULL)
    {
      g_autoptr(GVariant) value = tw_future_wait (future, 0, NULL);

      g_assert_cmpuint (n, <, G_N_ELEMENTS (order));
      order[n++] = g_variant_get_int64 (value);
      g_object_unref (future);
    }

  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpint (order[0], ==, 0);
  g_assert_cmpint (order[1], ==, 300);
  g_assert_cmpint (order[2], ==, 600);
}

int
main (int   argc,
      char *argv[])
{
  tw_register_func ("nap-ms", nap_ms, NULL, NULL);
  tw_register_func ("flaky", flaky, NULL, NULL);
  tw_register_func ("sleep-until-cancelled", sleep_until_cancelled, NULL, NULL);
  tw_register_func ("describe", describe, NULL, NULL);
  tw_register_func ("repeat-x", repeat_x, NULL, NULL);
  tw_register_func ("shift-type", shift_type, NULL, NULL);
  tw_register_func ("report-then-poll", report_then_poll, NULL, NULL);
  tw_init ();

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/flow/progress/reported-from-a-thread", test_flow_progress_thread);
  g_test_add_func ("/flow/progress/reported-from-a-process", test_flow_progress_process);
  g_test_add_func ("/flow/progress/report-outside-a-task-does-nothing",
                   test_flow_report_outside_a_task);
  g_test_add_func ("/flow/max-queued/submit-blocks-while-full", test_flow_blocking_submit);
  g_test_add_func ("/flow/max-queued/submit-async-waits-while-full", test_flow_async_submit);
  g_test_add_func ("/flow/max-queued/raising-it-lets-waiting-submits-in",
                   test_flow_raising_the_bound);
  g_test_add_func ("/flow/max-queued/shutdown-releases-waiting-submits",
                   test_flow_shutdown_releases_blocked_submits);
  tw_test_add_mode_test ("/flow/map/gathers-outputs-in-order", test_flow_map);
  tw_test_add_mode_test ("/flow/map/keeps-mixed-types", test_flow_map_mixed_types);
  tw_test_add_mode_test ("/flow/map/fails-with-a-tasks-error", test_flow_map_error);
  g_test_add_func ("/flow/map/of-nothing-is-an-empty-array", test_flow_map_empty);
  tw_test_add_mode_test ("/flow/map/unordered-yields-in-settling-order", test_flow_map_unordered);
  g_test_add_func ("/flow/retries-until-success-or-the-limit", test_flow_retries);
  g_test_add_func ("/flow/retries-after-a-worker-crash", test_flow_retry_after_crash);
  tw_test_add_mode_test ("/flow/task-timeout-cancels-the-task", test_flow_task_timeout);
  tw_test_add_mode_test ("/flow/map/output-is-glibs-serialised-form",
                         test_flow_map_serialised_form);
  tw_test_add_mode_test ("/flow/map/keeps-fixed-size-types", test_flow_map_fixed_types);
  tw_test_add_mode_test ("/flow/map/packs-fixed-size-outputs", test_flow_map_packed_outputs);
  g_test_add_func ("/flow/n-running-drops-as-tasks-settle/process",
                   test_flow_running_drops_as_tasks_settle);

  return g_test_run ();
}
