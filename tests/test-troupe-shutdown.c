/* test-troupe-shutdown.c: shutting a troupe down, and the threads it leaves
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

/* Shutdown ------------------------------------------------------------------ */

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

/* A troupe whose one worker is held at its gate with 20 tasks queued
 * behind it, and an input from another troupe held at that one's gate:
 * what the shutdown tests act on. */
typedef struct
{
  TwTestCalls  source_info;
  TwTestCalls  info;
  TwTroupe    *source;
  TwTroupe    *troupe;
  TwFuture    *input;     /* from source, -3, settles once source_info's gate opens */
  TwFuture    *running;   /* -2, holds the troupe's worker until info's gate opens */
  GPtrArray   *queued;    /* 0 to 19, queued behind it */
} Backlog;

static void
backlog_init (Backlog *self)
{
  tw_test_calls_init (&self->source_info);
  tw_test_calls_init (&self->info);
  self->source = tw_troupe_new_for_func (tw_test_gated_square_func, &self->source_info, NULL);
  tw_troupe_set_n_workers (self->source, 1);
  self->troupe = tw_troupe_new_for_func (tw_test_gated_square_func, &self->info, NULL);
  tw_troupe_set_n_workers (self->troupe, 1);

  self->input = tw_troupe_submit (self->source, g_variant_new_int64 (-3));
  self->running = tw_troupe_submit (self->troupe, g_variant_new_int64 (-2));
  tw_test_gate_wait_entered (&self->info.gate, 1);
  self->queued = g_ptr_array_new_with_free_func (g_object_unref);
  for (gint64 i = 0; i < 20; i++)
    g_ptr_array_add (self->queued, tw_troupe_submit (self->troupe, g_variant_new_int64 (i)));
}

static void
backlog_clear (Backlog *self)
{
  tw_troupe_shutdown (self->source, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_gate_clear (&self->source_info.gate);
  tw_test_gate_clear (&self->info.gate);
  g_clear_pointer (&self->queued, g_ptr_array_unref);
  g_clear_object (&self->running);
  g_clear_object (&self->input);
  g_clear_object (&self->troupe);
  g_clear_object (&self->source);
}

static void
test_troupe_shutdown_drain (void)
{
  g_autoptr(TwFuture) chained = NULL;
  g_autoptr(TwFuture) chained2 = NULL;
  g_autoptr(GPtrArray) probes = g_ptr_array_new_with_free_func (g_object_unref);
  Backlog b;
  TwTestShutdown *shutdown;

  g_test_summary ("DRAIN runs everything submitted, including chained tasks whose "
                  "input settles after the shutdown began");

  /* Two chained tasks wait for the input behind the queued ones. */
  backlog_init (&b);
  chained = tw_troupe_submit_future (b.troupe, b.input);
  chained2 = tw_troupe_submit_future (b.troupe, chained);

  shutdown = tw_test_shutdown_start (b.troupe, TW_SHUTDOWN_MODE_DRAIN);
  wait_until_closed (b.troupe, probes);

  /* The queued tasks run once the worker is free... */
  tw_test_gate_open (&b.info.gate);
  g_assert_cmpint (tw_test_wait_int64 (b.running), ==, 4);
  for (guint i = 0; i < b.queued->len; i++)
    g_assert_cmpint (tw_test_wait_int64 (b.queued->pdata[i]), ==, (gint64)i * i);

  /* ...but the shutdown still waits for the chained tasks. */
  g_assert_false (tw_future_is_done (chained));
  g_assert_false (tw_future_is_done (chained2));
  g_assert_false (tw_test_shutdown_has_returned (shutdown));

  tw_test_gate_open (&b.source_info.gate);
  tw_test_shutdown_join (shutdown);

  /* Shutdown returned, so both have settled: no timeout needed. */
  g_assert_true (tw_future_is_done (chained));
  g_assert_cmpint (tw_test_wait_int64 (b.input), ==, 9);
  g_assert_cmpint (tw_test_wait_int64 (chained), ==, 81);
  g_assert_cmpint (tw_test_wait_int64 (chained2), ==, 6561);

  assert_probes (probes);
  g_assert_cmpint (g_atomic_int_get (&b.info.n_calls), ==, 1 + 20 + 2 + probes->len);
  tw_test_assert_counters (b.troupe, 1 + 20 + 2 + probes->len, 0, 0);

  backlog_clear (&b);
}

static void
test_troupe_shutdown_cancel_pending (void)
{
  g_autoptr(TwFuture) chained = NULL;
  g_autoptr(TwFuture) chained_queued = NULL;
  Backlog b;
  TwTestShutdown *shutdown;

  g_test_summary ("CANCEL_PENDING cancels queued and chained-waiting tasks with "
                  "G_IO_ERROR_CANCELLED, lets the running one finish, and never calls "
                  "the function for the others");

  backlog_init (&b);
  chained = tw_troupe_submit_future (b.troupe, b.input);
  chained_queued = tw_troupe_submit_future (b.troupe, b.queued->pdata[5]);
  g_assert_cmpuint (tw_troupe_get_n_queued (b.troupe), ==, 20);

  shutdown = tw_test_shutdown_start (b.troupe, TW_SHUTDOWN_MODE_CANCEL_PENDING);

  /* Pending tasks are cancelled without waiting for the running one. */
  for (guint i = 0; i < b.queued->len; i++)
    {
      g_autoptr(GError) error = tw_test_wait_error (b.queued->pdata[i]);

      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_cmpint (tw_future_get_state (b.queued->pdata[i]), ==, TW_FUTURE_STATE_CANCELLED);
    }
  for (guint i = 0; i < 2; i++)
    {
      TwFuture *future = i == 0 ? chained : chained_queued;
      g_autoptr(GError) error = tw_test_wait_error (future);

      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_CANCELLED);
    }

  /* The running task is not touched, and the shutdown waits for it. */
  g_assert_cmpint (tw_future_get_state (b.running), ==, TW_FUTURE_STATE_RUNNING);
  g_assert_false (tw_test_shutdown_has_returned (shutdown));
  tw_test_gate_open (&b.info.gate);
  tw_test_shutdown_join (shutdown);
  g_assert_cmpint (tw_test_wait_int64 (b.running), ==, 4);

  /* The input settling later changes nothing. */
  tw_test_gate_open (&b.source_info.gate);
  g_assert_cmpint (tw_test_wait_int64 (b.input), ==, 9);
  g_assert_cmpint (tw_future_get_state (chained), ==, TW_FUTURE_STATE_CANCELLED);

  g_assert_cmpint (g_atomic_int_get (&b.info.n_calls), ==, 1);
  tw_test_assert_counters (b.troupe, 1, 0, 22);

  backlog_clear (&b);
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
  TwTestShutdown *shutdowns[4];

  tw_troupe_set_n_workers (troupe, 2);
  for (gint64 i = 0; i < 50; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));

  /* Several threads shut it down at once, in both modes. */
  for (guint i = 0; i < G_N_ELEMENTS (shutdowns); i++)
    shutdowns[i] = tw_test_shutdown_start (troupe, i % 2 ? TW_SHUTDOWN_MODE_CANCEL_PENDING
                                                         : TW_SHUTDOWN_MODE_DRAIN);
  for (guint i = 0; i < G_N_ELEMENTS (shutdowns); i++)
    tw_test_shutdown_join (shutdowns[i]);

  /* Each future settled once; the counters add up. */
  for (guint i = 0; i < futures->len; i++)
    g_assert_true (tw_future_is_done (futures->pdata[i]));
  tw_test_assert_counters (troupe,
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
  TwTestCalls info;

  tw_test_calls_init (&info);
  troupe = tw_troupe_new_for_func (tw_test_gated_square_func, &info, NULL);
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
  tw_test_assert_counters (troupe, 1 + 10 + probes->len, 0, 0);

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
  TwTestCalls info;

  g_test_summary ("Cancelling shutdown_async stops the wait, not the shutdown");

  tw_test_calls_init (&info);
  troupe = tw_troupe_new_for_func (tw_test_gated_square_func, &info, NULL);
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
  tw_test_assert_counters (troupe, 1 + 10 + probes->len, 0, 0);
  tw_test_gate_clear (&info.gate);
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

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/troupe/shutdown/drain-runs-everything-submitted", test_troupe_shutdown_drain);
  g_test_add_func ("/troupe/shutdown/cancel-pending-cancels-what-has-not-started",
                   test_troupe_shutdown_cancel_pending);
  g_test_add_func ("/troupe/shutdown/later-submits-fail-at-once",
                   test_troupe_submit_after_shutdown);
  g_test_add_func ("/troupe/shutdown/repeated-from-many-threads-settles-each-task-once",
                   test_troupe_shutdown_idempotent);
  g_test_add_func ("/troupe/shutdown/async-finishes-in-the-callers-context",
                   test_troupe_shutdown_async);
  g_test_add_func ("/troupe/shutdown/async-cancelled-stops-the-wait-not-the-shutdown",
                   test_troupe_shutdown_async_cancelled);
  g_test_add_func ("/troupe/no-thread-outlives-shutdown", test_troupe_no_leaked_threads);

  return g_test_run ();
}
