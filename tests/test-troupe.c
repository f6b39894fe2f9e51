/* test-troupe.c: troupes: tasks, errors, user data, registered functions, properties
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

#include "tw-test-util.h"

/* Checks how often the destroy notify ran. Non-fatal, so that a failure
 * here does not hide the results of the tests that follow. */
static void
check_destroyed (TwTestCalls *info,
                 gint         expected,
                 const char  *when)
{
  gint n_destroyed = g_atomic_int_get (&info->n_destroyed);

  if (n_destroyed != expected)
    g_test_fail_printf ("The destroy notify ran %d times %s, expected %d",
                        n_destroyed, when, expected);
}

/* Many tasks ---------------------------------------------------------------- */

static void
test_troupe_many_tasks (void)
{
  const guint n_tasks = 10000;
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  TwTestCalls info;

  tw_test_calls_init (&info);
  troupe = tw_troupe_new_for_func (tw_test_gated_square_func, &info, tw_test_calls_destroy);
  tw_troupe_set_n_workers (troupe, 4);

  for (guint i = 0; i < n_tasks; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));

  for (guint i = 0; i < n_tasks; i++)
    {
      gint64 value = tw_test_wait_int64 (futures->pdata[i]);

      if (value != (gint64)i * i)
        g_assert_cmpint (value, ==, (gint64)i * i);
    }

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);

  g_assert_cmpint (g_atomic_int_get (&info.n_calls), ==, n_tasks);
  tw_test_assert_counters (troupe, n_tasks, 0, 0);

  g_clear_object (&troupe);
  check_destroyed (&info, 1, "after shutdown and unref");

  /* Whatever is still pending must not outlive @info; and it must not
   * call the destroy notify a second time. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpint (g_atomic_int_get (&info.n_destroyed), ==, 1);
  tw_test_gate_clear (&info.gate);
}

/* Errors -------------------------------------------------------------------- */

typedef enum
{
  BAD_FUNC_ERROR,      /* a proper GError */
  BAD_FUNC_NULL,       /* NULL without an error */
  BAD_FUNC_BOTH,       /* a value and an error */
  BAD_FUNC_FLOATING,   /* a floating value, which is fine */
} BadFuncKind;

static GVariant *
bad_func (GVariant      *input,
          GCancellable  *cancellable,
          gpointer       user_data,
          GError       **error)
{
  switch ((BadFuncKind)g_variant_get_int32 (input))
    {
    case BAD_FUNC_ERROR:
      g_set_error (error, TW_TEST_ERROR, 4242, "The function failed on purpose (%d)", 7);
      return NULL;

    case BAD_FUNC_NULL:
      return NULL;

    case BAD_FUNC_BOTH:
      g_set_error_literal (error, TW_TEST_ERROR, 1, "also an error");
      return g_variant_ref_sink (g_variant_new_string ("a value"));

    case BAD_FUNC_FLOATING:
      return g_variant_new_string ("floating");

    default:
      g_assert_not_reached ();
    }
}

static void
test_troupe_func_error (void)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func (bad_func, NULL, NULL);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) again = NULL;

  tw_troupe_set_n_workers (troupe, 2);
  future = tw_troupe_submit (troupe, g_variant_new_int32 (BAD_FUNC_ERROR));

  error = tw_test_wait_error (future);
  g_assert_error (error, TW_TEST_ERROR, 4242);
  g_assert_cmpstr (error->message, ==, "The function failed on purpose (7)");
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_FAILED);

  /* Every wait gets its own copy of the same error. */
  again = tw_test_wait_error (future);
  g_assert_true (again != error);
  g_assert_error (again, TW_TEST_ERROR, 4242);
  g_assert_cmpstr (again->message, ==, error->message);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_assert_counters (troupe, 0, 1, 0);
}

static void
test_troupe_func_invalid_result (void)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func (bad_func, NULL, NULL);
  g_autoptr(TwFuture) null_future = NULL;
  g_autoptr(TwFuture) both_future = NULL;
  g_autoptr(TwFuture) floating_future = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;

  g_test_summary ("A function that returns NULL without an error, or a value with an "
                  "error, fails its task with TW_ERROR_INVALID_RESULT");

  tw_troupe_set_n_workers (troupe, 2);
  null_future = tw_troupe_submit (troupe, g_variant_new_int32 (BAD_FUNC_NULL));
  both_future = tw_troupe_submit (troupe, g_variant_new_int32 (BAD_FUNC_BOTH));
  floating_future = tw_troupe_submit (troupe, g_variant_new_int32 (BAD_FUNC_FLOATING));

  error = tw_test_wait_error (null_future);
  g_assert_error (error, TW_ERROR, TW_ERROR_INVALID_RESULT);
  g_assert_cmpint (tw_future_get_state (null_future), ==, TW_FUTURE_STATE_FAILED);
  g_clear_error (&error);

  error = tw_test_wait_error (both_future);
  g_assert_error (error, TW_ERROR, TW_ERROR_INVALID_RESULT);
  g_assert_nonnull (strstr (error->message, "also an error"));
  g_clear_error (&error);

  value = tw_test_wait_value (floating_future);
  g_assert_false (g_variant_is_floating (value));
  g_assert_cmpstr (g_variant_get_string (value, NULL), ==, "floating");

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_assert_counters (troupe, 1, 2, 0);
}

/* Dispose and destroy notify ------------------------------------------------ */

static void
test_troupe_dispose_drains (void)
{
  TwTroupe *troupe;
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TwFuture) blocker = NULL;
  TwTestCalls info;

  g_test_summary ("Dropping the last reference without a shutdown drains the troupe, "
                  "then frees the function's user data exactly once");

  tw_test_calls_init (&info);
  troupe = tw_troupe_new_for_func (tw_test_gated_square_func, &info, tw_test_calls_destroy);
  tw_troupe_set_n_workers (troupe, 2);
  g_object_add_weak_pointer (G_OBJECT (troupe), (gpointer *)&troupe);

  /* The gate is already open: tasks are only slowed by the queue. */
  tw_test_gate_open (&info.gate);
  for (gint64 i = 0; i < 500; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i % 2 ? i : -i)));

  g_object_unref (troupe);
  g_assert_null (troupe);

  /* The unref returned only after every task ran. */
  for (guint i = 0; i < futures->len; i++)
    {
      g_assert_true (tw_future_is_done (futures->pdata[i]));
      g_assert_cmpint (tw_test_wait_int64 (futures->pdata[i]), ==, (gint64)i * i);
    }
  g_assert_cmpint (g_atomic_int_get (&info.n_calls), ==, 500);

  /* The workers have stopped, so the user data is released now, even in a
   * program that never runs a main loop. */
  check_destroyed (&info, 1, "when the last unref returned");

  /* And never again. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpint (g_atomic_int_get (&info.n_destroyed), ==, 1);

  tw_test_gate_clear (&info.gate);
}

static void
test_troupe_destroy_notify (void)
{
  TwTroupe *troupe;
  g_autoptr(TwFuture) future = NULL;
  TwTestCalls info;

  tw_test_calls_init (&info);

  /* Never started. */
  troupe = tw_troupe_new_for_func (tw_test_gated_square_func, &info, tw_test_calls_destroy);
  g_object_unref (troupe);
  g_assert_cmpint (g_atomic_int_get (&info.n_destroyed), ==, 1);

  /* Shut down before it started. */
  troupe = tw_troupe_new_for_func (tw_test_gated_square_func, &info, tw_test_calls_destroy);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_CANCEL_PENDING);
  g_object_unref (troupe);
  g_assert_cmpint (g_atomic_int_get (&info.n_destroyed), ==, 2);

  /* Shut down after a task; a future outlives the troupe. */
  troupe = tw_troupe_new_for_func (tw_test_gated_square_func, &info, tw_test_calls_destroy);
  tw_troupe_set_n_workers (troupe, 1);
  future = tw_troupe_submit (troupe, g_variant_new_int64 (4));
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_object_unref (troupe);
  g_assert_cmpint (tw_test_wait_int64 (future), ==, 16);
  check_destroyed (&info, 3, "after shutdown and unref");

  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpint (g_atomic_int_get (&info.n_destroyed), ==, 3);
  g_assert_cmpint (g_atomic_int_get (&info.n_calls), ==, 1);

  tw_test_gate_clear (&info.gate);
}

/* Registered functions ------------------------------------------------------ */

static gint registered_calls;

static void
test_troupe_func_name (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwTroupe) unknown = NULL;
  g_autofree char *name = NULL;

  tw_register_func ("tw-test-square", tw_test_square_func, &registered_calls, NULL);

  troupe = tw_troupe_new_for_func_name ("tw-test-square");
  tw_troupe_set_n_workers (troupe, 2);
  g_object_get (troupe, "func-name", &name, NULL);
  g_assert_cmpstr (name, ==, "tw-test-square");

  for (gint64 i = 0; i < 10; i++)
    {
      g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_int64 (i));

      g_assert_cmpint (tw_test_wait_int64 (future), ==, i * i);
    }
  g_assert_cmpint (g_atomic_int_get (&registered_calls), ==, 10);

  /* A name registered twice is a programmer error. */
  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*already registered*tw-test-square*");
  tw_register_func ("tw-test-square", tw_test_square_func, NULL, NULL);
  g_test_assert_expected_messages ();

  /* An unknown name fails every task with TW_ERROR_UNKNOWN_FUNC. */
  unknown = tw_troupe_new_for_func_name ("tw-test-no-such-func");
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(TwFuture) future = tw_troupe_submit (unknown, g_variant_new_int64 (i));
      g_autoptr(GError) error = tw_test_wait_error (future);

      g_assert_error (error, TW_ERROR, TW_ERROR_UNKNOWN_FUNC);
      g_assert_nonnull (strstr (error->message, "tw-test-no-such-func"));
    }

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (unknown, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpint (g_atomic_int_get (&registered_calls), ==, 10);
}

/* Counters and properties --------------------------------------------------- */

typedef struct
{
  GThread *expected_thread;
  gint     n_notifies;
  gint     n_wrong_thread;
  guint    last_completed;
  guint    target;
  gboolean done;
} CounterRecord;

static void
counter_notify_cb (GObject    *object,
                   GParamSpec *pspec,
                   gpointer    user_data)
{
  CounterRecord *record = user_data;
  guint n_completed;

  record->n_notifies++;
  if (g_thread_self () != record->expected_thread)
    g_atomic_int_inc (&record->n_wrong_thread);

  /* Each property is read on its own, so only n-completed is checked
   * here; the sum is checked once the troupe has stopped. */
  g_object_get (object, "n-completed", &n_completed, NULL);
  g_assert_cmpuint (n_completed, >=, record->last_completed);
  record->last_completed = n_completed;
  if (n_completed == record->target)
    record->done = TRUE;
}

typedef struct
{
  CounterRecord record;
  guint         n_queued_seen;
} CounterThread;

static void
queued_notify_cb (GObject    *object,
                  GParamSpec *pspec,
                  gpointer    user_data)
{
  CounterThread *ct = user_data;

  ct->n_queued_seen++;
}

static gpointer
counter_thread (gpointer data)
{
  CounterThread *ct = data;
  GMainContext *context = g_main_context_new ();
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  TwTroupe *troupe;
  TwTestCalls info;

  g_main_context_push_thread_default (context);

  tw_test_calls_init (&info);
  troupe = tw_troupe_new_for_func (tw_test_gated_square_func, &info, NULL);
  tw_troupe_set_n_workers (troupe, 1);

  ct->record.expected_thread = g_thread_self ();
  ct->record.target = 21;
  g_signal_connect (troupe, "notify::n-completed", G_CALLBACK (counter_notify_cb), &ct->record);
  g_signal_connect (troupe, "notify::n-running", G_CALLBACK (counter_notify_cb), &ct->record);
  g_signal_connect (troupe, "notify::n-queued", G_CALLBACK (queued_notify_cb), ct);

  /* One task blocks, 20 queue behind it: n-queued is 20 when the context
   * first runs. */
  g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (-1)));
  tw_test_gate_wait_entered (&info.gate, 1);
  for (gint64 i = 0; i < 20; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));

  while (g_main_context_iteration (context, FALSE))
    ;
  g_assert_cmpuint (ct->n_queued_seen, >=, 1);
  g_assert_cmpuint (tw_troupe_get_n_queued (troupe), ==, 20);
  g_assert_cmpuint (tw_troupe_get_n_running (troupe), ==, 1);

  tw_test_gate_open (&info.gate);
  tw_test_iterate_until (context, &ct->record.done);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_assert_counters (troupe, 21, 0, 0);
  g_signal_handlers_disconnect_by_data (troupe, &ct->record);
  g_signal_handlers_disconnect_by_data (troupe, ct);
  g_object_unref (troupe);
  g_clear_pointer (&futures, g_ptr_array_unref);

  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  tw_test_gate_clear (&info.gate);

  return NULL;
}

static void
test_troupe_counters_notify (void)
{
  CounterThread ct = { { 0 } };
  GThread *thread;

  g_test_summary ("The counters notify in the context that was thread-default when "
                  "the troupe was created, never on a pool thread");

  while (g_main_context_iteration (NULL, FALSE))
    ;

  thread = g_thread_new ("test-counters", counter_thread, &ct);
  g_thread_join (thread);

  g_assert_true (ct.record.done);
  g_assert_cmpuint (ct.record.last_completed, ==, 21);
  g_assert_cmpint (ct.record.n_notifies, >=, 1);
  g_assert_cmpint (ct.record.n_wrong_thread, ==, 0);

  /* The troupe and its futures left nothing for this thread's context. */
  g_assert_false (g_main_context_pending (NULL));
}

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  (*(guint *)user_data)++;
}

static void
test_troupe_running_drops_as_tasks_settle (void)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func (tw_test_square_func, NULL, NULL);
  guint n_running = 1;

  g_test_summary ("A settled task no longer counts as running, even before its worker "
                  "thread comes back for more work, and the last notify says so");

  tw_troupe_set_n_workers (troupe, 2);

  for (gint64 i = 0; i < 200; i++)
    {
      g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_int64 (i));

      g_assert_cmpint (tw_test_wait_int64 (future), ==, i * i);
      g_assert_cmpuint (tw_troupe_get_n_running (troupe), ==, 0);
      g_assert_cmpuint (tw_troupe_get_n_completed (troupe), ==, i + 1);
    }

  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_object_get (troupe, "n-running", &n_running, NULL);
  g_assert_cmpuint (n_running, ==, 0);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

static void
test_troupe_properties (void)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func (tw_test_square_func, NULL, NULL);
  g_autoptr(TwFuture) future = NULL;
  TwTroupeMode mode;
  guint n_workers;
  guint n_notifies = 0;
  GType worker_type;

  g_object_get (troupe,
                "mode", &mode,
                "n-workers", &n_workers,
                "worker-type", &worker_type,
                NULL);
  g_assert_cmpint (mode, ==, TW_TROUPE_MODE_THREAD);
  g_assert_cmpuint (n_workers, ==, g_get_num_processors ());
  g_assert_cmpuint (tw_troupe_get_n_workers (troupe), ==, g_get_num_processors ());
  g_assert_true (worker_type == G_TYPE_NONE);
  g_assert_cmpuint (tw_troupe_get_n_completed (troupe), ==, 0);

  g_signal_connect (troupe, "notify::n-workers", G_CALLBACK (count_notify_cb), &n_notifies);

  tw_troupe_set_n_workers (troupe, g_get_num_processors () + 2);
  g_assert_cmpuint (tw_troupe_get_n_workers (troupe), ==, g_get_num_processors () + 2);
  g_assert_cmpuint (n_notifies, ==, 1);

  /* No change, no notify. */
  g_object_set (troupe, "n-workers", g_get_num_processors () + 2, NULL);
  g_assert_cmpuint (n_notifies, ==, 1);

  /* 0 means the number of processors. */
  tw_troupe_set_n_workers (troupe, 0);
  g_assert_cmpuint (tw_troupe_get_n_workers (troupe), ==, g_get_num_processors ());
  g_assert_cmpuint (n_notifies, ==, 2);

  tw_troupe_set_n_workers (troupe, 2);
  future = tw_troupe_submit (troupe, g_variant_new_int64 (3));
  g_assert_cmpint (tw_test_wait_int64 (future), ==, 9);

  /* Frozen by the first submit. */
  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*n-workers*first submit*");
  tw_troupe_set_n_workers (troupe, 5);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (tw_troupe_get_n_workers (troupe), ==, 2);

  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*mode*first submit*");
  tw_troupe_set_mode (troupe, TW_TROUPE_MODE_PROCESS);
  g_test_assert_expected_messages ();
  g_assert_cmpint (tw_troupe_get_mode (troupe), ==, TW_TROUPE_MODE_THREAD);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_signal_handlers_disconnect_by_data (troupe, &n_notifies);
}

/* Programmer errors --------------------------------------------------------- */

static void
assert_failed_future (TwFuture *future)
{
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (future);
  g_assert_true (TW_IS_FUTURE (future));
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_FAILED);
  error = tw_test_wait_error (future);
  g_assert_error (error, TW_ERROR, TW_ERROR_FAILED);
  g_object_unref (future);
}

static void
test_troupe_programmer_errors (void)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func (tw_test_square_func, NULL, NULL);
  g_autoptr(GVariant) input = g_variant_ref_sink (g_variant_new_int64 (1));
  g_autoptr(TwFuture) ok = NULL;
  TwTroupe *null_troupe;
  TwFuture *future;

  tw_troupe_set_n_workers (troupe, 1);

  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*input != NULL*");
  future = tw_troupe_submit (troupe, NULL);
  g_test_assert_expected_messages ();
  assert_failed_future (future);

  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*TW_IS_TROUPE*");
  future = tw_troupe_submit (NULL, input);
  g_test_assert_expected_messages ();
  assert_failed_future (future);

  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*TW_IS_FUTURE*");
  future = tw_troupe_submit_future (troupe, NULL);
  g_test_assert_expected_messages ();
  assert_failed_future (future);

  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*TW_IS_TROUPE*");
  future = tw_troupe_submit_future (NULL, NULL);
  g_test_assert_expected_messages ();
  assert_failed_future (future);

  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*func != NULL*");
  null_troupe = tw_troupe_new_for_func (NULL, NULL, NULL);
  g_test_assert_expected_messages ();
  g_assert_null (null_troupe);

  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*name != NULL*");
  null_troupe = tw_troupe_new_for_func_name (NULL);
  g_test_assert_expected_messages ();
  g_assert_null (null_troupe);

  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*TW_IS_TROUPE*");
  tw_troupe_shutdown (NULL, TW_SHUTDOWN_MODE_DRAIN);
  g_test_assert_expected_messages ();

  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*mode*");
  tw_troupe_shutdown (troupe, (TwShutdownMode)42);
  g_test_assert_expected_messages ();

  /* None of that harmed the troupe. */
  ok = tw_troupe_submit (troupe, input);
  g_assert_cmpint (tw_test_wait_int64 (ok), ==, 1);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_assert_counters (troupe, 1, 0, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/troupe/many-tasks-each-run-once", test_troupe_many_tasks);
  g_test_add_func ("/troupe/func-error-reaches-every-wait-unchanged", test_troupe_func_error);
  g_test_add_func ("/troupe/func-invalid-result-fails-the-task", test_troupe_func_invalid_result);
  g_test_add_func ("/troupe/last-unref-drains-then-frees-user-data-once",
                   test_troupe_dispose_drains);
  g_test_add_func ("/troupe/destroy-notify-runs-once-however-it-ends", test_troupe_destroy_notify);
  g_test_add_func ("/troupe/func-name-runs-the-registered-func", test_troupe_func_name);
  g_test_add_func ("/troupe/counters-notify-in-the-creators-context", test_troupe_counters_notify);
  g_test_add_func ("/troupe/properties-read-write-and-notify", test_troupe_properties);
  g_test_add_func ("/troupe/programmer-errors-are-criticals", test_troupe_programmer_errors);
  g_test_add_func ("/troupe/n-running-drops-as-tasks-settle",
                   test_troupe_running_drops_as_tasks_settle);

  return g_test_run ();
}
