/* test-as-completed.c: consuming futures in the order they settle
 *
 * Copyright 2026 The tiny-worker developers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tw-test-util.h"

/* A TwFunc: sleeps the given number of milliseconds (int64), then returns
 * it; fails for a negative input. */
static GVariant *
sleep_ms (GVariant      *input,
          GCancellable  *cancellable,
          gpointer       user_data,
          GError       **error)
{
  gint64 ms = g_variant_get_int64 (input);

  if (ms < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "negative: %" G_GINT64_FORMAT, ms);
      return NULL;
    }

  g_usleep (ms * 1000);

  return g_variant_new_int64 (ms);
}

static TwTroupe *
new_troupe (TwFunc func,
            guint  n_workers)
{
  TwTroupe *troupe = tw_troupe_new_for_func (func, NULL, NULL);

  tw_troupe_set_n_workers (troupe, n_workers);

  return troupe;
}

static gint64
future_get_int64 (TwFuture *future)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = tw_future_wait (future, 0, &error);

  g_assert_no_error (error);
  g_assert_nonnull (value);

  return g_variant_get_int64 (value);
}

/* Takes the next future, asserting that there is one within a long wait. */
static TwFuture *
next_future (TwAsCompleted *done)
{
  g_autoptr(GError) error = NULL;
  TwFuture *future = tw_as_completed_next (done, TW_TEST_TIMEOUT_USEC, &error);

  g_assert_no_error (error);
  g_assert_nonnull (future);
  g_assert_true (tw_future_is_done (future));

  return future;
}

/* Blocks until @future has settled, whatever its outcome. */
static void
wait_settled (TwFuture *future)
{
  g_autoptr(GVariant) value = tw_future_wait (future, TW_TEST_TIMEOUT_USEC, NULL);

  g_assert_true (tw_future_is_done (future));
}

/* A waiter may wake before the settling thread has told the model. */
static void
wait_none_pending (TwAsCompleted *done)
{
  gint64 deadline = g_get_monotonic_time () + TW_TEST_TIMEOUT_USEC;

  while (tw_as_completed_get_n_pending (done) != 0 &&
         g_get_monotonic_time () < deadline)
    g_thread_yield ();
  g_assert_cmpuint (tw_as_completed_get_n_pending (done), ==, 0);
}

static void
finalized_cb (gpointer  data,
              GObject  *where_the_object_was)
{
  g_atomic_int_set ((gint *)data, TRUE);
}

/* The last reference may be dropped on a worker thread, just after the
 * future settles: wait a little for it. */
static void
assert_finalized_soon (gint *finalized)
{
  for (guint i = 0; i < 5000 && !g_atomic_int_get (finalized); i++)
    g_usleep (1000);

  g_assert_true (g_atomic_int_get (finalized));
}

static void
assert_exhausted (TwAsCompleted *done)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TwFuture) future = tw_as_completed_next (done, 0, &error);

  g_assert_no_error (error);
  g_assert_null (future);
}

static gboolean
timeout_cb (gpointer user_data)
{
  g_error ("the test timed out");

  return G_SOURCE_REMOVE;
}

/* Iterates the default context until *@flag is TRUE. */
static void
iterate_until (const gboolean *flag)
{
  guint timeout_id = g_timeout_add_seconds (30, timeout_cb, NULL);

  while (!*flag)
    g_main_context_iteration (NULL, TRUE);

  g_source_remove (timeout_id);
}

static void
run_loop (GMainLoop *loop)
{
  guint timeout_id = g_timeout_add_seconds (30, timeout_cb, NULL);

  g_main_loop_run (loop);
  g_source_remove (timeout_id);
}

static void
test_as_completed_order (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe (sleep_ms, 2);
  g_autoptr(TwAsCompleted) done = NULL;
  TwFuture *futures[3];
  static const gint64 expected[] = { 0, 300, 600 };

  g_test_summary ("Futures come out in the order they settle, not the order given");

  /* Two workers take 600 and 0 at once; 300 starts once 0 is done. */
  futures[0] = tw_troupe_submit (troupe, g_variant_new_int64 (600));
  futures[1] = tw_troupe_submit (troupe, g_variant_new_int64 (0));
  futures[2] = tw_troupe_submit (troupe, g_variant_new_int64 (300));

  done = tw_as_completed_new (futures, G_N_ELEMENTS (futures));
  g_assert_cmpuint (tw_as_completed_get_n_pending (done) +
                    g_list_model_get_n_items (G_LIST_MODEL (done)), <=, 3);

  /* The array was not consumed. */
  for (guint i = 0; i < G_N_ELEMENTS (futures); i++)
    g_object_unref (futures[i]);

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(TwFuture) future = next_future (done);

      g_assert_cmpint (future_get_int64 (future), ==, expected[i]);
    }

  assert_exhausted (done);
  g_assert_cmpuint (tw_as_completed_get_n_pending (done), ==, 0);
}

static void
test_as_completed_next_timeout (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe (sleep_ms, 1);
  g_autoptr(TwFuture) slow = tw_troupe_submit (troupe, g_variant_new_int64 (500));
  g_autoptr(TwAsCompleted) done = tw_as_completed_new (&slow, 1);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start;

  /* A poll does not wait. */
  g_assert_null (tw_as_completed_next (done, 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);

  start = g_get_monotonic_time ();
  g_assert_null (tw_as_completed_next (done, 50 * 1000, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 50 * 1000);
  g_clear_error (&error);

  /* A timeout leaves the future in: waiting again gets it. */
  future = tw_as_completed_next (done, -1, &error);
  g_assert_no_error (error);
  g_assert_true (future == slow);
  g_assert_cmpint (future_get_int64 (future), ==, 500);

  assert_exhausted (done);
}

static void
test_as_completed_exhausted (void)
{
  g_autoptr(TwAsCompleted) empty = tw_as_completed_new (NULL, 0);
  g_autoptr(TwFuture) settled = tw_future_new_for_value (g_variant_new_int64 (7));
  g_autoptr(TwAsCompleted) done = tw_as_completed_new (&settled, 1);
  g_autoptr(TwFuture) future = NULL;

  /* An empty set is exhausted at once, even with a timeout. */
  assert_exhausted (empty);
  g_assert_null (tw_as_completed_next (empty, -1, NULL));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (empty)), ==, 0);

  /* A settled future is in the model from the start. */
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (done)), ==, 1);
  g_assert_cmpuint (tw_as_completed_get_n_pending (done), ==, 0);

  future = next_future (done);
  g_assert_true (future == settled);

  /* Exhausted stays exhausted, and never blocks. */
  assert_exhausted (done);
  g_assert_null (tw_as_completed_next (done, -1, NULL));
  assert_exhausted (done);

  /* The model keeps what next() handed out. */
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (done)), ==, 1);
}

typedef struct
{
  GMainLoop *loop;
  GPtrArray *values;       /* gint64 of each future, in the order received */
  GThread   *thread;       /* where the last callback ran */
  guint      n_callbacks;
  gboolean   exhausted;
} NextInfo;

static void
next_async_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  NextInfo *info = user_data;
  TwAsCompleted *done = TW_AS_COMPLETED (object);
  g_autoptr(GError) error = NULL;
  g_autoptr(TwFuture) future = tw_as_completed_next_finish (done, result, &error);

  g_assert_no_error (error);
  info->thread = g_thread_self ();
  info->n_callbacks++;

  if (future == NULL)
    {
      info->exhausted = TRUE;
      g_main_loop_quit (info->loop);
      return;
    }

  g_ptr_array_add (info->values, GINT_TO_POINTER ((gint)future_get_int64 (future)));
  tw_as_completed_next_async (done, NULL, next_async_cb, info);
}

static void
test_as_completed_next_async (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe (sleep_ms, 2);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TwAsCompleted) done = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GPtrArray) values = g_ptr_array_new ();
  NextInfo info = { loop, values, NULL, 0, FALSE };

  g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (300)));
  g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (0)));
  done = tw_as_completed_new ((TwFuture **)futures->pdata, futures->len);

  tw_as_completed_next_async (done, NULL, next_async_cb, &info);
  run_loop (loop);

  g_assert_true (info.exhausted);
  g_assert_true (info.thread == g_thread_self ());
  g_assert_cmpuint (info.n_callbacks, ==, 3);
  g_assert_cmpuint (values->len, ==, 2);
  g_assert_cmpint (GPOINTER_TO_INT (values->pdata[0]), ==, 0);
  g_assert_cmpint (GPOINTER_TO_INT (values->pdata[1]), ==, 300);

  /* An exhausted set answers an async next with NULL too. */
  info.exhausted = FALSE;
  tw_as_completed_next_async (done, NULL, next_async_cb, &info);
  run_loop (loop);
  g_assert_true (info.exhausted);
  g_assert_cmpuint (values->len, ==, 2);
}

typedef struct
{
  GMainLoop *loop;
  GError    *error;
  TwFuture  *future;
  gboolean   called;
} CancelInfo;

static void
next_async_cancelled_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  CancelInfo *info = user_data;

  info->future = tw_as_completed_next_finish (TW_AS_COMPLETED (object), result, &info->error);
  info->called = TRUE;
  if (info->loop != NULL)
    g_main_loop_quit (info->loop);
}

static void
test_as_completed_next_async_cancel (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe (sleep_ms, 1);
  g_autoptr(TwFuture) slow = tw_troupe_submit (troupe, g_variant_new_int64 (300));
  g_autoptr(TwAsCompleted) done = tw_as_completed_new (&slow, 1);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GCancellable) cancelled = g_cancellable_new ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(TwFuture) future = NULL;
  CancelInfo info = { loop, NULL, NULL, FALSE };
  CancelInfo early = { NULL, NULL, NULL, FALSE };

  /* A cancellable that was cancelled already fails the wait at once,
   * but never synchronously. */
  g_cancellable_cancel (cancelled);
  tw_as_completed_next_async (done, cancelled, next_async_cancelled_cb, &early);
  g_assert_false (early.called);
  iterate_until (&early.called);
  g_assert_error (early.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (early.future);
  g_clear_error (&early.error);

  /* A wait cancelled while it waits fails ... */
  tw_as_completed_next_async (done, cancellable, next_async_cancelled_cb, &info);
  g_cancellable_cancel (cancellable);
  run_loop (loop);
  g_assert_true (info.called);
  g_assert_error (info.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (info.future);
  g_clear_error (&info.error);

  /* ... and abandons only itself: the task goes on, and its future goes
   * to the next caller. */
  g_assert_false (tw_future_get_state (slow) == TW_FUTURE_STATE_CANCELLED);
  future = next_future (done);
  g_assert_true (future == slow);
  g_assert_cmpint (future_get_int64 (future), ==, 300);
  assert_exhausted (done);
}

typedef struct
{
  GThread  *thread;        /* where the last signal was emitted */
  gboolean  wrong_thread;  /* a signal came on another thread than thread */
  guint     n_signals;
  guint     n_added;
  guint     n_removed;
  guint     expected_position;
  gboolean  bad_position;
  guint     n_items_notifies;
  guint     n_pending_notifies;
} ModelInfo;

static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  gpointer    user_data)
{
  ModelInfo *info = user_data;

  if (g_thread_self () != info->thread)
    info->wrong_thread = TRUE;
  if (position != info->expected_position)
    info->bad_position = TRUE;

  info->n_signals++;
  info->n_added += added;
  info->n_removed += removed;
  info->expected_position = position + added;

  /* The model already has the new items when it says so. */
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, position + added);
}

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
  ModelInfo *info = user_data;

  if (g_thread_self () != info->thread)
    info->wrong_thread = TRUE;

  if (g_str_equal (pspec->name, "n-items"))
    info->n_items_notifies++;
  else if (g_str_equal (pspec->name, "n-pending"))
    info->n_pending_notifies++;
}

static void
test_as_completed_list_model (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe (sleep_ms, 2);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TwAsCompleted) done = NULL;
  ModelInfo info = { g_thread_self (), FALSE, 0, 0, 0, 0, FALSE, 0, 0 };
  static const gint64 expected[] = { 0, 300, 600 };
  guint n_initial;
  guint n_items;
  guint n_pending;

  g_test_summary ("The model lists settled futures in order, and signals in its creator's thread");

  /* As in /as-completed/yields-in-settling-order: they settle as 0, 300, 600. */
  g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (600)));
  g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (0)));
  g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (300)));
  done = tw_as_completed_new ((TwFuture **)futures->pdata, futures->len);

  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (done)) == TW_TYPE_FUTURE);
  n_initial = g_list_model_get_n_items (G_LIST_MODEL (done));
  info.expected_position = n_initial;

  g_signal_connect (done, "items-changed", G_CALLBACK (items_changed_cb), &info);
  g_signal_connect (done, "notify", G_CALLBACK (notify_cb), &info);

  /* Nothing is announced without the context running, even once the
   * futures have settled on the workers. */
  for (guint i = 0; i < futures->len; i++)
    wait_settled (futures->pdata[i]);
  wait_none_pending (done);
  g_assert_cmpuint (info.n_signals, ==, 0);

  while (g_list_model_get_n_items (G_LIST_MODEL (done)) < 3)
    g_main_context_iteration (NULL, TRUE);

  /* Drain what is left: the n-pending notify comes with the last update. */
  while (g_main_context_iteration (NULL, FALSE))
    ;

  g_assert_false (info.wrong_thread);
  g_assert_false (info.bad_position);
  g_assert_cmpuint (info.n_removed, ==, 0);
  g_assert_cmpuint (n_initial + info.n_added, ==, 3);
  g_assert_cmpuint (info.expected_position, ==, 3);
  g_assert_cmpuint (info.n_signals, >=, 1);
  g_assert_cmpuint (info.n_items_notifies, ==, info.n_signals);
  g_assert_cmpuint (info.n_pending_notifies, >=, 1);

  g_object_get (done, "n-items", &n_items, "n-pending", &n_pending, NULL);
  g_assert_cmpuint (n_items, ==, 3);
  g_assert_cmpuint (n_pending, ==, 0);

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(TwFuture) item = g_list_model_get_item (G_LIST_MODEL (done), i);

      g_assert_cmpint (future_get_int64 (item), ==, expected[i]);
    }
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (done), 3));
}

/* The model from a thread with a context of its own: signals come there,
 * not to the main thread nor to a worker. */
static gpointer
list_model_thread (gpointer data)
{
  TwTroupe *troupe = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(TwAsCompleted) done = NULL;
  ModelInfo info = { g_thread_self (), FALSE, 0, 0, 0, 0, FALSE, 0, 0 };

  g_main_context_push_thread_default (context);

  future = tw_troupe_submit (troupe, g_variant_new_int64 (100));
  done = tw_as_completed_new (&future, 1);
  g_signal_connect (done, "items-changed", G_CALLBACK (items_changed_cb), &info);
  g_signal_connect (done, "notify", G_CALLBACK (notify_cb), &info);

  while (info.n_added < 1)
    g_main_context_iteration (context, TRUE);

  g_assert_false (info.wrong_thread);
  g_assert_false (info.bad_position);

  g_main_context_pop_thread_default (context);

  return NULL;
}

static void
test_as_completed_list_model_thread (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe (sleep_ms, 1);
  GThread *thread = g_thread_new ("as-completed-owner", list_model_thread, troupe);

  g_thread_join (thread);
}

static void
test_as_completed_failures (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe (sleep_ms, 2);
  g_autoptr(TwAsCompleted) done = tw_as_completed_new (NULL, 0);
  g_autoptr(TwFuture) failed =
    tw_future_new_for_error (g_error_new_literal (G_IO_ERROR, G_IO_ERROR_EXISTS, "early"));
  g_autoptr(TwFuture) failing = NULL;
  g_autoptr(TwFuture) blocker = NULL;
  g_autoptr(TwFuture) napping = NULL;
  g_autoptr(TwFuture) queued = NULL;
  gboolean seen_failing = FALSE;
  gboolean seen_failed = FALSE;
  gboolean seen_cancelled = FALSE;
  gboolean seen_value = FALSE;

  g_test_summary ("Failed and cancelled futures come out too, as they are");

  /* One worker takes the failing task and then one that naps; the other
   * takes a 300 ms task. The last task stays queued long enough for us
   * to cancel it. */
  failing = tw_troupe_submit (troupe, g_variant_new_int64 (-1));
  blocker = tw_troupe_submit (troupe, g_variant_new_int64 (300));
  napping = tw_troupe_submit (troupe, g_variant_new_int64 (300));
  queued = tw_troupe_submit (troupe, g_variant_new_int64 (0));

  tw_as_completed_add (done, failing);
  tw_as_completed_add (done, failed);
  tw_as_completed_add (done, queued);
  tw_as_completed_add (done, blocker);
  tw_future_cancel (queued);

  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(TwFuture) future = next_future (done);
      g_autoptr(GError) error = NULL;

      if (future == failing)
        {
          g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_FAILED);
          g_assert_null (tw_future_wait (future, 0, &error));
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
          seen_failing = TRUE;
        }
      else if (future == failed)
        {
          g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_FAILED);
          seen_failed = TRUE;
        }
      else if (future == queued)
        {
          g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_CANCELLED);
          g_assert_null (tw_future_wait (future, 0, &error));
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          seen_cancelled = TRUE;
        }
      else
        {
          g_assert_true (future == blocker);
          g_assert_cmpint (future_get_int64 (future), ==, 300);
          /* Everything else had settled well before. */
          g_assert_true (seen_failing && seen_failed && seen_cancelled);
          seen_value = TRUE;
        }
    }

  g_assert_true (seen_failing && seen_failed && seen_cancelled && seen_value);
  assert_exhausted (done);

  wait_settled (napping);
  g_assert_cmpint (future_get_int64 (napping), ==, 300);
}

static void
test_as_completed_add (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe (sleep_ms, 2);
  g_autoptr(TwFuture) first = tw_troupe_submit (troupe, g_variant_new_int64 (0));
  g_autoptr(TwAsCompleted) done = tw_as_completed_new (&first, 1);
  g_autoptr(TwFuture) second = NULL;
  g_autoptr(TwFuture) third = NULL;
  g_autoptr(TwFuture) settled = tw_future_new_for_value (g_variant_new_int64 (42));
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GPtrArray) values = g_ptr_array_new ();
  NextInfo info = { loop, values, NULL, 0, FALSE };
  ModelInfo model_info = { g_thread_self (), FALSE, 0, 0, 0, 0, FALSE, 0, 0 };

  future = next_future (done);
  g_assert_true (future == first);
  g_clear_object (&future);
  assert_exhausted (done);

  model_info.expected_position = g_list_model_get_n_items (G_LIST_MODEL (done));
  g_signal_connect (done, "items-changed", G_CALLBACK (items_changed_cb), &model_info);

  /* Adding to an exhausted set brings it back. */
  second = tw_troupe_submit (troupe, g_variant_new_int64 (200));
  tw_as_completed_add (done, second);
  g_assert_cmpuint (tw_as_completed_get_n_pending (done), ==, 1);

  /* An async next waits for futures added after it started. */
  tw_as_completed_next_async (done, NULL, next_async_cb, &info);
  third = tw_troupe_submit (troupe, g_variant_new_int64 (0));
  tw_as_completed_add (done, third);
  tw_as_completed_add (done, settled);
  run_loop (loop);

  g_assert_true (info.exhausted);
  g_assert_cmpuint (values->len, ==, 3);
  /* The settled one and the quick one come before the slow one. */
  g_assert_cmpint (GPOINTER_TO_INT (values->pdata[2]), ==, 200);
  g_assert_cmpint (GPOINTER_TO_INT (values->pdata[0]) + GPOINTER_TO_INT (values->pdata[1]), ==, 42);
  g_assert_cmpuint (tw_as_completed_get_n_pending (done), ==, 0);

  while (g_list_model_get_n_items (G_LIST_MODEL (done)) < 4)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (model_info.wrong_thread);
  g_assert_false (model_info.bad_position);
  g_assert_cmpuint (model_info.expected_position, ==, 4);
}

typedef struct
{
  TwAsCompleted *done;
  gint          *hits;     /* per input index, atomic */
  guint          n_taken;  /* atomic */
} ConsumerInfo;

static gpointer
consumer_thread (gpointer data)
{
  ConsumerInfo *info = data;
  TwFuture *future;
  g_autoptr(GError) error = NULL;

  while ((future = tw_as_completed_next (info->done, TW_TEST_TIMEOUT_USEC, &error)) != NULL)
    {
      g_atomic_int_inc (&info->hits[future_get_int64 (future)]);
      g_atomic_int_inc (&info->n_taken);
      g_object_unref (future);
    }

  g_assert_no_error (error);

  return NULL;
}

static void
test_as_completed_many (void)
{
  enum { N_FUTURES = 10000, N_CONSUMERS = 4 };
  g_autoptr(TwTroupe) troupe = new_troupe (tw_test_echo_func, 4);
  g_autoptr(TwTroupe) gated = NULL;
  g_autoptr(GPtrArray) futures = g_ptr_array_new_full (N_FUTURES, g_object_unref);
  g_autoptr(TwAsCompleted) done = NULL;
  g_autofree gint *hits = g_new0 (gint, N_FUTURES);
  ConsumerInfo info = { NULL, hits, 0 };
  GThread *consumers[N_CONSUMERS];
  TwTestGate gate;

  g_test_summary ("Every future comes out exactly once, with several threads taking them");

  tw_test_gate_init (&gate);
  gated = tw_troupe_new_for_func (tw_test_gated_echo_func, &gate, NULL);

  /* The last future stays pending until all are added, so that the
   * consumers never find the set exhausted too early. */
  g_ptr_array_add (futures, tw_troupe_submit (gated, g_variant_new_int64 (N_FUTURES - 1)));
  for (guint i = 0; i < N_FUTURES / 2; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));
  done = tw_as_completed_new ((TwFuture **)futures->pdata, futures->len);
  info.done = done;

  /* Half at creation, half added while the consumers take them. */
  for (guint c = 0; c < N_CONSUMERS; c++)
    consumers[c] = g_thread_new ("consumer", consumer_thread, &info);

  for (guint i = N_FUTURES / 2; i < N_FUTURES - 1; i++)
    {
      TwFuture *future = tw_troupe_submit (troupe, g_variant_new_int64 (i));

      g_ptr_array_add (futures, future);
      tw_as_completed_add (done, future);
    }

  tw_test_gate_open (&gate);

  for (guint c = 0; c < N_CONSUMERS; c++)
    g_thread_join (consumers[c]);

  g_assert_cmpuint (info.n_taken, ==, N_FUTURES);
  for (guint i = 0; i < N_FUTURES; i++)
    g_assert_cmpint (hits[i], ==, 1);
  assert_exhausted (done);

  /* The model gets every one of them too, once the context runs. */
  while (g_list_model_get_n_items (G_LIST_MODEL (done)) < N_FUTURES)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (done)), ==, N_FUTURES);

  memset (hits, 0, N_FUTURES * sizeof (gint));
  for (guint i = 0; i < N_FUTURES; i++)
    {
      g_autoptr(TwFuture) item = g_list_model_get_item (G_LIST_MODEL (done), i);

      hits[future_get_int64 (item)]++;
    }
  for (guint i = 0; i < N_FUTURES; i++)
    g_assert_cmpint (hits[i], ==, 1);

  tw_troupe_shutdown (gated, TW_SHUTDOWN_MODE_DRAIN);
  g_clear_object (&gated);
  tw_test_gate_clear (&gate);
}

static void
test_as_completed_finalized_without_main_loop (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe (sleep_ms, 1);
  g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_int64 (50));
  g_autoptr(TwFuture) next = NULL;
  TwAsCompleted *done;
  gint finalized = FALSE;

  g_test_summary ("Neither a context that never runs nor the futures keep it alive for ever");

  done = tw_as_completed_new (&future, 1);
  g_object_weak_ref (G_OBJECT (done), finalized_cb, &finalized);

  next = next_future (done);
  g_assert_true (next == future);

  /* The model update is still pending in the default context, which
   * never runs here: it must not keep the object alive. */
  g_object_unref (done);
  assert_finalized_soon (&finalized);

  /* A pending future keeps it alive until it settles, and no longer. */
  g_clear_object (&future);
  finalized = FALSE;
  future = tw_troupe_submit (troupe, g_variant_new_int64 (200));
  done = tw_as_completed_new (&future, 1);
  g_object_weak_ref (G_OBJECT (done), finalized_cb, &finalized);
  g_object_unref (done);
  g_assert_false (g_atomic_int_get (&finalized));

  wait_settled (future);
  assert_finalized_soon (&finalized);

  while (g_main_context_iteration (NULL, FALSE))
    ;
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/as-completed/yields-in-settling-order", test_as_completed_order);
  g_test_add_func ("/as-completed/next-times-out-and-keeps-the-future",
                   test_as_completed_next_timeout);
  g_test_add_func ("/as-completed/exhausted-returns-null-at-once", test_as_completed_exhausted);
  g_test_add_func ("/as-completed/next-async-yields-in-settling-order",
                   test_as_completed_next_async);
  g_test_add_func ("/as-completed/next-async-cancelled-abandons-only-itself",
                   test_as_completed_next_async_cancel);
  g_test_add_func ("/as-completed/list-model-signals-in-the-creators-thread",
                   test_as_completed_list_model);
  g_test_add_func ("/as-completed/list-model-made-in-another-thread",
                   test_as_completed_list_model_thread);
  g_test_add_func ("/as-completed/yields-failed-and-cancelled-futures-too",
                   test_as_completed_failures);
  g_test_add_func ("/as-completed/add-brings-back-an-exhausted-set", test_as_completed_add);
  g_test_add_func ("/as-completed/many-consumers-take-each-future-once", test_as_completed_many);
  g_test_add_func ("/as-completed/finalized-without-a-main-loop",
                   test_as_completed_finalized_without_main_loop);

  return g_test_run ();
}
