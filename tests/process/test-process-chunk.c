/* test-process-chunk.c: chunk functions, in both modes
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
 * Part of the process-mode test suite (issue #15). This program is its
 * own worker program: main() registers the chunk functions below before
 * tw_test_process_serve(), so the re-executed workers have them too.
 */

#include "config.h"

#include <tiny-worker.h>

#include "tw-test-funcs.h"
#include "tw-test-process.h"
#include "tw-test-util.h"

/* Calls of the chunk functions in this process (thread mode). */
static gint n_chunk_calls;

/* ax -> ax of the squares */
static GVariant *
square_chunk_func (GVariant      *inputs,
                   GCancellable  *cancellable,
                   gpointer       user_data,
                   GError       **error)
{
  gsize n;
  const gint64 *numbers = g_variant_get_fixed_array (inputs, &n, sizeof (gint64));
  gint64 *squares = g_new (gint64, MAX (n, 1));
  GVariant *outputs;

  g_atomic_int_inc (&n_chunk_calls);
  for (gsize i = 0; i < n; i++)
    squares[i] = numbers[i] * numbers[i];

  outputs = g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, squares, n, sizeof (gint64));
  g_free (squares);

  return outputs;
}

/* as -> a(su) of each string and its length: elements of no fixed size */
static GVariant *
length_chunk_func (GVariant      *inputs,
                   GCancellable  *cancellable,
                   gpointer       user_data,
                   GError       **error)
{
  GVariantBuilder builder;
  GVariantIter iter;
  const char *text;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(su)"));
  g_variant_iter_init (&iter, inputs);
  while (g_variant_iter_next (&iter, "&s", &text))
    g_variant_builder_add (&builder, "(su)", text, (guint32)strlen (text));

  return g_variant_builder_end (&builder);
}

/* ax -> ab of whether each is even: a type whose bytes may be non-normal */
static GVariant *
even_chunk_func (GVariant      *inputs,
                 GCancellable  *cancellable,
                 gpointer       user_data,
                 GError       **error)
{
  GVariantBuilder builder;
  GVariantIter iter;
  gint64 x;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("ab"));
  g_variant_iter_init (&iter, inputs);
  while (g_variant_iter_next (&iter, "x", &x))
    g_variant_builder_add (&builder, "b", x % 2 == 0);

  return g_variant_builder_end (&builder);
}

/* any -> an empty ax: one output too few */
static GVariant *
short_chunk_func (GVariant      *inputs,
                  GCancellable  *cancellable,
                  gpointer       user_data,
                  GError       **error)
{
  return g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, NULL, 0, sizeof (gint64));
}

/* any -> fails with TW_TEST_PROCESS_ERROR 9 */
static GVariant *
fail_chunk_func (GVariant      *inputs,
                 GCancellable  *cancellable,
                 gpointer       user_data,
                 GError       **error)
{
  g_set_error (error, TW_TEST_PROCESS_ERROR, 9, "chunk of %" G_GSIZE_FORMAT " failed",
               g_variant_n_children (inputs));
  return NULL;
}

static TwTroupe *
chunk_troupe_new (const char   *name,
                  TwTroupeMode  mode)
{
  TwTroupe *troupe;

  if (mode == TW_TROUPE_MODE_PROCESS)
    return tw_test_process_troupe_new (name, TW_TEST_WORKER_SELF, 2);

  troupe = tw_troupe_new_for_func_name (name);
  tw_troupe_set_n_workers (troupe, 2);

  return troupe;
}

static void
test_chunk_square (gconstpointer data)
{
  TwTroupeMode mode = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = chunk_troupe_new ("square-chunk", mode);
  gint64 numbers[1000];
  g_autoptr(TwFuture) map = NULL;
  g_autoptr(GVariant) outputs = NULL;
  g_autoptr(TwFuture) single = NULL;
  const gint64 *squares;
  gsize n_squares;

  g_test_summary ("A chunk function runs each chunk of a map in one call, the map "
                  "joins the arrays it returns, and a single task runs as a chunk of one");

  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
    numbers[i] = (gint64)i - 500;

  g_atomic_int_set (&n_chunk_calls, 0);
  map = tw_troupe_map (troupe, g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, numbers,
                                                          G_N_ELEMENTS (numbers),
                                                          sizeof (gint64)));
  outputs = tw_test_wait_value (map);
  g_assert_cmpstr (g_variant_get_type_string (outputs), ==, "ax");
  g_assert_cmpuint (g_variant_n_children (outputs), ==, G_N_ELEMENTS (numbers));
  squares = g_variant_get_fixed_array (outputs, &n_squares, sizeof (gint64));
  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
    g_assert_cmpint (squares[i], ==, numbers[i] * numbers[i]);
  g_assert_true (g_variant_is_normal_form (outputs));

  /* Sixteen chunks per worker, one call each, and none in this process. */
  g_assert_cmpint (g_atomic_int_get (&n_chunk_calls), ==,
                   mode == TW_TROUPE_MODE_THREAD ? 32 : 0);

  single = tw_troupe_submit (troupe, g_variant_new_int64 (-7));
  g_assert_cmpint (tw_test_wait_int64 (single), ==, 49);

  tw_test_shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpuint (tw_troupe_get_n_succeeded (troupe), ==, 32 + 1);
}

static void
test_chunk_other_types (gconstpointer data)
{
  TwTroupeMode mode = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) lengths = chunk_troupe_new ("length-chunk", mode);
  g_autoptr(TwTroupe) evens = chunk_troupe_new ("even-chunk", mode);
  const char *texts[] = { "", "a", "bb", "ccc", "dddd", "eeeee", "ffffff", "ggggggg", "h" };
  g_autoptr(TwFuture) length_map = NULL;
  g_autoptr(TwFuture) even_map = NULL;
  g_autoptr(GVariant) length_outputs = NULL;
  g_autoptr(GVariant) even_outputs = NULL;
  g_autoptr(TwFuture) empty_map = NULL;
  g_autoptr(GVariant) empty_outputs = NULL;

  g_test_summary ("Chunk functions may return any array type, of fixed-size "
                  "elements or not, and the map joins them into one of that type");

  length_map = tw_troupe_map (lengths, g_variant_new_strv (texts, G_N_ELEMENTS (texts)));
  even_map = tw_troupe_map (evens, g_variant_new_parsed ("[int64 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"));
  length_outputs = tw_test_wait_value (length_map);
  even_outputs = tw_test_wait_value (even_map);

  g_assert_cmpstr (g_variant_get_type_string (length_outputs), ==, "a(su)");
  g_assert_cmpuint (g_variant_n_children (length_outputs), ==, G_N_ELEMENTS (texts));
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      const char *text;
      guint32 length;

      g_variant_get_child (length_outputs, i, "(&su)", &text, &length);
      g_assert_cmpstr (text, ==, texts[i]);
      g_assert_cmpuint (length, ==, strlen (texts[i]));
    }

  g_assert_cmpstr (g_variant_get_type_string (even_outputs), ==, "ab");
  g_assert_cmpuint (g_variant_n_children (even_outputs), ==, 10);
  for (guint i = 0; i < 10; i++)
    {
      gboolean even;

      g_variant_get_child (even_outputs, i, "b", &even);
      g_assert_cmpint (even, ==, (i + 1) % 2 == 0);
    }

  /* An empty map has no chunk to tell the type by. */
  empty_map = tw_troupe_map (evens, g_variant_new_parsed ("@ax []"));
  empty_outputs = tw_test_wait_value (empty_map);
  g_assert_cmpstr (g_variant_get_type_string (empty_outputs), ==, "av");
  g_assert_cmpuint (g_variant_n_children (empty_outputs), ==, 0);

  tw_troupe_shutdown (lengths, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_shutdown_and_check (evens, TW_SHUTDOWN_MODE_DRAIN);
}

static void
test_chunk_errors (gconstpointer data)
{
  TwTroupeMode mode = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) shorts = chunk_troupe_new ("short-chunk", mode);
  g_autoptr(TwTroupe) fails = chunk_troupe_new ("fail-chunk", mode);
  g_autoptr(TwFuture) short_map = NULL;
  g_autoptr(TwFuture) short_single = NULL;
  g_autoptr(TwFuture) fail_map = NULL;
  g_autoptr(GError) short_map_error = NULL;
  g_autoptr(GError) short_single_error = NULL;
  g_autoptr(GError) fail_map_error = NULL;

  g_test_summary ("A chunk function that returns too few outputs, or fails, "
                  "fails the map with a clear error");

  short_map = tw_troupe_map (shorts, g_variant_new_parsed ("[int64 1, 2, 3]"));
  short_single = tw_troupe_submit (shorts, g_variant_new_int64 (1));
  fail_map = tw_troupe_map (fails, g_variant_new_parsed ("[int64 1]"));

  short_map_error = tw_test_wait_error (short_map);
  g_assert_error (short_map_error, TW_ERROR, TW_ERROR_INVALID_RESULT);
  tw_test_assert_contains (short_map_error->message, "one output per input");
  short_single_error = tw_test_wait_error (short_single);
  g_assert_error (short_single_error, TW_ERROR, TW_ERROR_INVALID_RESULT);
  fail_map_error = tw_test_wait_error (fail_map);
  g_assert_error (fail_map_error, TW_TEST_PROCESS_ERROR, 9);
  g_assert_cmpstr (fail_map_error->message, ==, "chunk of 1 failed");

  tw_troupe_shutdown (shorts, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_shutdown_and_check (fails, TW_SHUTDOWN_MODE_DRAIN);
}

int
main (int   argc,
      char *argv[])
{
  tw_register_chunk_func ("square-chunk", square_chunk_func, NULL, NULL);
  tw_register_chunk_func ("length-chunk", length_chunk_func, NULL, NULL);
  tw_register_chunk_func ("even-chunk", even_chunk_func, NULL, NULL);
  tw_register_chunk_func ("short-chunk", short_chunk_func, NULL, NULL);
  tw_register_chunk_func ("fail-chunk", fail_chunk_func, NULL, NULL);
  tw_test_process_serve ();
  tw_test_process_init (&argc, &argv);

  tw_test_add_mode_test ("/process/chunk/square", test_chunk_square);
  tw_test_add_mode_test ("/process/chunk/other-types", test_chunk_other_types);
  tw_test_add_mode_test ("/process/chunk/errors", test_chunk_errors);

  return g_test_run ();
}
