/* test-troupe-threads.c: troupes under concurrent submit, cancel and shutdown
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
  TwTestCalls info;

  tw_test_calls_init (&info);
  tw_test_gate_init (&start);
  troupe = tw_troupe_new_for_func (tw_test_gated_square_func, &info, NULL);
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
  tw_test_assert_counters (troupe, 4000, 0, 0);

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

/* What became of the stress test's tasks. */
typedef struct
{
  guint n_total;
  guint n_refused;
  guint n_succeeded;
  guint n_failed;
  guint n_cancelled;
} StressTally;

/* Checks the outcome of the task for @x, which has settled, and counts it. */
static void
tally_outcome (StressTally *tally,
               TwFuture    *future,
               gint64       x)
{
  TwFutureState state = tw_future_get_state (future);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;

  tally->n_total++;
  g_assert_true (tw_future_is_done (future));
  value = tw_future_wait (future, 0, &error);

  switch (state)
    {
    case TW_FUTURE_STATE_SUCCEEDED:
      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int64 (value), ==, 2 * x);
      g_assert_cmpint (x % 7, !=, 0);
      tally->n_succeeded++;
      break;

    case TW_FUTURE_STATE_FAILED:
      g_assert_null (value);
      if (g_error_matches (error, TW_ERROR, TW_ERROR_SHUT_DOWN))
        tally->n_refused++;
      else
        {
          g_assert_error (error, TW_TEST_ERROR, 7);
          g_assert_cmpint (x % 7, ==, 0);
          tally->n_failed++;
        }
      break;

    case TW_FUTURE_STATE_CANCELLED:
      g_assert_null (value);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      tally->n_cancelled++;
      break;

    case TW_FUTURE_STATE_PENDING:
    case TW_FUTURE_STATE_RUNNING:
    default:
      g_assert_not_reached ();
    }

  /* A settled future never changes. */
  g_assert_cmpint (tw_future_get_state (future), ==, state);
}

static void
test_troupe_stress (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(GPtrArray) shared = g_ptr_array_new_with_free_func (g_object_unref);
  StressSubmitter subs[4];
  GThread *sub_threads[G_N_ELEMENTS (subs)];
  GThread *canceller, *stopper;
  TwTestGate start, halfway;
  GMutex lock;
  gint n_running_submitters = G_N_ELEMENTS (subs);
  Canceller can = { &start, &lock, shared, &n_running_submitters, 0 };
  Stopper stop = { NULL, &start, &halfway };
  gint n_calls = 0;
  StressTally tally = { 0 };

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

  canceller = g_thread_new ("test-stress-cancel", canceller_thread, &can);

  stop.troupe = troupe;
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
        tally_outcome (&tally, subs[t].futures->pdata[i], subs[t].first + i);
      g_ptr_array_unref (subs[t].futures);
    }

  g_test_message ("%u tasks: %u succeeded, %u failed, %u cancelled, %u refused; "
                  "%u cancel calls, %d function calls",
                  tally.n_total, tally.n_succeeded, tally.n_failed, tally.n_cancelled,
                  tally.n_refused, can.n_cancels, n_calls);

  g_assert_cmpuint (tally.n_total, ==, 4 * 1500);
  /* The first half of submitter 0 came before the shutdown. */
  g_assert_cmpuint (tally.n_total - tally.n_refused, >=, 750);
  tw_test_assert_counters (troupe, tally.n_succeeded, tally.n_failed, tally.n_cancelled);
  g_assert_cmpuint (tw_troupe_get_n_completed (troupe), ==, tally.n_total - tally.n_refused);
  g_assert_cmpint (n_calls, >=, tally.n_succeeded + tally.n_failed);
  g_assert_cmpint (n_calls, <=, tally.n_succeeded + tally.n_failed + tally.n_cancelled);

  g_mutex_clear (&lock);
  tw_test_gate_clear (&start);
  tw_test_gate_clear (&halfway);
}

/* Wake-ups ------------------------------------------------------------------ */

/* Like tw_test_gated_echo_func(), but a negative input passes at once. */
static GVariant *
gated_unless_negative_func (GVariant      *input,
                            GCancellable  *cancellable,
                            gpointer       user_data,
                            GError       **error)
{
  if (g_variant_get_int64 (input) < 0)
    return g_variant_ref_sink (input);

  return tw_test_gated_echo_func (input, cancellable, user_data, error);
}

/* Starts @n_workers threads and lets them go idle, then submits as many
 * gated tasks at once and checks that they all run at the same time, and
 * that each returns its input. */
static void
run_gated_burst (guint n_workers)
{
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TwTroupe) troupe = NULL;
  TwTestGate gate;

  tw_test_gate_init (&gate);
  troupe = tw_troupe_new_for_func (gated_unless_negative_func, &gate, NULL);
  tw_troupe_set_n_workers (troupe, n_workers);

  for (guint i = 0; i < 2 * n_workers; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (-1)));
  for (guint i = 0; i < futures->len; i++)
    g_assert_cmpint (tw_test_wait_int64 (futures->pdata[i]), ==, -1);
  g_ptr_array_set_size (futures, 0);

  for (guint i = 0; i < n_workers; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));

  tw_test_gate_wait_entered (&gate, n_workers);
  tw_test_gate_open (&gate);

  for (guint i = 0; i < n_workers; i++)
    g_assert_cmpint (tw_test_wait_int64 (futures->pdata[i]), ==, i);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_gate_clear (&gate);
}

static void
test_troupe_wakes_idle_threads (void)
{
  TwTestGate busy_gate;
  g_autoptr(TwTroupe) busy = NULL;
  g_autoptr(TwFuture) warm = NULL;
  g_autoptr(TwFuture) first = NULL;
  g_autoptr(TwFuture) second = NULL;

  g_test_summary ("A burst of submits wakes every idle thread (each woken thread "
                  "wakes the next), and a submit wakes an idle thread while another "
                  "thread is busy");

  /* Each round's threads may not all be idle yet when the burst comes:
   * a few rounds make it likely that some are. */
  for (guint round = 0; round < 5; round++)
    run_gated_burst (4);

  tw_test_gate_init (&busy_gate);
  busy = tw_troupe_new_for_func (gated_unless_negative_func, &busy_gate, NULL);
  tw_troupe_set_n_workers (busy, 2);
  warm = tw_troupe_submit (busy, g_variant_new_int64 (-1));
  g_assert_cmpint (tw_test_wait_int64 (warm), ==, -1);
  first = tw_troupe_submit (busy, g_variant_new_int64 (1));
  tw_test_gate_wait_entered (&busy_gate, 1);
  second = tw_troupe_submit (busy, g_variant_new_int64 (2));
  tw_test_gate_wait_entered (&busy_gate, 2);
  tw_test_gate_open (&busy_gate);
  g_assert_cmpint (tw_test_wait_int64 (first), ==, 1);
  g_assert_cmpint (tw_test_wait_int64 (second), ==, 2);

  tw_troupe_shutdown (busy, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_gate_clear (&busy_gate);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/troupe/submit-from-many-threads", test_troupe_submit_from_threads);
  g_test_add_func ("/troupe/stress-every-task-settles-once", test_troupe_stress);
  g_test_add_func ("/troupe/wakes-every-idle-thread-it-needs", test_troupe_wakes_idle_threads);

  return g_test_run ();
}
