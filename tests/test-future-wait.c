/* test-future-wait.c: waiting for futures: async waits, notify::state, lifetime
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

/* Async waits --------------------------------------------------------------- */

typedef struct
{
  GThread      *thread;    /* where the callback ran */
  GMainContext *context;   /* the thread-default context when it ran */
  GVariant     *value;
  GError       *error;
  gint          n_calls;
  gboolean      done;
  GMainLoop    *loop;       /* quit when the last of *n_pending arrives */
  gint         *n_pending;
} WaitResult;

static void
wait_result_clear (WaitResult *result)
{
  g_clear_pointer (&result->value, g_variant_unref);
  g_clear_error (&result->error);
}

static void
wait_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  WaitResult *res = user_data;

  g_atomic_int_inc (&res->n_calls);
  res->thread = g_thread_self ();
  res->context = g_main_context_get_thread_default ();
  g_assert_true (G_IS_ASYNC_RESULT (result));
  g_assert_true (g_async_result_get_source_object (result) == object);
  g_object_unref (object);  /* the ref from get_source_object */
  res->value = tw_future_wait_finish (TW_FUTURE (object), result, &res->error);
  res->done = TRUE;

  if (res->loop != NULL && (res->n_pending == NULL || --(*res->n_pending) == 0))
    g_main_loop_quit (res->loop);
}

static void
test_future_wait_async (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) future = NULL;
  WaitResult result = { 0 };
  TwTestGate gate;

  tw_test_gate_init (&gate);
  troupe = tw_troupe_new_for_func (tw_test_gated_echo_func, &gate, NULL);
  tw_troupe_set_n_workers (troupe, 1);

  future = tw_troupe_submit (troupe, g_variant_new_int32 (99));
  tw_future_wait_async (future, NULL, wait_cb, &result);

  /* The task cannot finish before the gate opens, so the callback cannot
   * have run yet, whatever the library does. */
  g_assert_false (result.done);

  tw_test_gate_open (&gate);
  tw_test_iterate_until (NULL, &result.done);

  g_assert_cmpint (result.n_calls, ==, 1);
  g_assert_true (result.thread == g_thread_self ());
  g_assert_no_error (result.error);
  g_assert_nonnull (result.value);
  g_assert_cmpint (g_variant_get_int32 (result.value), ==, 99);

  /* No second call arrives later. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpint (result.n_calls, ==, 1);

  wait_result_clear (&result);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_gate_clear (&gate);
}

static void
test_future_wait_async_main_loop (void)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func (tw_test_square_func, NULL, NULL);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  WaitResult results[20] = { { 0 } };
  gint n_pending = G_N_ELEMENTS (results);

  tw_troupe_set_n_workers (troupe, 2);

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      TwFuture *future = tw_troupe_submit (troupe, g_variant_new_int64 (i));

      g_ptr_array_add (futures, future);
      results[i].loop = loop;
      results[i].n_pending = &n_pending;
      tw_future_wait_async (future, NULL, wait_cb, &results[i]);
    }

  /* The last callback quits the loop. */
  tw_test_run_loop (loop);
  g_assert_cmpint (n_pending, ==, 0);

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      g_assert_cmpint (results[i].n_calls, ==, 1);
      g_assert_true (results[i].thread == g_thread_self ());
      g_assert_no_error (results[i].error);
      g_assert_cmpint (g_variant_get_int64 (results[i].value), ==, (gint64)i * i);
      wait_result_clear (&results[i]);
    }

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

typedef struct
{
  TwFuture   *future;   /* created on the main thread */
  TwTestGate *gate;
  WaitResult  result;
  GMainContext *context;
} ThreadWait;

static gpointer
wait_async_thread (gpointer data)
{
  ThreadWait *tw = data;

  GMainLoop *loop;

  tw->context = g_main_context_new ();
  g_main_context_push_thread_default (tw->context);
  loop = g_main_loop_new (tw->context, FALSE);

  tw->result.loop = loop;
  tw_future_wait_async (tw->future, NULL, wait_cb, &tw->result);
  tw_test_gate_open (tw->gate);
  tw_test_run_loop (loop);

  g_main_loop_unref (loop);
  g_main_context_pop_thread_default (tw->context);

  return NULL;
}

static void
test_future_wait_async_thread_context (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  ThreadWait tw = { 0 };
  TwTestGate gate;
  GThread *thread;

  g_test_summary ("wait_async calls back in the thread-default context of its caller, "
                  "not in the future's context nor on a pool thread");

  tw_test_gate_init (&gate);
  troupe = tw_troupe_new_for_func (tw_test_gated_echo_func, &gate, NULL);
  tw_troupe_set_n_workers (troupe, 1);

  /* The future belongs to the main thread's context; this thread does
   * not iterate that context while the other thread waits. */
  tw.future = tw_troupe_submit (troupe, g_variant_new_string ("across"));
  tw.gate = &gate;

  thread = g_thread_new ("test-wait-async", wait_async_thread, &tw);
  g_thread_join (thread);

  g_assert_cmpint (tw.result.n_calls, ==, 1);
  g_assert_true (tw.result.thread == thread);
  g_assert_true (tw.result.context == tw.context);
  g_assert_no_error (tw.result.error);
  g_assert_cmpstr (g_variant_get_string (tw.result.value, NULL), ==, "across");

  wait_result_clear (&tw.result);
  g_main_context_unref (tw.context);
  g_object_unref (tw.future);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_gate_clear (&gate);
}

static void
test_future_wait_async_settled (void)
{
  g_autoptr(TwFuture) future = tw_future_new_for_value (g_variant_new_boolean (TRUE));
  WaitResult result = { 0 };

  tw_future_wait_async (future, NULL, wait_cb, &result);
  tw_test_iterate_until (NULL, &result.done);

  g_assert_cmpint (result.n_calls, ==, 1);
  g_assert_no_error (result.error);
  g_assert_true (g_variant_get_boolean (result.value));
  wait_result_clear (&result);
}

static void
test_future_wait_async_cancelled (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GVariant) value = NULL;
  WaitResult result = { 0 };
  TwTestGate gate;

  g_test_summary ("Cancelling a wait abandons the wait, not the task; "
                  "here the cancellable is cancelled before the wait starts");

  tw_test_gate_init (&gate);
  troupe = tw_troupe_new_for_func (tw_test_gated_echo_func, &gate, NULL);
  tw_troupe_set_n_workers (troupe, 1);

  future = tw_troupe_submit (troupe, g_variant_new_int32 (7));
  tw_test_gate_wait_entered (&gate, 1);

  g_cancellable_cancel (cancellable);
  tw_future_wait_async (future, cancellable, wait_cb, &result);
  tw_test_iterate_until (NULL, &result.done);

  g_assert_cmpint (result.n_calls, ==, 1);
  g_assert_null (result.value);
  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_RUNNING);

  /* The task itself goes on and completes. */
  tw_test_gate_open (&gate);
  value = tw_test_wait_value (future);
  g_assert_cmpint (g_variant_get_int32 (value), ==, 7);

  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpint (result.n_calls, ==, 1);

  wait_result_clear (&result);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_gate_clear (&gate);
}

static void
test_future_wait_async_cancelled_while_waiting (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GVariant) value = NULL;
  WaitResult result = { 0 };
  WaitResult other = { 0 };
  TwTestGate gate;

  tw_test_gate_init (&gate);
  troupe = tw_troupe_new_for_func (tw_test_gated_echo_func, &gate, NULL);
  tw_troupe_set_n_workers (troupe, 1);

  future = tw_troupe_submit (troupe, g_variant_new_int32 (8));
  tw_future_wait_async (future, cancellable, wait_cb, &result);
  /* A second wait, not cancelled, still gets the value. */
  tw_future_wait_async (future, NULL, wait_cb, &other);
  tw_test_gate_wait_entered (&gate, 1);

  g_cancellable_cancel (cancellable);
  tw_test_iterate_until (NULL, &result.done);

  g_assert_null (result.value);
  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (other.done);
  g_assert_false (tw_future_is_done (future));

  tw_test_gate_open (&gate);
  tw_test_iterate_until (NULL, &other.done);
  g_assert_no_error (other.error);
  g_assert_cmpint (g_variant_get_int32 (other.value), ==, 8);

  value = tw_test_wait_value (future);
  g_assert_cmpint (g_variant_get_int32 (value), ==, 8);

  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpint (result.n_calls, ==, 1);
  g_assert_cmpint (other.n_calls, ==, 1);

  wait_result_clear (&result);
  wait_result_clear (&other);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_gate_clear (&gate);
}

/* notify::state ------------------------------------------------------------- */

typedef struct
{
  GThread      *expected_thread;
  gint          n_notifies;
  gint          n_wrong_thread;
  TwFutureState last_state;
  gboolean      settled;
} NotifyRecord;

static void
state_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  NotifyRecord *record = user_data;
  TwFutureState state;

  g_object_get (object, "state", &state, NULL);

  g_atomic_int_inc (&record->n_notifies);
  if (g_thread_self () != record->expected_thread)
    g_atomic_int_inc (&record->n_wrong_thread);

  /* A future moves forward only. */
  g_assert_cmpint (state, >=, record->last_state);
  record->last_state = state;
  if (state >= TW_FUTURE_STATE_SUCCEEDED)
    record->settled = TRUE;
}

typedef struct
{
  TwTroupe     *troupe;
  TwTestGate   *gate;
  NotifyRecord  record;
  TwFutureState final_state;
} ThreadNotify;

static gpointer
notify_thread (gpointer data)
{
  ThreadNotify *tn = data;
  GMainContext *context = g_main_context_new ();
  TwFuture *first;
  TwFuture *second;

  g_main_context_push_thread_default (context);

  /* With one worker, the second task stays queued until the gate opens,
   * so its handler is connected while it is still PENDING. */
  first = tw_troupe_submit (tn->troupe, g_variant_new_int32 (1));
  tw_test_gate_wait_entered (tn->gate, 1);
  second = tw_troupe_submit (tn->troupe, g_variant_new_int32 (2));
  g_assert_cmpint (tw_future_get_state (second), ==, TW_FUTURE_STATE_PENDING);

  tn->record.expected_thread = g_thread_self ();
  g_signal_connect (second, "notify::state", G_CALLBACK (state_notify_cb), &tn->record);

  tw_test_gate_open (tn->gate);
  tw_test_iterate_until (context, &tn->record.settled);

  tn->final_state = tw_future_get_state (second);
  g_signal_handlers_disconnect_by_data (second, &tn->record);

  g_object_unref (first);
  g_object_unref (second);

  /* Dispatch what is left (sources that hold the futures) before the
   * context goes. */
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);

  return NULL;
}

static void
test_future_notify_state (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  ThreadNotify tn = { 0 };
  TwTestGate gate;
  GThread *thread;

  g_test_summary ("notify::state is emitted in the context of the thread that created "
                  "the future, never on a pool thread");

  tw_test_gate_init (&gate);
  troupe = tw_troupe_new_for_func (tw_test_gated_echo_func, &gate, NULL);
  tw_troupe_set_n_workers (troupe, 1);
  tn.troupe = troupe;
  tn.gate = &gate;

  thread = g_thread_new ("test-notify", notify_thread, &tn);
  g_thread_join (thread);

  g_assert_cmpint (tn.final_state, ==, TW_FUTURE_STATE_SUCCEEDED);
  g_assert_cmpint (tn.record.last_state, ==, TW_FUTURE_STATE_SUCCEEDED);
  g_assert_cmpint (tn.record.n_notifies, >=, 1);
  g_assert_cmpint (tn.record.n_wrong_thread, ==, 0);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_gate_clear (&gate);
}

/* Connects @data, "notify::state" or plain "notify", to a task's future
 * and checks that the state change reaches it, in the creator's context
 * only. */
static void
test_future_notify_state_main (gconstpointer data)
{
  const char *signal = data;
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) first = NULL;
  g_autoptr(TwFuture) second = NULL;
  g_autoptr(GVariant) value = NULL;
  NotifyRecord record = { 0 };
  TwTestGate gate;

  tw_test_gate_init (&gate);
  troupe = tw_troupe_new_for_func (tw_test_gated_echo_func, &gate, NULL);
  tw_troupe_set_n_workers (troupe, 1);

  first = tw_troupe_submit (troupe, g_variant_new_int32 (1));
  tw_test_gate_wait_entered (&gate, 1);
  second = tw_troupe_submit (troupe, g_variant_new_int32 (2));

  record.expected_thread = g_thread_self ();
  g_signal_connect (second, signal, G_CALLBACK (state_notify_cb), &record);

  /* Wait without a main loop: the future settles, notify waits for the
   * context. */
  tw_test_gate_open (&gate);
  value = tw_test_wait_value (second);
  g_assert_cmpint (g_variant_get_int32 (value), ==, 2);
  g_assert_cmpint (record.n_notifies, ==, 0);

  tw_test_iterate_until (NULL, &record.settled);
  g_assert_cmpint (record.n_notifies, >=, 1);
  g_assert_cmpint (record.n_wrong_thread, ==, 0);
  g_assert_cmpint (record.last_state, ==, TW_FUTURE_STATE_SUCCEEDED);
  g_signal_handlers_disconnect_by_data (second, &record);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_gate_clear (&gate);
}

/* Lifetime ------------------------------------------------------------------ */

static void
test_future_finalize (void)
{
  TwTroupe *troupe = tw_troupe_new_for_func (tw_test_square_func, NULL, NULL);
  TwFuture *futures[16];
  TwFuture *waited;
  WaitResult result = { 0 };

  g_test_summary ("Futures and troupes are finalized once the caller drops them");

  tw_troupe_set_n_workers (troupe, 2);
  g_object_add_weak_pointer (G_OBJECT (troupe), (gpointer *)&troupe);

  for (guint i = 0; i < G_N_ELEMENTS (futures); i++)
    {
      futures[i] = tw_troupe_submit (troupe, g_variant_new_int64 (i));
      g_object_add_weak_pointer (G_OBJECT (futures[i]), (gpointer *)&futures[i]);
    }

  /* One future also has an async wait. */
  waited = tw_troupe_submit (troupe, g_variant_new_int64 (100));
  g_object_add_weak_pointer (G_OBJECT (waited), (gpointer *)&waited);
  tw_future_wait_async (waited, NULL, wait_cb, &result);

  for (guint i = 0; i < G_N_ELEMENTS (futures); i++)
    g_assert_cmpint (tw_test_wait_int64 (futures[i]), ==, (gint64)i * i);
  tw_test_iterate_until (NULL, &result.done);
  g_assert_cmpint (g_variant_get_int64 (result.value), ==, 10000);
  wait_result_clear (&result);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_object_unref (troupe);
  g_assert_null (troupe);

  for (guint i = 0; i < G_N_ELEMENTS (futures); i++)
    {
      g_object_unref (futures[i]);
      g_assert_null (futures[i]);
    }

  /* The GTask of the wait may still hold the future until its source
   * is freed; let the context run it down. */
  g_object_unref (waited);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_null (waited);
}

static void
test_future_finalize_unwaited (void)
{
  TwTroupe *troupe = tw_troupe_new_for_func (tw_test_square_func, NULL, NULL);
  TwFuture *futures[64];

  g_test_summary ("A future dropped before its task ran is finalized once the task ends");

  tw_troupe_set_n_workers (troupe, 2);
  g_object_add_weak_pointer (G_OBJECT (troupe), (gpointer *)&troupe);

  for (guint i = 0; i < G_N_ELEMENTS (futures); i++)
    {
      futures[i] = tw_troupe_submit (troupe, g_variant_new_int64 (i));
      g_object_add_weak_pointer (G_OBJECT (futures[i]), (gpointer *)&futures[i]);
      g_object_unref (futures[i]);
    }

  g_object_unref (troupe);
  g_assert_null (troupe);

  for (guint i = 0; i < G_N_ELEMENTS (futures); i++)
    g_assert_null (futures[i]);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/future/wait-async/calls-back-once-in-the-callers-thread",
                   test_future_wait_async);
  g_test_add_func ("/future/wait-async/many-waits-share-one-main-loop",
                   test_future_wait_async_main_loop);
  g_test_add_func ("/future/wait-async/calls-back-in-the-callers-context",
                   test_future_wait_async_thread_context);
  g_test_add_func ("/future/wait-async/on-a-settled-future-calls-back",
                   test_future_wait_async_settled);
  g_test_add_func ("/future/wait-async/cancelled-first-abandons-the-wait-not-the-task",
                   test_future_wait_async_cancelled);
  g_test_add_func ("/future/wait-async/cancelled-while-waiting-leaves-other-waits",
                   test_future_wait_async_cancelled_while_waiting);
  g_test_add_func ("/future/notify-state/emitted-in-the-creators-context",
                   test_future_notify_state);
  g_test_add_data_func ("/future/notify-state/waits-for-the-creators-context",
                        "notify::state", test_future_notify_state_main);
  g_test_add_data_func ("/future/notify-state/reaches-a-plain-notify-handler",
                        "notify", test_future_notify_state_main);
  g_test_add_func ("/future/finalized-once-the-caller-drops-it", test_future_finalize);
  g_test_add_func ("/future/unwaited-finalized-once-its-task-ends", test_future_finalize_unwaited);

  return g_test_run ();
}
