/* test-reentrancy.c
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

/*
 * User code that the library calls back (cancellable handlers, destroy
 * notifies) must be free to call the library again: no library lock may
 * be held while it runs. A test that fails here hangs until the test
 * harness kills it.
 */

/* What a ::cancelled handler does, and what it saw. */
typedef struct
{
  TwTroupe *troupe;
  TwFuture *running;       /* the task whose cancellable fires */
  TwFuture *other;         /* a queued task the handler cancels */
  TwFuture *submitted;     /* what the handler submitted; owned */
  TwFutureState seen;      /* the running task's state, as the handler saw it */

  GMutex    lock;
  GCond     cond;
  gboolean  connected;     /* protected by lock */
  gboolean  handled;       /* protected by lock */
} Reentry;

static void
reentry_init (Reentry *reentry)
{
  memset (reentry, 0, sizeof *reentry);
  g_mutex_init (&reentry->lock);
  g_cond_init (&reentry->cond);
  reentry->seen = TW_FUTURE_STATE_PENDING;
}

static void
reentry_clear (Reentry *reentry)
{
  g_clear_object (&reentry->running);
  g_clear_object (&reentry->other);
  g_clear_object (&reentry->submitted);
  g_clear_object (&reentry->troupe);
  g_mutex_clear (&reentry->lock);
  g_cond_clear (&reentry->cond);
}

/* Waits (bounded) until *@flag is set under the reentry's lock. */
static void
reentry_wait (Reentry  *reentry,
              gboolean *flag)
{
  gint64 end_time = g_get_monotonic_time () + TW_TEST_TIMEOUT_USEC;

  g_mutex_lock (&reentry->lock);
  while (!*flag)
    if (!g_cond_wait_until (&reentry->cond, &reentry->lock, end_time))
      g_error ("Timed out waiting for the worker");
  g_mutex_unlock (&reentry->lock);
}

static void
reentry_set (Reentry  *reentry,
             gboolean *flag)
{
  g_mutex_lock (&reentry->lock);
  *flag = TRUE;
  g_cond_broadcast (&reentry->cond);
  g_mutex_unlock (&reentry->lock);
}

/* Uses the library from inside a ::cancelled handler: the running task's
 * state, another cancel, another submit. */
static void
reentry_cancelled_cb (GCancellable *cancellable,
                      gpointer      user_data)
{
  Reentry *reentry = user_data;

  reentry->seen = tw_future_get_state (reentry->running);
  tw_future_cancel (reentry->other);
  reentry->submitted = tw_troupe_submit (reentry->troupe, g_variant_new_int64 (7));

  reentry_set (reentry, &reentry->handled);
}

/* Input 0 waits, with the handler connected, until the handler has run;
 * any other input is squared. */
static GVariant *
reentry_func (GVariant      *input,
              GCancellable  *cancellable,
              gpointer       user_data,
              GError       **error)
{
  Reentry *reentry = user_data;
  gint64 x = g_variant_get_int64 (input);
  gulong handler_id;

  if (x != 0)
    return g_variant_new_int64 (x * x);

  handler_id = g_cancellable_connect (cancellable, G_CALLBACK (reentry_cancelled_cb),
                                      reentry, NULL);
  reentry_set (reentry, &reentry->connected);
  reentry_wait (reentry, &reentry->handled);
  g_cancellable_disconnect (cancellable, handler_id);

  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "Stopped by the test");

  return NULL;
}

static void
assert_cancelled (TwFuture *future)
{
  g_autoptr(GError) error = tw_test_wait_error (future);

  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_CANCELLED);
}

static void
test_reentrancy_cancelled_handler_thread (void)
{
  Reentry reentry;

  g_test_summary ("A ::cancelled handler of a running thread-mode task may read its "
                  "future's state, cancel another future and submit to the same troupe");
  g_test_bug ("11");

  reentry_init (&reentry);
  reentry.troupe = tw_troupe_new_for_func (reentry_func, &reentry, NULL);
  tw_troupe_set_n_workers (reentry.troupe, 1);

  reentry.running = tw_troupe_submit (reentry.troupe, g_variant_new_int64 (0));
  reentry.other = tw_troupe_submit (reentry.troupe, g_variant_new_int64 (3));
  reentry_wait (&reentry, &reentry.connected);

  /* The handler runs here, in this thread. */
  tw_future_cancel (reentry.running);

  g_assert_cmpint (reentry.seen, ==, TW_FUTURE_STATE_RUNNING);
  assert_cancelled (reentry.running);
  assert_cancelled (reentry.other);
  g_assert_nonnull (reentry.submitted);
  g_assert_cmpint (tw_test_wait_int64 (reentry.submitted), ==, 49);

  tw_troupe_shutdown (reentry.troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpuint (tw_troupe_get_n_cancelled (reentry.troupe), ==, 2);
  g_assert_cmpuint (tw_troupe_get_n_succeeded (reentry.troupe), ==, 1);
  g_assert_cmpuint (tw_troupe_get_n_failed (reentry.troupe), ==, 0);

  reentry_clear (&reentry);
}

/* In a worker process: input 0 runs until it is cancelled. */
static GVariant *
process_wait_func (GVariant      *input,
                   GCancellable  *cancellable,
                   gpointer       user_data,
                   GError       **error)
{
  gint64 x = g_variant_get_int64 (input);
  GPollFD fd;

  if (x != 0)
    return g_variant_new_int64 (x * x);

  g_assert_true (g_cancellable_make_pollfd (cancellable, &fd));
  g_poll (&fd, 1, -1);
  g_cancellable_release_fd (cancellable);
  g_cancellable_set_error_if_cancelled (cancellable, error);

  return NULL;
}

static void
reentry_running_cb (TwFuture *future,
                    GParamSpec *pspec,
                    gpointer  user_data)
{
  Reentry *reentry = user_data;

  if (tw_future_get_state (future) == TW_FUTURE_STATE_RUNNING)
    reentry->connected = TRUE;
}

/* Cancels the running task too, from inside the handler. */
static void
reentry_process_cancelled_cb (GCancellable *cancellable,
                              gpointer      user_data)
{
  Reentry *reentry = user_data;

  reentry_cancelled_cb (cancellable, reentry);
  tw_future_cancel (reentry->running);
}

static void
reentry_wait_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = tw_future_wait_finish (TW_FUTURE (object), result, &error);
  gboolean *done = user_data;

  g_assert_null (value);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  *done = TRUE;
}

static void
test_reentrancy_cancelled_handler_process (void)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GMainContext) context = g_main_context_new ();
  gboolean wait_done = FALSE;
  Reentry reentry;

  g_test_summary ("In process mode, a ::cancelled handler that abandons a wait on a "
                  "running task may read its state, cancel it and another future, and "
                  "submit to the same troupe");
  g_test_bug ("11");

  g_main_context_push_thread_default (context);

  reentry_init (&reentry);
  reentry.troupe = tw_troupe_new_for_func_name ("reentrancy-wait");
  tw_troupe_set_mode (reentry.troupe, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (reentry.troupe, 1);

  reentry.running = tw_troupe_submit (reentry.troupe, g_variant_new_int64 (0));
  g_signal_connect (reentry.running, "notify::state", G_CALLBACK (reentry_running_cb), &reentry);
  reentry.other = tw_troupe_submit (reentry.troupe, g_variant_new_int64 (3));

  /* The worker process holds the task in flight, pending, until it is
   * the head of its pipeline; it is RUNNING once the child got it. */
  tw_test_iterate_until (context, &reentry.connected);

  g_cancellable_connect (cancellable, G_CALLBACK (reentry_process_cancelled_cb), &reentry, NULL);
  tw_future_wait_async (reentry.running, cancellable, reentry_wait_cb, &wait_done);
  g_cancellable_cancel (cancellable);
  tw_test_iterate_until (context, &wait_done);

  g_assert_true (reentry.handled);
  g_assert_cmpint (reentry.seen, ==, TW_FUTURE_STATE_RUNNING);
  assert_cancelled (reentry.running);
  assert_cancelled (reentry.other);
  g_assert_cmpint (tw_test_wait_int64 (reentry.submitted), ==, 49);

  tw_troupe_shutdown (reentry.troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpuint (tw_troupe_get_n_cancelled (reentry.troupe), ==, 2);
  g_assert_cmpuint (tw_troupe_get_n_succeeded (reentry.troupe), ==, 1);

  g_signal_handlers_disconnect_by_data (reentry.running, &reentry);
  reentry_clear (&reentry);
  g_main_context_pop_thread_default (context);
}

/* The user data of a troupe that holds the only reference to it. */
typedef struct
{
  gint      n_calls;      /* first: tw_test_square_func() counts in it */
  TwTroupe *troupe;
  gint      n_destroyed;  /* atomic */
} Holder;

static void
holder_destroy (gpointer data)
{
  Holder *holder = data;

  g_atomic_int_inc (&holder->n_destroyed);
  g_object_unref (holder->troupe);
}

static void
test_reentrancy_destroy_drops_troupe (void)
{
  Holder holder = { 0, NULL, 0 };
  TwTroupe *weak;
  guint n_threads = tw_test_count_threads ();

  g_test_summary ("A destroy notify may drop the last reference to its own troupe, "
                  "which shuts it down again from inside its shutdown");
  g_test_bug ("11");

  holder.troupe = tw_troupe_new_for_func (tw_test_square_func, &holder, holder_destroy);
  weak = holder.troupe;
  g_object_add_weak_pointer (G_OBJECT (weak), (gpointer *)&weak);
  tw_troupe_set_n_workers (holder.troupe, 2);

  {
    g_autoptr(TwFuture) future = tw_troupe_submit (holder.troupe, g_variant_new_int64 (3));

    g_assert_cmpint (tw_test_wait_int64 (future), ==, 9);
  }

  /* The shutdown frees the function's data last: the troupe goes with it. */
  tw_troupe_shutdown (holder.troupe, TW_SHUTDOWN_MODE_DRAIN);

  g_assert_cmpint (g_atomic_int_get (&holder.n_calls), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&holder.n_destroyed), ==, 1);
  g_assert_null (weak);
  g_assert_cmpuint (tw_test_wait_for_n_threads (n_threads), ==, n_threads);
}

int
main (int   argc,
      char *argv[])
{
  tw_register_func ("reentrancy-wait", process_wait_func, NULL, NULL);
  tw_init ();

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/reentrancy/cancelled-handler-may-call-the-library/thread",
                   test_reentrancy_cancelled_handler_thread);
  g_test_add_func ("/reentrancy/cancelled-handler-may-call-the-library/process",
                   test_reentrancy_cancelled_handler_process);
  g_test_add_func ("/reentrancy/destroy-notify-may-drop-the-last-troupe-ref",
                   test_reentrancy_destroy_drops_troupe);

  return g_test_run ();
}
