/* test-troupe.c
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

/* The user data of gated_square_func(). */
typedef struct
{
  TwTestGate gate;         /* negative inputs block on it */
  gint       n_calls;      /* atomic */
  gint       n_destroyed;  /* atomic: calls of square_info_destroy() */
} SquareInfo;

static void
square_info_init (SquareInfo *info)
{
  tw_test_gate_init (&info->gate);
  info->n_calls = 0;
  info->n_destroyed = 0;
}

static void
square_info_destroy (gpointer data)
{
  SquareInfo *info = data;

  g_atomic_int_inc (&info->n_destroyed);
}

/* Checks how often the destroy notify ran. Non-fatal, so that a failure
 * here does not hide the results of the tests that follow. */
static void
check_destroyed (SquareInfo *info,
                 gint        expected,
                 const char *when)
{
  gint n_destroyed = g_atomic_int_get (&info->n_destroyed);

  if (n_destroyed != expected)
    g_test_fail_printf ("The destroy notify ran %d times %s, expected %d",
                        n_destroyed, when, expected);
}

/* x (int64) -> x * x; a negative x first waits for the gate. */
static GVariant *
gated_square_func (GVariant      *input,
                   GCancellable  *cancellable,
                   gpointer       user_data,
                   GError       **error)
{
  SquareInfo *info = user_data;
  gint64 x = g_variant_get_int64 (input);

  g_atomic_int_inc (&info->n_calls);

  if (x < 0 && !tw_test_gate_pass (&info->gate))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "The gate stayed shut");
      return NULL;
    }

  return g_variant_new_int64 (x * x);
}

static void
assert_counters (TwTroupe *troupe,
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

/* Many tasks ---------------------------------------------------------------- */

static void
test_troupe_many_tasks (void)
{
  const guint n_tasks = 10000;
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  SquareInfo info;

  square_info_init (&info);
  troupe = tw_troupe_new_for_func (gated_square_func, &info, square_info_destroy);
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
  assert_counters (troupe, n_tasks, 0, 0);

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
  assert_counters (troupe, 0, 1, 0);
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
  assert_counters (troupe, 1, 2, 0);
}

/* Shutdown ------------------------------------------------------------------ */

typedef struct
{
  TwTroupe       *troupe;
  TwShutdownMode  mode;
  gint            returned;  /* atomic */
} ShutdownThread;

static gpointer
shutdown_thread (gpointer data)
{
  ShutdownThread *st = data;

  tw_troupe_shutdown (st->troupe, st->mode);
  g_atomic_int_set (&st->returned, TRUE);

  return NULL;
}

/* Polls until a submit is refused: then the shutdown has begun. Probes
 * accepted before that are tasks like any other: they go to @accepted. */
static void
wait_until_closed (TwTroupe  *troupe,
                   GPtrArray *accepted)
{
  gint64 end_time = g_get_monotonic_time () + TW_TEST_TIMEOUT_USEC;

  while (g_get_monotonic_time () < end_time)
    {
      g_autoptr(TwFuture) probe = tw_troupe_submit (troupe, g_variant_new_int64 (1));
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = tw_future_wait (probe, 0, &error);

      if (g_error_matches (error, TW_ERROR, TW_ERROR_SHUT_DOWN))
        return;

      g_ptr_array_add (accepted, g_steal_pointer (&probe));
      g_usleep (100);
    }

  g_assert_not_reached ();
}

static void
assert_probes (GPtrArray *probes)
{
  for (guint i = 0; i < probes->len; i++)
    g_assert_cmpint (tw_test_wait_int64 (probes->pdata[i]), ==, 1);
}

static void
test_troupe_shutdown_drain (void)
{
  g_autoptr(TwTroupe) source = NULL;
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) input = NULL;
  g_autoptr(TwFuture) blocker = NULL;
  g_autoptr(TwFuture) chained = NULL;
  g_autoptr(TwFuture) chained2 = NULL;
  g_autoptr(GPtrArray) queued = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) probes = g_ptr_array_new_with_free_func (g_object_unref);
  SquareInfo source_info, info;
  ShutdownThread st = { 0 };
  GThread *thread;

  g_test_summary ("DRAIN runs everything submitted, including chained tasks whose "
                  "input settles after the shutdown began");

  square_info_init (&source_info);
  square_info_init (&info);
  source = tw_troupe_new_for_func (gated_square_func, &source_info, NULL);
  tw_troupe_set_n_workers (source, 1);
  troupe = tw_troupe_new_for_func (gated_square_func, &info, NULL);
  tw_troupe_set_n_workers (troupe, 1);

  /* An input from another troupe that settles only when we say so. */
  input = tw_troupe_submit (source, g_variant_new_int64 (-3));

  /* The troupe's one worker blocks; 20 tasks queue behind it, and two
   * chained tasks wait for the input. */
  blocker = tw_troupe_submit (troupe, g_variant_new_int64 (-2));
  tw_test_gate_wait_entered (&info.gate, 1);
  for (gint64 i = 0; i < 20; i++)
    g_ptr_array_add (queued, tw_troupe_submit (troupe, g_variant_new_int64 (i)));
  chained = tw_troupe_submit_future (troupe, input);
  chained2 = tw_troupe_submit_future (troupe, chained);

  st.troupe = troupe;
  st.mode = TW_SHUTDOWN_MODE_DRAIN;
  thread = g_thread_new ("test-shutdown", shutdown_thread, &st);
  wait_until_closed (troupe, probes);

  /* The queued tasks run once the worker is free... */
  tw_test_gate_open (&info.gate);
  g_assert_cmpint (tw_test_wait_int64 (blocker), ==, 4);
  for (guint i = 0; i < queued->len; i++)
    g_assert_cmpint (tw_test_wait_int64 (queued->pdata[i]), ==, (gint64)i * i);

  /* ...but the shutdown still waits for the chained tasks. */
  g_assert_false (tw_future_is_done (chained));
  g_assert_false (tw_future_is_done (chained2));
  g_assert_false (g_atomic_int_get (&st.returned));

  tw_test_gate_open (&source_info.gate);
  g_thread_join (thread);
  g_assert_true (st.returned);

  /* Shutdown returned, so both have settled: no timeout needed. */
  g_assert_true (tw_future_is_done (chained));
  g_assert_cmpint (tw_test_wait_int64 (input), ==, 9);
  g_assert_cmpint (tw_test_wait_int64 (chained), ==, 81);
  g_assert_cmpint (tw_test_wait_int64 (chained2), ==, 6561);

  assert_probes (probes);
  g_assert_cmpint (g_atomic_int_get (&info.n_calls), ==, 1 + 20 + 2 + probes->len);
  assert_counters (troupe, 1 + 20 + 2 + probes->len, 0, 0);

  tw_troupe_shutdown (source, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_gate_clear (&source_info.gate);
  tw_test_gate_clear (&info.gate);
}

static void
test_troupe_shutdown_cancel_pending (void)
{
  g_autoptr(TwTroupe) source = NULL;
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) input = NULL;
  g_autoptr(TwFuture) running = NULL;
  g_autoptr(TwFuture) chained = NULL;
  g_autoptr(TwFuture) chained_queued = NULL;
  g_autoptr(GPtrArray) queued = g_ptr_array_new_with_free_func (g_object_unref);
  SquareInfo source_info, info;
  ShutdownThread st = { 0 };
  GThread *thread;

  g_test_summary ("CANCEL_PENDING cancels queued and chained-waiting tasks with "
                  "G_IO_ERROR_CANCELLED, lets the running one finish, and never calls "
                  "the function for the others");

  square_info_init (&source_info);
  square_info_init (&info);
  source = tw_troupe_new_for_func (gated_square_func, &source_info, NULL);
  tw_troupe_set_n_workers (source, 1);
  troupe = tw_troupe_new_for_func (gated_square_func, &info, NULL);
  tw_troupe_set_n_workers (troupe, 1);

  input = tw_troupe_submit (source, g_variant_new_int64 (-3));

  running = tw_troupe_submit (troupe, g_variant_new_int64 (-2));
  tw_test_gate_wait_entered (&info.gate, 1);
  for (gint64 i = 0; i < 20; i++)
    g_ptr_array_add (queued, tw_troupe_submit (troupe, g_variant_new_int64 (i)));
  chained = tw_troupe_submit_future (troupe, input);
  chained_queued = tw_troupe_submit_future (troupe, queued->pdata[5]);
  g_assert_cmpuint (tw_troupe_get_n_queued (troupe), ==, 20);

  st.troupe = troupe;
  st.mode = TW_SHUTDOWN_MODE_CANCEL_PENDING;
  thread = g_thread_new ("test-shutdown", shutdown_thread, &st);

  /* Pending tasks are cancelled without waiting for the running one. */
  for (guint i = 0; i < queued->len; i++)
    {
      g_autoptr(GError) error = tw_test_wait_error (queued->pdata[i]);

      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_cmpint (tw_future_get_state (queued->pdata[i]), ==, TW_FUTURE_STATE_CANCELLED);
    }
  for (guint i = 0; i < 2; i++)
    {
      TwFuture *future = i == 0 ? chained : chained_queued;
      g_autoptr(GError) error = tw_test_wait_error (future);

      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_CANCELLED);
    }

  /* The running task is not touched, and the shutdown waits for it. */
  g_assert_cmpint (tw_future_get_state (running), ==, TW_FUTURE_STATE_RUNNING);
  g_assert_false (g_atomic_int_get (&st.returned));
  tw_test_gate_open (&info.gate);
  g_thread_join (thread);
  g_assert_cmpint (tw_test_wait_int64 (running), ==, 4);

  /* The input settling later changes nothing. */
  tw_test_gate_open (&source_info.gate);
  g_assert_cmpint (tw_test_wait_int64 (input), ==, 9);
  g_assert_cmpint (tw_future_get_state (chained), ==, TW_FUTURE_STATE_CANCELLED);

  g_assert_cmpint (g_atomic_int_get (&info.n_calls), ==, 1);
  assert_counters (troupe, 1, 0, 22);

  tw_troupe_shutdown (source, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_gate_clear (&source_info.gate);
  tw_test_gate_clear (&info.gate);
}

static void
assert_shut_down (TwFuture *future)
{
  g_autoptr(GError) error = NULL;

  /* Refused at once, not after a wait. */
  g_assert_true (tw_future_is_done (future));
  error = tw_test_wait_error (future);
  g_assert_error (error, TW_ERROR, TW_ERROR_SHUT_DOWN);
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_FAILED);
}

static void
test_troupe_submit_after_shutdown (void)
{
  g_autoptr(TwTroupe) fresh = tw_troupe_new_for_func (tw_test_square_func, NULL, NULL);
  g_autoptr(TwTroupe) used = tw_troupe_new_for_func (tw_test_square_func, NULL, NULL);
  g_autoptr(TwFuture) input = tw_future_new_for_value (g_variant_new_int64 (3));
  g_autoptr(TwFuture) first = NULL;
  TwFuture *future;

  /* Shut down before it ever ran a task. */
  tw_troupe_shutdown (fresh, TW_SHUTDOWN_MODE_DRAIN);
  future = tw_troupe_submit (fresh, g_variant_new_int64 (2));
  assert_shut_down (future);
  g_object_unref (future);
  future = tw_troupe_submit_future (fresh, input);
  assert_shut_down (future);
  g_object_unref (future);

  /* Shut down after it ran one. */
  tw_troupe_set_n_workers (used, 2);
  first = tw_troupe_submit (used, g_variant_new_int64 (5));
  g_assert_cmpint (tw_test_wait_int64 (first), ==, 25);
  tw_troupe_shutdown (used, TW_SHUTDOWN_MODE_CANCEL_PENDING);
  future = tw_troupe_submit (used, g_variant_new_int64 (2));
  assert_shut_down (future);
  g_object_unref (future);
  future = tw_troupe_submit_future (used, input);
  assert_shut_down (future);
  g_object_unref (future);

  /* The input of a refused chain is not consumed or changed. */
  g_assert_cmpint (tw_test_wait_int64 (input), ==, 3);
}

static void
test_troupe_shutdown_idempotent (void)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func (tw_test_square_func, NULL, NULL);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  ShutdownThread st[4] = { { 0 } };
  GThread *threads[G_N_ELEMENTS (st)];

  tw_troupe_set_n_workers (troupe, 2);
  for (gint64 i = 0; i < 50; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));

  /* Several threads shut it down at once, in both modes. */
  for (guint i = 0; i < G_N_ELEMENTS (st); i++)
    {
      st[i].troupe = troupe;
      st[i].mode = i % 2 ? TW_SHUTDOWN_MODE_CANCEL_PENDING : TW_SHUTDOWN_MODE_DRAIN;
      threads[i] = g_thread_new ("test-shutdown", shutdown_thread, &st[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (st); i++)
    g_thread_join (threads[i]);

  /* Each future settled once; the counters add up. */
  for (guint i = 0; i < futures->len; i++)
    g_assert_true (tw_future_is_done (futures->pdata[i]));
  assert_counters (troupe,
                   tw_troupe_get_n_succeeded (troupe), 0,
                   tw_troupe_get_n_cancelled (troupe));
  g_assert_cmpuint (tw_troupe_get_n_completed (troupe), ==, 50);

  /* And again, from this thread: nothing changes. */
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_CANCEL_PENDING);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpuint (tw_troupe_get_n_completed (troupe), ==, 50);
}

typedef struct
{
  gboolean done;
  gboolean ok;
  GError  *error;
  GThread *thread;
} AsyncShutdown;

static void
shutdown_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  AsyncShutdown *as = user_data;

  as->ok = tw_troupe_shutdown_finish (TW_TROUPE (object), result, &as->error);
  as->thread = g_thread_self ();
  as->done = TRUE;
}

static void
test_troupe_shutdown_async (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) blocker = NULL;
  g_autoptr(GPtrArray) queued = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TwFuture) refused = NULL;
  g_autoptr(GPtrArray) probes = g_ptr_array_new_with_free_func (g_object_unref);
  AsyncShutdown as = { 0 };
  SquareInfo info;

  square_info_init (&info);
  troupe = tw_troupe_new_for_func (gated_square_func, &info, NULL);
  tw_troupe_set_n_workers (troupe, 1);

  blocker = tw_troupe_submit (troupe, g_variant_new_int64 (-6));
  tw_test_gate_wait_entered (&info.gate, 1);
  for (gint64 i = 0; i < 10; i++)
    g_ptr_array_add (queued, tw_troupe_submit (troupe, g_variant_new_int64 (i)));

  tw_troupe_shutdown_async (troupe, TW_SHUTDOWN_MODE_DRAIN, NULL, shutdown_cb, &as);
  wait_until_closed (troupe, probes);
  g_assert_false (as.done);

  tw_test_gate_open (&info.gate);
  tw_test_iterate_until (NULL, &as.done);

  g_assert_no_error (as.error);
  g_assert_true (as.ok);
  g_assert_true (as.thread == g_thread_self ());
  g_assert_cmpint (tw_test_wait_int64 (blocker), ==, 36);
  for (guint i = 0; i < queued->len; i++)
    g_assert_cmpint (tw_test_wait_int64 (queued->pdata[i]), ==, (gint64)i * i);
  assert_probes (probes);
  assert_counters (troupe, 1 + 10 + probes->len, 0, 0);

  refused = tw_troupe_submit (troupe, g_variant_new_int64 (1));
  assert_shut_down (refused);
  tw_test_gate_clear (&info.gate);
}

static void
test_troupe_shutdown_async_cancelled (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) blocker = NULL;
  g_autoptr(GPtrArray) queued = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) probes = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  AsyncShutdown as = { 0 };
  SquareInfo info;

  g_test_summary ("Cancelling shutdown_async stops the wait, not the shutdown");

  square_info_init (&info);
  troupe = tw_troupe_new_for_func (gated_square_func, &info, NULL);
  tw_troupe_set_n_workers (troupe, 1);

  blocker = tw_troupe_submit (troupe, g_variant_new_int64 (-7));
  tw_test_gate_wait_entered (&info.gate, 1);
  for (gint64 i = 0; i < 10; i++)
    g_ptr_array_add (queued, tw_troupe_submit (troupe, g_variant_new_int64 (i)));

  g_cancellable_cancel (cancellable);
  tw_troupe_shutdown_async (troupe, TW_SHUTDOWN_MODE_DRAIN, cancellable, shutdown_cb, &as);
  tw_test_iterate_until (NULL, &as.done);
  g_assert_false (as.ok);
  g_assert_error (as.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&as.error);

  /* The troupe still closes and drains. */
  wait_until_closed (troupe, probes);
  tw_test_gate_open (&info.gate);
  g_assert_cmpint (tw_test_wait_int64 (blocker), ==, 49);
  for (guint i = 0; i < queued->len; i++)
    g_assert_cmpint (tw_test_wait_int64 (queued->pdata[i]), ==, (gint64)i * i);
  assert_probes (probes);

  /* Wait for the background shutdown to join the workers. */
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  assert_counters (troupe, 1 + 10 + probes->len, 0, 0);
  tw_test_gate_clear (&info.gate);
}

/* Dispose and destroy notify ------------------------------------------------ */

static void
test_troupe_dispose_drains (void)
{
  TwTroupe *troupe;
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TwFuture) blocker = NULL;
  SquareInfo info;

  g_test_summary ("Dropping the last reference without a shutdown drains the troupe, "
                  "then frees the function's user data exactly once");

  square_info_init (&info);
  troupe = tw_troupe_new_for_func (gated_square_func, &info, square_info_destroy);
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
  SquareInfo info;

  square_info_init (&info);

  /* Never started. */
  troupe = tw_troupe_new_for_func (gated_square_func, &info, square_info_destroy);
  g_object_unref (troupe);
  g_assert_cmpint (g_atomic_int_get (&info.n_destroyed), ==, 1);

  /* Shut down before it started. */
  troupe = tw_troupe_new_for_func (gated_square_func, &info, square_info_destroy);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_CANCEL_PENDING);
  g_object_unref (troupe);
  g_assert_cmpint (g_atomic_int_get (&info.n_destroyed), ==, 2);

  /* Shut down after a task; a future outlives the troupe. */
  troupe = tw_troupe_new_for_func (gated_square_func, &info, square_info_destroy);
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

/* Concurrency --------------------------------------------------------------- */

typedef struct
{
  TwTroupe   *troupe;
  TwTestGate *start;     /* all submitters begin together */
  gint64      first;     /* the first input this thread submits */
  guint       n_tasks;
  GPtrArray  *futures;   /* written by the thread, read after the join */
} Submitter;

static gpointer
submitter_thread (gpointer data)
{
  Submitter *sub = data;

  g_assert_true (tw_test_gate_pass (sub->start));

  for (guint i = 0; i < sub->n_tasks; i++)
    g_ptr_array_add (sub->futures,
                     tw_troupe_submit (sub->troupe, g_variant_new_int64 (sub->first + i)));

  return NULL;
}

static void
test_troupe_submit_from_threads (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  Submitter subs[4];
  GThread *threads[G_N_ELEMENTS (subs)];
  TwTestGate start;
  SquareInfo info;

  square_info_init (&info);
  tw_test_gate_init (&start);
  troupe = tw_troupe_new_for_func (gated_square_func, &info, NULL);
  tw_troupe_set_n_workers (troupe, 3);

  for (guint t = 0; t < G_N_ELEMENTS (subs); t++)
    {
      subs[t].troupe = troupe;
      subs[t].start = &start;
      subs[t].first = t * 100000;
      subs[t].n_tasks = 1000;
      subs[t].futures = g_ptr_array_new_with_free_func (g_object_unref);
      threads[t] = g_thread_new ("test-submit", submitter_thread, &subs[t]);
    }

  tw_test_gate_wait_entered (&start, G_N_ELEMENTS (subs));
  tw_test_gate_open (&start);

  for (guint t = 0; t < G_N_ELEMENTS (subs); t++)
    g_thread_join (threads[t]);

  for (guint t = 0; t < G_N_ELEMENTS (subs); t++)
    {
      g_assert_cmpuint (subs[t].futures->len, ==, subs[t].n_tasks);
      for (guint i = 0; i < subs[t].futures->len; i++)
        {
          gint64 x = subs[t].first + i;
          gint64 value = tw_test_wait_int64 (subs[t].futures->pdata[i]);

          if (value != x * x)
            g_assert_cmpint (value, ==, x * x);
        }
      g_ptr_array_unref (subs[t].futures);
    }

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpint (g_atomic_int_get (&info.n_calls), ==, 4000);
  assert_counters (troupe, 4000, 0, 0);

  tw_test_gate_clear (&start);
  tw_test_gate_clear (&info.gate);
}

/* x -> 2x; fails when x is a multiple of 7; gives up when cancelled. */
static GVariant *
stress_func (GVariant      *input,
             GCancellable  *cancellable,
             gpointer       user_data,
             GError       **error)
{
  gint64 x = g_variant_get_int64 (input);

  g_atomic_int_inc ((gint *)user_data);

  /* A little work, so that some cancels hit running tasks. */
  for (guint i = 0; i < 20; i++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      g_thread_yield ();
    }

  if (x % 7 == 0)
    {
      g_set_error (error, TW_TEST_ERROR, 7, "%" G_GINT64_FORMAT " is a multiple of 7", x);
      return NULL;
    }

  return g_variant_new_int64 (2 * x);
}

typedef struct
{
  TwTroupe   *troupe;
  TwTestGate *start;
  TwTestGate *halfway;    /* opened by submitter 0 halfway through */
  gint64      first;
  guint       n_tasks;
  GPtrArray  *futures;    /* written by the thread, read after the join */
  GMutex     *lock;
  GPtrArray  *shared;     /* every future, for the canceller; under lock */
  gint       *n_running_submitters;
} StressSubmitter;

static gpointer
stress_submitter_thread (gpointer data)
{
  StressSubmitter *sub = data;

  g_assert_true (tw_test_gate_pass (sub->start));

  for (guint i = 0; i < sub->n_tasks; i++)
    {
      TwFuture *future = tw_troupe_submit (sub->troupe, g_variant_new_int64 (sub->first + i));

      g_ptr_array_add (sub->futures, future);
      g_mutex_lock (sub->lock);
      g_ptr_array_add (sub->shared, g_object_ref (future));
      g_mutex_unlock (sub->lock);

      /* Each thread cancels some of its own tasks right away. */
      if (i % 5 == 3)
        tw_future_cancel (future);

      /* Now and then wait for the latest task, so the workers keep up. */
      if (i % 50 == 49)
        {
          g_autoptr(GVariant) value = tw_future_wait (future, TW_TEST_TIMEOUT_USEC, NULL);
        }

      if (sub->halfway != NULL && i == sub->n_tasks / 2)
        tw_test_gate_open (sub->halfway);
    }

  g_atomic_int_dec_and_test (sub->n_running_submitters);

  return NULL;
}

typedef struct
{
  TwTestGate *start;
  GMutex     *lock;
  GPtrArray  *shared;
  gint       *n_running_submitters;
  guint       n_cancels;
} Canceller;

static gpointer
canceller_thread (gpointer data)
{
  Canceller *can = data;
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  guint last_len = 0;

  g_assert_true (tw_test_gate_pass (can->start));

  /* Cancels one of the most recent tasks for every few submitted, so
   * that cancels hit queued, running and settled tasks alike. */
  while (g_atomic_int_get (can->n_running_submitters) > 0)
    {
      TwFuture *future = NULL;

      g_mutex_lock (can->lock);
      if (can->shared->len >= last_len + 4)
        {
          guint back = g_rand_int_range (rand, 0, MIN (can->shared->len, 16));

          last_len = can->shared->len;
          future = g_object_ref (can->shared->pdata[can->shared->len - 1 - back]);
        }
      g_mutex_unlock (can->lock);

      if (future == NULL)
        {
          g_thread_yield ();
          continue;
        }

      tw_future_cancel (future);
      can->n_cancels++;
      g_object_unref (future);
    }

  return NULL;
}

typedef struct
{
  TwTroupe   *troupe;
  TwTestGate *start;
  TwTestGate *halfway;
} Stopper;

static gpointer
stopper_thread (gpointer data)
{
  Stopper *stop = data;

  g_assert_true (tw_test_gate_pass (stop->start));
  g_assert_true (tw_test_gate_pass (stop->halfway));
  tw_troupe_shutdown (stop->troupe, TW_SHUTDOWN_MODE_CANCEL_PENDING);

  return NULL;
}

static void
test_troupe_stress (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(GPtrArray) shared = g_ptr_array_new_with_free_func (g_object_unref);
  StressSubmitter subs[4];
  GThread *sub_threads[G_N_ELEMENTS (subs)];
  GThread *canceller, *stopper;
  Canceller can = { 0 };
  Stopper stop = { 0 };
  TwTestGate start, halfway;
  GMutex lock;
  gint n_running_submitters = G_N_ELEMENTS (subs);
  gint n_calls = 0;
  guint n_total = 0, n_refused = 0, n_succeeded = 0, n_failed = 0, n_cancelled = 0;

  g_test_summary ("Under concurrent submit, cancel and shutdown every task settles "
                  "exactly once and the counters add up");

  tw_test_gate_init (&start);
  tw_test_gate_init (&halfway);
  g_mutex_init (&lock);
  troupe = tw_troupe_new_for_func (stress_func, &n_calls, NULL);
  tw_troupe_set_n_workers (troupe, 3);

  for (guint t = 0; t < G_N_ELEMENTS (subs); t++)
    {
      subs[t].troupe = troupe;
      subs[t].start = &start;
      subs[t].halfway = t == 0 ? &halfway : NULL;
      subs[t].first = t * 100000;
      subs[t].n_tasks = 1500;
      subs[t].futures = g_ptr_array_new_with_free_func (g_object_unref);
      subs[t].lock = &lock;
      subs[t].shared = shared;
      subs[t].n_running_submitters = &n_running_submitters;
      sub_threads[t] = g_thread_new ("test-stress-submit", stress_submitter_thread, &subs[t]);
    }

  can.start = &start;
  can.lock = &lock;
  can.shared = shared;
  can.n_running_submitters = &n_running_submitters;
  canceller = g_thread_new ("test-stress-cancel", canceller_thread, &can);

  stop.troupe = troupe;
  stop.start = &start;
  stop.halfway = &halfway;
  stopper = g_thread_new ("test-stress-stop", stopper_thread, &stop);

  tw_test_gate_wait_entered (&start, G_N_ELEMENTS (subs) + 2);
  tw_test_gate_open (&start);

  for (guint t = 0; t < G_N_ELEMENTS (subs); t++)
    g_thread_join (sub_threads[t]);
  g_thread_join (canceller);
  g_thread_join (stopper);

  /* The shutdown has returned, so nothing is left in flight. */
  for (guint t = 0; t < G_N_ELEMENTS (subs); t++)
    {
      for (guint i = 0; i < subs[t].futures->len; i++)
        {
          TwFuture *future = subs[t].futures->pdata[i];
          gint64 x = subs[t].first + i;
          TwFutureState state = tw_future_get_state (future);
          g_autoptr(GError) error = NULL;
          g_autoptr(GVariant) value = NULL;

          n_total++;
          g_assert_true (tw_future_is_done (future));
          value = tw_future_wait (future, 0, &error);

          switch (state)
            {
            case TW_FUTURE_STATE_SUCCEEDED:
              g_assert_no_error (error);
              g_assert_cmpint (g_variant_get_int64 (value), ==, 2 * x);
              g_assert_cmpint (x % 7, !=, 0);
              n_succeeded++;
              break;

            case TW_FUTURE_STATE_FAILED:
              g_assert_null (value);
              if (g_error_matches (error, TW_ERROR, TW_ERROR_SHUT_DOWN))
                n_refused++;
              else
                {
                  g_assert_error (error, TW_TEST_ERROR, 7);
                  g_assert_cmpint (x % 7, ==, 0);
                  n_failed++;
                }
              break;

            case TW_FUTURE_STATE_CANCELLED:
              g_assert_null (value);
              g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
              n_cancelled++;
              break;

            case TW_FUTURE_STATE_PENDING:
            case TW_FUTURE_STATE_RUNNING:
            default:
              g_assert_not_reached ();
            }

          /* A settled future never changes. */
          g_assert_cmpint (tw_future_get_state (future), ==, state);
        }
      g_ptr_array_unref (subs[t].futures);
    }

  g_test_message ("%u tasks: %u succeeded, %u failed, %u cancelled, %u refused; "
                  "%u cancel calls, %d function calls",
                  n_total, n_succeeded, n_failed, n_cancelled, n_refused,
                  can.n_cancels, n_calls);

  g_assert_cmpuint (n_total, ==, 4 * 1500);
  /* The first half of submitter 0 came before the shutdown. */
  g_assert_cmpuint (n_total - n_refused, >=, 750);
  assert_counters (troupe, n_succeeded, n_failed, n_cancelled);
  g_assert_cmpuint (tw_troupe_get_n_completed (troupe), ==, n_total - n_refused);
  g_assert_cmpint (n_calls, >=, n_succeeded + n_failed);
  g_assert_cmpint (n_calls, <=, n_succeeded + n_failed + n_cancelled);

  g_mutex_clear (&lock);
  tw_test_gate_clear (&start);
  tw_test_gate_clear (&halfway);
}

/* Threads ------------------------------------------------------------------- */

static GVariant *
self_shutdown_func (GVariant      *input,
                    GCancellable  *cancellable,
                    gpointer       user_data,
                    GError       **error)
{
  TwTroupe **troupe = user_data;

  /* Called from the troupe's own worker: it must not wait for itself. */
  tw_troupe_shutdown (*troupe, TW_SHUTDOWN_MODE_DRAIN);

  return g_variant_ref (input);
}

static GVariant *
unref_self_func (GVariant      *input,
                 GCancellable  *cancellable,
                 gpointer       user_data,
                 GError       **error)
{
  TwTroupe **troupe = user_data;

  /* Drops the last reference to the troupe from its own worker. */
  g_clear_object (troupe);

  return g_variant_ref (input);
}

static void
run_and_count (guint           baseline,
               TwShutdownMode  mode,
               gboolean        dispose_only)
{
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  TwTroupe *troupe = tw_troupe_new_for_func (tw_test_square_func, NULL, NULL);

  tw_troupe_set_n_workers (troupe, 3);
  g_assert_cmpuint (tw_test_count_threads (), ==, baseline);

  for (gint64 i = 0; i < 200; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));
  g_assert_cmpuint (tw_test_count_threads (), ==, baseline + 3);

  if (!dispose_only)
    tw_troupe_shutdown (troupe, mode);
  g_object_unref (troupe);

  g_assert_cmpuint (tw_test_wait_for_n_threads (baseline), ==, baseline);
  for (guint i = 0; i < futures->len; i++)
    g_assert_true (tw_future_is_done (futures->pdata[i]));
}

static void
thread_count_subprocess (void)
{
  g_autoptr(TwTroupe) warm = tw_troupe_new_for_func (tw_test_square_func, NULL, NULL);
  g_autoptr(TwFuture) warm_future = NULL;
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(TwFuture) second = NULL;
  AsyncShutdown as = { 0 };
  TwTroupe *troupe;
  TwTroupe *weak = NULL;
  guint baseline;

  /* Warm up: the first shutdown_async starts GLib's GTask pool, which
   * keeps its threads. */
  tw_troupe_set_n_workers (warm, 1);
  warm_future = tw_troupe_submit (warm, g_variant_new_int64 (2));
  g_assert_cmpint (tw_test_wait_int64 (warm_future), ==, 4);
  tw_troupe_shutdown_async (warm, TW_SHUTDOWN_MODE_DRAIN, NULL, shutdown_cb, &as);
  tw_test_iterate_until (NULL, &as.done);
  g_assert_true (as.ok);
  g_clear_object (&warm);
  while (g_main_context_iteration (NULL, FALSE))
    ;

  baseline = tw_test_wait_for_n_threads (tw_test_count_threads ());
  g_test_message ("baseline: %u threads", baseline);

  run_and_count (baseline, TW_SHUTDOWN_MODE_DRAIN, FALSE);
  run_and_count (baseline, TW_SHUTDOWN_MODE_CANCEL_PENDING, FALSE);
  run_and_count (baseline, TW_SHUTDOWN_MODE_DRAIN, TRUE);

  /* A troupe that never ran a task never started a thread. */
  troupe = tw_troupe_new_for_func (tw_test_square_func, NULL, NULL);
  g_assert_cmpuint (tw_test_count_threads (), ==, baseline);
  g_object_unref (troupe);

  /* A troupe shut down by one of its own workers: that worker cannot
   * join itself, so the threads end on their own. */
  troupe = tw_troupe_new_for_func (self_shutdown_func, &troupe, NULL);
  tw_troupe_set_n_workers (troupe, 2);
  future = tw_troupe_submit (troupe, g_variant_new_int64 (8));
  g_assert_cmpint (tw_test_wait_int64 (future), ==, 8);
  second = tw_troupe_submit (troupe, g_variant_new_int64 (9));
  assert_shut_down (second);
  g_assert_cmpuint (tw_test_wait_for_n_threads (baseline), ==, baseline);
  g_clear_object (&troupe);
  g_assert_cmpuint (tw_test_wait_for_n_threads (baseline), ==, baseline);
  g_clear_object (&future);

  /* A troupe whose last reference goes away on one of its workers. */
  troupe = tw_troupe_new_for_func (unref_self_func, &troupe, NULL);
  g_object_add_weak_pointer (G_OBJECT (troupe), (gpointer *)&weak);
  weak = troupe;
  tw_troupe_set_n_workers (troupe, 2);
  future = tw_troupe_submit (troupe, g_variant_new_int64 (10));
  g_assert_cmpint (tw_test_wait_int64 (future), ==, 10);
  g_assert_null (troupe);
  g_assert_cmpuint (tw_test_wait_for_n_threads (baseline), ==, baseline);
  g_assert_null (weak);
}

static void
test_troupe_no_leaked_threads (void)
{
  if (g_test_subprocess ())
    {
      thread_count_subprocess ();
      return;
    }

  /* A fresh process, so that GLib's own threads from other tests cannot
   * come or go in the middle of the count. */
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
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
  SquareInfo info;

  g_main_context_push_thread_default (context);

  square_info_init (&info);
  troupe = tw_troupe_new_for_func (gated_square_func, &info, NULL);
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
  assert_counters (troupe, 21, 0, 0);
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
  assert_counters (troupe, 1, 0, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Tw/Troupe/many-tasks", test_troupe_many_tasks);
  g_test_add_func ("/Tw/Troupe/func-error", test_troupe_func_error);
  g_test_add_func ("/Tw/Troupe/func-invalid-result", test_troupe_func_invalid_result);
  g_test_add_func ("/Tw/Troupe/shutdown-drain", test_troupe_shutdown_drain);
  g_test_add_func ("/Tw/Troupe/shutdown-cancel-pending", test_troupe_shutdown_cancel_pending);
  g_test_add_func ("/Tw/Troupe/submit-after-shutdown", test_troupe_submit_after_shutdown);
  g_test_add_func ("/Tw/Troupe/shutdown-idempotent", test_troupe_shutdown_idempotent);
  g_test_add_func ("/Tw/Troupe/shutdown-async", test_troupe_shutdown_async);
  g_test_add_func ("/Tw/Troupe/shutdown-async-cancelled", test_troupe_shutdown_async_cancelled);
  g_test_add_func ("/Tw/Troupe/dispose-drains", test_troupe_dispose_drains);
  g_test_add_func ("/Tw/Troupe/destroy-notify", test_troupe_destroy_notify);
  g_test_add_func ("/Tw/Troupe/func-name", test_troupe_func_name);
  g_test_add_func ("/Tw/Troupe/submit-from-threads", test_troupe_submit_from_threads);
  g_test_add_func ("/Tw/Troupe/stress", test_troupe_stress);
  g_test_add_func ("/Tw/Troupe/no-leaked-threads", test_troupe_no_leaked_threads);
  g_test_add_func ("/Tw/Troupe/counters-notify", test_troupe_counters_notify);
  g_test_add_func ("/Tw/Troupe/running-drops-as-tasks-settle",
                   test_troupe_running_drops_as_tasks_settle);
  g_test_add_func ("/Tw/Troupe/properties", test_troupe_properties);
  g_test_add_func ("/Tw/Troupe/programmer-errors", test_troupe_programmer_errors);

  return g_test_run ();
}
