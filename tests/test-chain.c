/* test-chain.c
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

#include "tw-test-util.h"

/* The chain functions count their calls in a TwTestCalls, their user
 * data; tw_test_gated_square_func() is one of them. */

/* x (int64) -> x + 1 */
static GVariant *
increment_func (GVariant      *input,
                GCancellable  *cancellable,
                gpointer       user_data,
                GError       **error)
{
  TwTestCalls *info = user_data;

  g_atomic_int_inc (&info->n_calls);

  return g_variant_new_int64 (g_variant_get_int64 (input) + 1);
}

/* x (int64) -> x / 2 (double) */
static GVariant *
halve_func (GVariant      *input,
            GCancellable  *cancellable,
            gpointer       user_data,
            GError       **error)
{
  TwTestCalls *info = user_data;

  g_atomic_int_inc (&info->n_calls);

  return g_variant_new_double (g_variant_get_int64 (input) / 2.0);
}

/* Fails every task with TW_TEST_ERROR 99. */
static GVariant *
failing_func (GVariant      *input,
              GCancellable  *cancellable,
              gpointer       user_data,
              GError       **error)
{
  TwTestCalls *info = user_data;

  g_atomic_int_inc (&info->n_calls);
  g_set_error (error, TW_TEST_ERROR, 99, "No luck with %" G_GINT64_FORMAT,
               g_variant_get_int64 (input));

  return NULL;
}

static TwTroupe *
new_troupe (TwFunc       func,
            TwTestCalls *info,
            guint        n_workers)
{
  TwTroupe *troupe = tw_troupe_new_for_func (func, info, NULL);

  tw_troupe_set_n_workers (troupe, n_workers);

  return troupe;
}

static void
test_chain_three_levels (void)
{
  g_autoptr(TwTroupe) squarer = NULL;
  g_autoptr(TwTroupe) incrementer = NULL;
  g_autoptr(TwTroupe) halver = NULL;
  g_autoptr(GPtrArray) outputs = g_ptr_array_new_with_free_func (g_object_unref);
  TwTestCalls square_info, increment_info, halve_info;

  g_test_summary ("x -> x^2 -> x^2 + 1 -> (x^2 + 1) / 2 across three troupes");

  tw_test_calls_init (&square_info);
  tw_test_calls_init (&increment_info);
  tw_test_calls_init (&halve_info);
  squarer = new_troupe (tw_test_gated_square_func, &square_info, 2);
  incrementer = new_troupe (increment_func, &increment_info, 2);
  halver = new_troupe (halve_func, &halve_info, 2);

  for (gint64 i = 0; i < 50; i++)
    {
      g_autoptr(TwFuture) squared = tw_troupe_submit (squarer, g_variant_new_int64 (i));
      g_autoptr(TwFuture) incremented = tw_troupe_submit_future (incrementer, squared);

      g_ptr_array_add (outputs, tw_troupe_submit_future (halver, incremented));
    }

  for (guint i = 0; i < outputs->len; i++)
    {
      g_autoptr(GVariant) value = tw_test_wait_value (outputs->pdata[i]);

      g_assert_true (g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE));
      g_assert_cmpfloat (g_variant_get_double (value), ==, (i * (gdouble)i + 1) / 2.0);
    }

  tw_troupe_shutdown (squarer, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (incrementer, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (halver, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpint (square_info.n_calls, ==, 50);
  g_assert_cmpint (increment_info.n_calls, ==, 50);
  g_assert_cmpint (halve_info.n_calls, ==, 50);

  tw_test_calls_clear (&square_info);
  tw_test_calls_clear (&increment_info);
  tw_test_calls_clear (&halve_info);
}

static void
test_chain_same_troupe (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(GPtrArray) outputs = g_ptr_array_new_with_free_func (g_object_unref);
  TwTestCalls info;

  tw_test_calls_init (&info);
  troupe = new_troupe (tw_test_gated_square_func, &info, 2);

  /* x -> x² -> x⁴ -> x⁸, all on one troupe. */
  for (gint64 i = 0; i < 20; i++)
    {
      g_autoptr(TwFuture) first = tw_troupe_submit (troupe, g_variant_new_int64 (i));
      g_autoptr(TwFuture) second = tw_troupe_submit_future (troupe, first);

      g_ptr_array_add (outputs, tw_troupe_submit_future (troupe, second));
    }

  for (guint i = 0; i < outputs->len; i++)
    {
      gint64 x = i;

      g_assert_cmpint (tw_test_wait_int64 (outputs->pdata[i]), ==, x * x * x * x * x * x * x * x);
    }

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpint (info.n_calls, ==, 60);
  g_assert_cmpuint (tw_troupe_get_n_succeeded (troupe), ==, 60);
  tw_test_calls_clear (&info);
}

static void
test_chain_deep (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) future = NULL;
  TwTestCalls info;

  tw_test_calls_init (&info);
  troupe = new_troupe (increment_func, &info, 2);

  future = tw_troupe_submit (troupe, g_variant_new_int64 (1000));
  for (guint i = 0; i < 200; i++)
    {
      TwFuture *next = tw_troupe_submit_future (troupe, future);

      g_object_unref (future);
      future = next;
    }

  g_assert_cmpint (tw_test_wait_int64 (future), ==, 1201);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpint (info.n_calls, ==, 201);
  tw_test_calls_clear (&info);
}

static void
test_chain_failed_input (void)
{
  g_autoptr(TwTroupe) failer = NULL;
  g_autoptr(TwTroupe) squarer = NULL;
  g_autoptr(TwFuture) failed = NULL;
  g_autoptr(TwFuture) level1 = NULL;
  g_autoptr(TwFuture) level2 = NULL;
  g_autoptr(TwFuture) settled_input = NULL;
  g_autoptr(TwFuture) from_settled = NULL;
  TwTestCalls fail_info, square_info;

  g_test_summary ("A failed input fails the chained tasks with the same error, and "
                  "their worker is never called");

  tw_test_calls_init (&fail_info);
  tw_test_calls_init (&square_info);
  failer = new_troupe (failing_func, &fail_info, 1);
  squarer = new_troupe (tw_test_gated_square_func, &square_info, 1);

  failed = tw_troupe_submit (failer, g_variant_new_int64 (5));
  level1 = tw_troupe_submit_future (squarer, failed);
  level2 = tw_troupe_submit_future (squarer, level1);

  for (guint i = 0; i < 3; i++)
    {
      TwFuture *future = i == 0 ? failed : i == 1 ? level1 : level2;
      g_autoptr(GError) error = tw_test_wait_error (future);

      g_assert_error (error, TW_TEST_ERROR, 99);
      g_assert_cmpstr (error->message, ==, "No luck with 5");
      g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_FAILED);
    }

  /* The same with an input that failed before it was chained. */
  settled_input = tw_future_new_for_error (g_error_new_literal (TW_TEST_ERROR, 98, "early"));
  from_settled = tw_troupe_submit_future (squarer, settled_input);
  {
    g_autoptr(GError) error = tw_test_wait_error (from_settled);

    g_assert_error (error, TW_TEST_ERROR, 98);
    g_assert_cmpstr (error->message, ==, "early");
  }

  tw_troupe_shutdown (failer, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (squarer, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpint (g_atomic_int_get (&fail_info.n_calls), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&square_info.n_calls), ==, 0);
  g_assert_cmpuint (tw_troupe_get_n_failed (squarer), ==, 3);
  g_assert_cmpuint (tw_troupe_get_n_completed (squarer), ==, 3);

  tw_test_calls_clear (&fail_info);
  tw_test_calls_clear (&square_info);
}

static void
test_chain_cancelled_input (void)
{
  g_autoptr(TwTroupe) source = NULL;
  g_autoptr(TwTroupe) squarer = NULL;
  g_autoptr(TwFuture) blocker = NULL;
  g_autoptr(TwFuture) queued = NULL;
  g_autoptr(TwFuture) level1 = NULL;
  g_autoptr(TwFuture) level2 = NULL;
  g_autoptr(TwFuture) settled_input = NULL;
  g_autoptr(TwFuture) from_settled = NULL;
  TwTestCalls source_info, square_info;

  g_test_summary ("A cancelled input cancels the chained tasks with "
                  "G_IO_ERROR_CANCELLED, and their worker is never called");

  tw_test_calls_init (&source_info);
  tw_test_calls_init (&square_info);
  source = new_troupe (tw_test_gated_square_func, &source_info, 1);
  squarer = new_troupe (tw_test_gated_square_func, &square_info, 1);

  /* The input is queued behind a blocked task, then cancelled. */
  blocker = tw_troupe_submit (source, g_variant_new_int64 (-1));
  tw_test_gate_wait_entered (&source_info.gate, 1);
  queued = tw_troupe_submit (source, g_variant_new_int64 (4));
  level1 = tw_troupe_submit_future (squarer, queued);
  level2 = tw_troupe_submit_future (squarer, level1);
  g_assert_cmpint (tw_future_get_state (level1), ==, TW_FUTURE_STATE_PENDING);

  tw_future_cancel (queued);

  for (guint i = 0; i < 2; i++)
    {
      TwFuture *future = i == 0 ? level1 : level2;
      g_autoptr(GError) error = tw_test_wait_error (future);

      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_CANCELLED);
    }

  settled_input = tw_future_new_for_error (g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                                "stopped"));
  from_settled = tw_troupe_submit_future (squarer, settled_input);
  {
    g_autoptr(GError) error = tw_test_wait_error (from_settled);

    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_assert_cmpstr (error->message, ==, "stopped");
    g_assert_cmpint (tw_future_get_state (from_settled), ==, TW_FUTURE_STATE_CANCELLED);
  }

  tw_test_gate_open (&source_info.gate);
  g_assert_cmpint (tw_test_wait_int64 (blocker), ==, 1);

  tw_troupe_shutdown (source, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (squarer, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpint (g_atomic_int_get (&source_info.n_calls), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&square_info.n_calls), ==, 0);
  g_assert_cmpuint (tw_troupe_get_n_cancelled (squarer), ==, 3);

  tw_test_calls_clear (&source_info);
  tw_test_calls_clear (&square_info);
}

static void
test_chain_settled_input (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) input = tw_future_new_for_value (g_variant_new_int64 (12));
  g_autoptr(TwFuture) output = NULL;
  TwTestCalls info;

  tw_test_calls_init (&info);
  troupe = new_troupe (tw_test_gated_square_func, &info, 1);

  output = tw_troupe_submit_future (troupe, input);
  g_assert_cmpint (tw_test_wait_int64 (output), ==, 144);

  /* The input is not consumed: it can be chained again. */
  g_clear_object (&output);
  output = tw_troupe_submit_future (troupe, input);
  g_assert_cmpint (tw_test_wait_int64 (output), ==, 144);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpint (info.n_calls, ==, 2);
  tw_test_calls_clear (&info);
}

static void
test_chain_fan_out (void)
{
  g_autoptr(TwTroupe) source = NULL;
  g_autoptr(TwTroupe) squarer = NULL;
  g_autoptr(TwFuture) input = NULL;
  g_autoptr(GPtrArray) outputs = g_ptr_array_new_with_free_func (g_object_unref);
  TwTestCalls source_info, square_info;

  tw_test_calls_init (&source_info);
  tw_test_calls_init (&square_info);
  source = new_troupe (tw_test_gated_square_func, &source_info, 1);
  squarer = new_troupe (tw_test_gated_square_func, &square_info, 2);

  input = tw_troupe_submit (source, g_variant_new_int64 (-3));
  for (guint i = 0; i < 10; i++)
    g_ptr_array_add (outputs, tw_troupe_submit_future (squarer, input));

  tw_test_gate_open (&source_info.gate);
  for (guint i = 0; i < outputs->len; i++)
    g_assert_cmpint (tw_test_wait_int64 (outputs->pdata[i]), ==, 81);

  tw_troupe_shutdown (source, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (squarer, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpint (square_info.n_calls, ==, 10);
  tw_test_calls_clear (&source_info);
  tw_test_calls_clear (&square_info);
}

static void
test_chain_no_thread_held (void)
{
  g_autoptr(TwTroupe) source = NULL;
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) input = NULL;
  g_autoptr(GPtrArray) chained = g_ptr_array_new_with_free_func (g_object_unref);
  TwTestCalls source_info, info;

  g_test_summary ("A chained task waits without a thread: a one-worker troupe keeps "
                  "running other tasks while its chained tasks wait");

  tw_test_calls_init (&source_info);
  tw_test_calls_init (&info);
  source = new_troupe (tw_test_gated_square_func, &source_info, 1);
  troupe = new_troupe (tw_test_gated_square_func, &info, 1);

  input = tw_troupe_submit (source, g_variant_new_int64 (-2));
  tw_test_gate_wait_entered (&source_info.gate, 1);
  for (guint i = 0; i < 5; i++)
    g_ptr_array_add (chained, tw_troupe_submit_future (troupe, input));

  /* Nothing is queued for them yet. */
  g_assert_cmpuint (tw_troupe_get_n_queued (troupe), ==, 0);
  g_assert_cmpuint (tw_troupe_get_n_running (troupe), ==, 0);

  /* The one worker is free for other tasks meanwhile. */
  for (gint64 i = 0; i < 20; i++)
    {
      g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_int64 (i));

      g_assert_cmpint (tw_test_wait_int64 (future), ==, i * i);
    }
  for (guint i = 0; i < chained->len; i++)
    g_assert_cmpint (tw_future_get_state (chained->pdata[i]), ==, TW_FUTURE_STATE_PENDING);
  g_assert_cmpint (g_atomic_int_get (&info.n_calls), ==, 20);

  tw_test_gate_open (&source_info.gate);
  for (guint i = 0; i < chained->len; i++)
    g_assert_cmpint (tw_test_wait_int64 (chained->pdata[i]), ==, 16);

  tw_troupe_shutdown (source, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpint (g_atomic_int_get (&info.n_calls), ==, 25);
  tw_test_calls_clear (&source_info);
  tw_test_calls_clear (&info);
}

static void
test_chain_no_thread_held_same_troupe (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) blocker = NULL;
  g_autoptr(GPtrArray) chained = g_ptr_array_new_with_free_func (g_object_unref);
  TwTestCalls info;

  g_test_summary ("Within one troupe of two workers, tasks chained on a blocked task "
                  "leave the other worker free");

  tw_test_calls_init (&info);
  troupe = new_troupe (tw_test_gated_square_func, &info, 2);

  blocker = tw_troupe_submit (troupe, g_variant_new_int64 (-5));
  tw_test_gate_wait_entered (&info.gate, 1);
  for (guint i = 0; i < 4; i++)
    g_ptr_array_add (chained, tw_troupe_submit_future (troupe, blocker));

  for (gint64 i = 0; i < 20; i++)
    {
      g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_int64 (i));

      g_assert_cmpint (tw_test_wait_int64 (future), ==, i * i);
    }
  for (guint i = 0; i < chained->len; i++)
    g_assert_false (tw_future_is_done (chained->pdata[i]));

  tw_test_gate_open (&info.gate);
  g_assert_cmpint (tw_test_wait_int64 (blocker), ==, 25);
  for (guint i = 0; i < chained->len; i++)
    g_assert_cmpint (tw_test_wait_int64 (chained->pdata[i]), ==, 625);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpint (g_atomic_int_get (&info.n_calls), ==, 1 + 20 + 4);
  tw_test_calls_clear (&info);
}

static void
test_chain_cancel_waiting (void)
{
  g_autoptr(TwTroupe) source = NULL;
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) input = NULL;
  g_autoptr(TwFuture) doomed = NULL;
  g_autoptr(TwFuture) kept = NULL;
  g_autoptr(GError) error = NULL;
  TwTestCalls source_info, info;

  g_test_summary ("Cancelling a chained task that waits for its input settles it at "
                  "once and leaves the input alone");

  tw_test_calls_init (&source_info);
  tw_test_calls_init (&info);
  source = new_troupe (tw_test_gated_square_func, &source_info, 1);
  troupe = new_troupe (tw_test_gated_square_func, &info, 1);

  input = tw_troupe_submit (source, g_variant_new_int64 (-3));
  doomed = tw_troupe_submit_future (troupe, input);
  kept = tw_troupe_submit_future (troupe, input);

  tw_future_cancel (doomed);
  g_assert_cmpint (tw_future_get_state (doomed), ==, TW_FUTURE_STATE_CANCELLED);
  error = tw_test_wait_error (doomed);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (tw_future_is_done (input));

  tw_test_gate_open (&source_info.gate);
  g_assert_cmpint (tw_test_wait_int64 (input), ==, 9);
  g_assert_cmpint (tw_test_wait_int64 (kept), ==, 81);
  g_assert_cmpint (tw_future_get_state (doomed), ==, TW_FUTURE_STATE_CANCELLED);

  /* The cancelled task left nothing behind for the drain to wait for. */
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (source, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpint (g_atomic_int_get (&info.n_calls), ==, 1);
  g_assert_cmpuint (tw_troupe_get_n_cancelled (troupe), ==, 1);
  g_assert_cmpuint (tw_troupe_get_n_succeeded (troupe), ==, 1);
  tw_test_calls_clear (&source_info);
  tw_test_calls_clear (&info);
}

static void
test_chain_finalize (void)
{
  TwTroupe *source;
  TwTroupe *troupe;
  TwFuture *input;
  TwFuture *output;
  TwTestCalls source_info, info;

  tw_test_calls_init (&source_info);
  tw_test_calls_init (&info);
  source = new_troupe (tw_test_gated_square_func, &source_info, 1);
  troupe = new_troupe (tw_test_gated_square_func, &info, 1);
  g_object_add_weak_pointer (G_OBJECT (source), (gpointer *)&source);
  g_object_add_weak_pointer (G_OBJECT (troupe), (gpointer *)&troupe);

  input = tw_troupe_submit (source, g_variant_new_int64 (-2));
  output = tw_troupe_submit_future (troupe, input);
  g_object_add_weak_pointer (G_OBJECT (input), (gpointer *)&input);
  g_object_add_weak_pointer (G_OBJECT (output), (gpointer *)&output);

  /* Drop the input first: the chain keeps what it needs. */
  g_object_unref (input);
  tw_test_gate_open (&source_info.gate);
  g_assert_cmpint (tw_test_wait_int64 (output), ==, 16);

  g_object_unref (source);
  g_object_unref (troupe);
  g_assert_null (source);
  g_assert_null (troupe);
  g_assert_null (input);

  g_object_unref (output);
  g_assert_null (output);

  tw_test_calls_clear (&source_info);
  tw_test_calls_clear (&info);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/chain/across-three-troupes", test_chain_three_levels);
  g_test_add_func ("/chain/within-one-troupe", test_chain_same_troupe);
  g_test_add_func ("/chain/two-hundred-links-deep", test_chain_deep);
  g_test_add_func ("/chain/failed-input-fails-the-chain-without-calls", test_chain_failed_input);
  g_test_add_func ("/chain/cancelled-input-cancels-the-chain-without-calls",
                   test_chain_cancelled_input);
  g_test_add_func ("/chain/settled-input-runs-and-stays-reusable", test_chain_settled_input);
  g_test_add_func ("/chain/one-input-feeds-many-tasks", test_chain_fan_out);
  g_test_add_func ("/chain/waiting-task-holds-no-thread", test_chain_no_thread_held);
  g_test_add_func ("/chain/waiting-task-holds-no-thread-of-its-troupe",
                   test_chain_no_thread_held_same_troupe);
  g_test_add_func ("/chain/cancel-waiting-task-leaves-the-input", test_chain_cancel_waiting);
  g_test_add_func ("/chain/finalized-once-dropped", test_chain_finalize);

  return g_test_run ();
}
