/* test-map.c: tw_troupe_map_full(), a map whose outputs have one type
 *
 * Copyright 2026 The tiny-worker developers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tw-test-util.h"

/* 3200 inputs on two workers make 32 chunks of 100. */
#define N_INPUTS 3200

/* i (int64) -> i * i - 7 (int64) */
static GVariant *
square_less_7 (GVariant      *input,
               GCancellable  *cancellable,
               gpointer       user_data,
               GError       **error)
{
  gint64 i = g_variant_get_int64 (input);

  return g_variant_new_int64 (i * i - 7);
}

/* i (int64) -> i (int64), but fails at 0 */
static GVariant *
fail_at_0 (GVariant      *input,
           GCancellable  *cancellable,
           gpointer       user_data,
           GError       **error)
{
  if (g_variant_get_int64 (input) == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "zero");
      return NULL;
    }

  return g_variant_ref (input);
}

static GMutex gate_lock;
static GCond gate_cond;
static gboolean gate_reached;
static gint n_gated_calls;

static void
gate_cancelled_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  g_mutex_lock (&gate_lock);
  g_cond_broadcast (&gate_cond);
  g_mutex_unlock (&gate_lock);
}

/* i (int64) -> i (int64), but at 0 waits to be cancelled first */
static GVariant *
wait_at_0 (GVariant      *input,
           GCancellable  *cancellable,
           gpointer       user_data,
           GError       **error)
{
  g_atomic_int_inc (&n_gated_calls);
  if (g_variant_get_int64 (input) == 0)
    {
      gulong id = g_cancellable_connect (cancellable, G_CALLBACK (gate_cancelled_cb), NULL, NULL);

      g_mutex_lock (&gate_lock);
      gate_reached = TRUE;
      g_cond_broadcast (&gate_cond);
      while (!g_cancellable_is_cancelled (cancellable))
        g_cond_wait (&gate_cond, &gate_lock);
      g_mutex_unlock (&gate_lock);
      g_cancellable_disconnect (cancellable, id);
    }

  return g_variant_ref (input);
}

/* i (int64) -> i / 4 (double) */
static GVariant *
quarter (GVariant      *input,
         GCancellable  *cancellable,
         gpointer       user_data,
         GError       **error)
{
  return g_variant_new_double (g_variant_get_int64 (input) / 4.0);
}

/* i (int64) -> a string of i % 300 "x" */
static GVariant *
repeat_x (GVariant      *input,
          GCancellable  *cancellable,
          gpointer       user_data,
          GError       **error)
{
  return g_variant_new_take_string (g_strnfill (g_variant_get_int64 (input) % 300, 'x'));
}

/* i (int64) -> an int64, but a double from i = 1050 and from i = 2000
 * on (a whole chunk of doubles), a string at 2500 and 3100, and a
 * boolean at 700 */
static GVariant *
mostly_int64 (GVariant      *input,
              GCancellable  *cancellable,
              gpointer       user_data,
              GError       **error)
{
  gint64 i = g_variant_get_int64 (input);

  if (i == 2500 || i == 3100)
    return g_variant_new_string ("odd one out");
  if (i == 700)
    return g_variant_new_boolean (TRUE);
  if (i == 1050 || i >= 2000)
    return g_variant_new_double (i);

  return g_variant_new_int64 (i);
}

/* ax -> ax of each i * i - 7, a chunk at a time */
static GVariant *
square_less_7_chunk (GVariant      *inputs,
                     GCancellable  *cancellable,
                     gpointer       user_data,
                     GError       **error)
{
  gsize n;
  const gint64 *numbers = g_variant_get_fixed_array (inputs, &n, sizeof (gint64));
  g_autofree gint64 *outputs = g_new (gint64, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    outputs[i] = numbers[i] * numbers[i] - 7;

  return g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, outputs, n, sizeof (gint64));
}

/* ax -> av of each i * i - 7, boxed, a chunk at a time */
static GVariant *
square_less_7_boxed_chunk (GVariant      *inputs,
                           GCancellable  *cancellable,
                           gpointer       user_data,
                           GError       **error)
{
  GVariantBuilder builder;
  GVariantIter iter;
  gint64 i;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("av"));
  g_variant_iter_init (&iter, inputs);
  while (g_variant_iter_next (&iter, "x", &i))
    g_variant_builder_add (&builder, "v", g_variant_new_int64 (i * i - 7));

  return g_variant_builder_end (&builder);
}

/* ax -> ad of each i / 4, a chunk at a time */
static GVariant *
quarter_chunk (GVariant      *inputs,
               GCancellable  *cancellable,
               gpointer       user_data,
               GError       **error)
{
  gsize n;
  const gint64 *numbers = g_variant_get_fixed_array (inputs, &n, sizeof (gint64));
  g_autofree double *outputs = g_new (double, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    outputs[i] = numbers[i] / 4.0;

  return g_variant_new_fixed_array (G_VARIANT_TYPE_DOUBLE, outputs, n, sizeof (double));
}

static TwTroupe *
map_troupe_new (const char   *name,
                TwTroupeMode  mode)
{
  TwTroupe *troupe = tw_troupe_new_for_func_name (name);

  tw_troupe_set_mode (troupe, mode);
  tw_troupe_set_n_workers (troupe, 2);

  return troupe;
}

/* The inputs 0 .. N_INPUTS - 1, an ax, floating. */
static GVariant *
map_inputs (void)
{
  g_autofree gint64 *inputs = g_new (gint64, N_INPUTS);

  for (guint i = 0; i < N_INPUTS; i++)
    inputs[i] = i;

  return g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, inputs, N_INPUTS, sizeof (gint64));
}

/* Asserts that @value is an array of exactly what @func gives for each
 * of the inputs, in GLib's serialised form. */
static void
assert_outputs_of (GVariant *value,
                   TwFunc    func)
{
  g_autoptr(GVariant) inputs = g_variant_ref_sink (map_inputs ());
  g_autoptr(GVariant) expected = NULL;
  GVariantBuilder builder;

  g_variant_builder_init (&builder, g_variant_get_type (value));
  for (guint i = 0; i < N_INPUTS; i++)
    {
      g_autoptr(GVariant) input = g_variant_get_child_value (inputs, i);

      g_variant_builder_add_value (&builder, func (input, NULL, NULL, NULL));
    }
  expected = g_variant_ref_sink (g_variant_builder_end (&builder));

  g_assert_true (g_variant_is_normal_form (value));
  g_assert_cmpmem (g_variant_get_data (value), g_variant_get_size (value),
                   g_variant_get_data (expected), g_variant_get_size (expected));
}

static void
test_map_int64 (gconstpointer data)
{
  g_autoptr(TwTroupe) troupe = map_troupe_new ("square-less-7", GPOINTER_TO_INT (data));
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GVariant) value = NULL;
  const gint64 *outputs;
  gsize n;

  g_test_summary ("A map asked for int64 outputs gives an ax of them, in input order");

  future = tw_troupe_map_full (troupe, map_inputs (), G_VARIANT_TYPE_INT64);
  value = tw_test_wait_value (future);

  g_assert_cmpstr (g_variant_get_type_string (value), ==, "ax");
  outputs = g_variant_get_fixed_array (value, &n, sizeof (gint64));
  g_assert_cmpuint (n, ==, N_INPUTS);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpint (outputs[i], ==, (gint64)i * (gint64)i - 7);
  assert_outputs_of (value, square_less_7);
}

static void
test_map_double (gconstpointer data)
{
  g_autoptr(TwTroupe) troupe = map_troupe_new ("quarter", GPOINTER_TO_INT (data));
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GVariant) value = NULL;
  const double *outputs;
  gsize n;

  future = tw_troupe_map_full (troupe, map_inputs (), G_VARIANT_TYPE_DOUBLE);
  value = tw_test_wait_value (future);

  g_assert_cmpstr (g_variant_get_type_string (value), ==, "ad");
  outputs = g_variant_get_fixed_array (value, &n, sizeof (double));
  g_assert_cmpuint (n, ==, N_INPUTS);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (outputs[i], ==, i / 4.0);
  assert_outputs_of (value, quarter);
}

static void
test_map_string (gconstpointer data)
{
  g_autoptr(TwTroupe) troupe = map_troupe_new ("repeat-x", GPOINTER_TO_INT (data));
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GVariant) value = NULL;

  g_test_summary ("A map asked for string outputs gives an as of them, byte for byte as "
                  "GLib builds it");

  future = tw_troupe_map_full (troupe, map_inputs (), G_VARIANT_TYPE_STRING);
  value = tw_test_wait_value (future);

  g_assert_cmpstr (g_variant_get_type_string (value), ==, "as");
  g_assert_cmpuint (g_variant_n_children (value), ==, N_INPUTS);
  assert_outputs_of (value, repeat_x);
}

static void
test_map_mismatch (gconstpointer data)
{
  struct {
    const char *type;
    const char *message;
  } cases[] = {
    { "x", "Output 700 of the map is of type “b”, not of the type “x” the map was asked for" },
    { "d", "Output 0 of the map is of type “x”, not of the type “d” the map was asked for" },
    { "s", "Output 0 of the map is of type “x”, not of the type “s” the map was asked for" },
    { "(x)", "Output 0 of the map is of type “x”, not of the type “(x)” the map was "
             "asked for" },
  };
  g_autoptr(TwTroupe) troupe = map_troupe_new ("mostly-int64", GPOINTER_TO_INT (data));

  g_test_summary ("The first output not of the type asked for fails the map with "
                  "TW_ERROR_INVALID_RESULT, naming its index and both types");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(TwFuture) future =
        tw_troupe_map_full (troupe, map_inputs (), G_VARIANT_TYPE (cases[i].type));
      g_autoptr(GError) error = tw_test_wait_error (future);

      g_assert_error (error, TW_ERROR, TW_ERROR_INVALID_RESULT);
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }
}

/* The index of the first mismatch, wherever it is in its chunk. */
static void
test_map_mismatch_index (gconstpointer data)
{
  struct {
    gint64      start;
    const char *message;
  } cases[] = {
    /* A chunk of int64 and then a double. */
    { 1000, "Output 50 of the map is of type “d”, not of the type “x” the map was asked for" },
    { 1001, "Output 49 of the map is of type “d”, not of the type “x” the map was asked for" },
    /* 1600 inputs make 32 chunks of 50; the ninth holds only doubles. */
    { 1600, "Output 400 of the map is of type “d”, not of the type “x” the map was asked "
            "for" },
  };
  g_autoptr(TwTroupe) troupe = map_troupe_new ("mostly-int64", GPOINTER_TO_INT (data));

  g_test_summary ("A mismatch is found in a chunk that changes type, and in a chunk "
                  "wholly of another type, and named by its index in the inputs");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(TwFuture) future = NULL;
      g_autoptr(GError) error = NULL;
      GVariantBuilder builder;

      g_variant_builder_init (&builder, G_VARIANT_TYPE ("ax"));
      for (gint64 j = cases[i].start; j < N_INPUTS; j++)
        g_variant_builder_add (&builder, "x", j);

      future = tw_troupe_map_full (troupe, g_variant_builder_end (&builder),
                                   G_VARIANT_TYPE_INT64);
      error = tw_test_wait_error (future);
      g_assert_error (error, TW_ERROR, TW_ERROR_INVALID_RESULT);
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }
}

static void
test_map_variant (gconstpointer data)
{
  const char *names[] = { "square-less-7", "repeat-x", "mostly-int64" };

  g_test_summary ("A map asked for variants gives the av that tw_troupe_map() gives, "
                  "byte for byte");

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(TwTroupe) troupe = map_troupe_new (names[i], GPOINTER_TO_INT (data));
      g_autoptr(TwFuture) plain = tw_troupe_map (troupe, map_inputs ());
      g_autoptr(TwFuture) full = tw_troupe_map_full (troupe, map_inputs (),
                                                     G_VARIANT_TYPE_VARIANT);
      g_autoptr(GVariant) expected = tw_test_wait_value (plain);
      g_autoptr(GVariant) value = tw_test_wait_value (full);

      g_assert_cmpstr (g_variant_get_type_string (value), ==, "av");
      g_assert_cmpuint (g_variant_n_children (value), ==, N_INPUTS);
      g_assert_true (g_variant_is_normal_form (value));
      g_assert_cmpmem (g_variant_get_data (value), g_variant_get_size (value),
                       g_variant_get_data (expected), g_variant_get_size (expected));
    }
}

static void
test_map_chunk_func (gconstpointer data)
{
  TwTroupeMode mode = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) plain = map_troupe_new ("square-less-7", mode);
  const char *names[] = { "square-less-7-chunk", "square-less-7-boxed-chunk" };
  g_autoptr(TwFuture) plain_future = tw_troupe_map (plain, map_inputs ());
  g_autoptr(GVariant) boxed = tw_test_wait_value (plain_future);

  g_test_summary ("A chunk function's arrays give the type asked for: as they are, "
                  "unboxed from an av, or boxed into an av");

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(TwTroupe) troupe = map_troupe_new (names[i], mode);
      g_autoptr(TwFuture) typed = tw_troupe_map_full (troupe, map_inputs (),
                                                      G_VARIANT_TYPE_INT64);
      g_autoptr(TwFuture) variants = tw_troupe_map_full (troupe, map_inputs (),
                                                         G_VARIANT_TYPE_VARIANT);
      g_autoptr(GVariant) typed_value = tw_test_wait_value (typed);
      g_autoptr(GVariant) variants_value = tw_test_wait_value (variants);

      g_assert_cmpstr (g_variant_get_type_string (typed_value), ==, "ax");
      assert_outputs_of (typed_value, square_less_7);
      g_assert_cmpmem (g_variant_get_data (variants_value), g_variant_get_size (variants_value),
                       g_variant_get_data (boxed), g_variant_get_size (boxed));
    }
}

static void
test_map_chunk_func_mismatch (gconstpointer data)
{
  g_autoptr(TwTroupe) troupe = map_troupe_new ("quarter-chunk", GPOINTER_TO_INT (data));
  g_autoptr(TwFuture) wrong = tw_troupe_map_full (troupe, map_inputs (), G_VARIANT_TYPE_INT64);
  g_autoptr(TwFuture) right = tw_troupe_map_full (troupe, map_inputs (), G_VARIANT_TYPE_DOUBLE);
  g_autoptr(GError) error = tw_test_wait_error (wrong);
  g_autoptr(GVariant) value = tw_test_wait_value (right);

  g_assert_error (error, TW_ERROR, TW_ERROR_INVALID_RESULT);
  g_assert_cmpstr (error->message, ==, "Output 0 of the map is of type “d”, not of the type "
                                       "“x” the map was asked for");
  g_assert_cmpstr (g_variant_get_type_string (value), ==, "ad");
  assert_outputs_of (value, quarter);
}

static void
test_map_empty (gconstpointer data)
{
  const char *types[] = { "x", "s", "v", "(sb)" };
  g_autoptr(TwTroupe) troupe = map_troupe_new ("square-less-7", GPOINTER_TO_INT (data));

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autoptr(TwFuture) future =
        tw_troupe_map_full (troupe, g_variant_new_array (G_VARIANT_TYPE_INT64, NULL, 0),
                            G_VARIANT_TYPE (types[i]));
      g_autoptr(GVariant) value = tw_test_wait_value (future);
      g_autofree char *array_type = g_strconcat ("a", types[i], NULL);

      g_assert_cmpstr (g_variant_get_type_string (value), ==, array_type);
      g_assert_cmpuint (g_variant_n_children (value), ==, 0);
    }
}

static void
test_map_indefinite_type (void)
{
  g_autoptr(TwTroupe) troupe = map_troupe_new ("square-less-7", TW_TROUPE_MODE_THREAD);
  g_autoptr(GVariant) inputs = g_variant_ref_sink (map_inputs ());
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;

  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*g_variant_type_is_definite*");
  future = tw_troupe_map_full (troupe, inputs, G_VARIANT_TYPE ("a*"));
  g_test_assert_expected_messages ();

  error = tw_test_wait_error (future);
  g_assert_error (error, TW_ERROR, TW_ERROR_FAILED);
  g_assert_cmpuint (tw_troupe_get_n_completed (troupe), ==, 0);
}

static void
test_map_failure_stops_chunks (gconstpointer data)
{
  g_autoptr(TwTroupe) troupe = map_troupe_new ("fail-at-0", GPOINTER_TO_INT (data));
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A map queues its chunks a few at a time (four for one worker), and "
                  "cancels those not queued yet once one has failed");

  tw_troupe_set_n_workers (troupe, 1);
  future = tw_troupe_map_full (troupe, map_inputs (), G_VARIANT_TYPE_INT64);
  error = tw_test_wait_error (future);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_cmpstr (error->message, ==, "zero");

  /* The first of sixteen chunks failed; at least the twelve not queued
   * yet were cancelled (in process mode the next may have run). */
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpuint (tw_troupe_get_n_completed (troupe), ==, 16);
  g_assert_cmpuint (tw_troupe_get_n_failed (troupe), ==, 1);
  g_assert_cmpuint (tw_troupe_get_n_cancelled (troupe), >=, 12);
}

static void
test_map_cancel_stops_chunks (void)
{
  g_autoptr(TwTroupe) troupe = map_troupe_new ("wait-at-0", TW_TROUPE_MODE_THREAD);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Cancelling a map cancels its running chunk before it goes on, and "
                  "all the others");

  tw_troupe_set_n_workers (troupe, 1);
  future = tw_troupe_map_full (troupe, map_inputs (), G_VARIANT_TYPE_INT64);
  g_mutex_lock (&gate_lock);
  while (!gate_reached)
    g_cond_wait (&gate_cond, &gate_lock);
  g_mutex_unlock (&gate_lock);

  tw_future_cancel (future);
  error = tw_test_wait_error (future);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* The running chunk stopped after its first input, and the fifteen
   * others were cancelled before they started. */
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpuint (tw_troupe_get_n_cancelled (troupe), ==, 16);
  g_assert_cmpint (g_atomic_int_get (&n_gated_calls), ==, 1);
}

static void
test_map_drain_and_max_queued (gconstpointer data)
{
  g_autoptr(TwTroupe) troupe = map_troupe_new ("square-less-7", GPOINTER_TO_INT (data));
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GVariant) value = NULL;
  const gint64 *outputs;
  gsize n;

  g_test_summary ("A map queues its later chunks past the max-queued limit, and a "
                  "draining shutdown finishes them");

  tw_troupe_set_max_queued (troupe, 1);
  future = tw_troupe_map_full (troupe, map_inputs (), G_VARIANT_TYPE_INT64);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);

  value = tw_test_wait_value (future);
  outputs = g_variant_get_fixed_array (value, &n, sizeof (gint64));
  g_assert_cmpuint (n, ==, N_INPUTS);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpint (outputs[i], ==, (gint64)i * (gint64)i - 7);
  g_assert_cmpuint (tw_troupe_get_n_completed (troupe), ==, 32);
}

int
main (int   argc,
      char *argv[])
{
  tw_register_func ("square-less-7", square_less_7, NULL, NULL);
  tw_register_func ("quarter", quarter, NULL, NULL);
  tw_register_func ("fail-at-0", fail_at_0, NULL, NULL);
  tw_register_func ("wait-at-0", wait_at_0, NULL, NULL);
  tw_register_func ("repeat-x", repeat_x, NULL, NULL);
  tw_register_func ("mostly-int64", mostly_int64, NULL, NULL);
  tw_register_chunk_func ("square-less-7-chunk", square_less_7_chunk, NULL, NULL);
  tw_register_chunk_func ("square-less-7-boxed-chunk", square_less_7_boxed_chunk, NULL, NULL);
  tw_register_chunk_func ("quarter-chunk", quarter_chunk, NULL, NULL);
  tw_init ();

  g_test_init (&argc, &argv, NULL);

  tw_test_add_mode_test ("/map/full/int64-outputs-give-an-ax", test_map_int64);
  tw_test_add_mode_test ("/map/full/double-outputs-give-an-ad", test_map_double);
  tw_test_add_mode_test ("/map/full/string-outputs-give-an-as", test_map_string);
  tw_test_add_mode_test ("/map/full/an-output-of-another-type-fails-it", test_map_mismatch);
  tw_test_add_mode_test ("/map/full/names-the-first-mismatch-by-index", test_map_mismatch_index);
  tw_test_add_mode_test ("/map/full/variant-gives-tw-troupe-maps-av", test_map_variant);
  tw_test_add_mode_test ("/map/full/chunk-function-arrays-give-the-type", test_map_chunk_func);
  tw_test_add_mode_test ("/map/full/chunk-function-of-another-type-fails-it",
                  test_map_chunk_func_mismatch);
  tw_test_add_mode_test ("/map/full/of-nothing-is-an-empty-array", test_map_empty);
  tw_test_add_mode_test ("/map/a-failure-sends-no-more-chunks", test_map_failure_stops_chunks);
  tw_test_add_mode_test ("/map/drains-past-max-queued", test_map_drain_and_max_queued);
  g_test_add_func ("/map/cancelling-sends-no-more-chunks/thread", test_map_cancel_stops_chunks);
  g_test_add_func ("/map/full/indefinite-type-is-a-programmer-error", test_map_indefinite_type);

  return g_test_run ();
}
