/* test-compose.c: continuations and combinators
 *
 * Copyright 2026 The tiny-worker developers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <tiny-worker.h>

typedef struct
{
  gint     n_calls;
  gint     n_destroyed;
  GThread *thread;      /* where the last callback ran */
  TwTroupe *troupe;
} CallbackInfo;

static GVariant *
square (GVariant      *input,
        GCancellable  *cancellable,
        gpointer       user_data,
        GError       **error)
{
  gint64 x = g_variant_get_int64 (input);

  if (x < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "negative: %" G_GINT64_FORMAT, x);
      return NULL;
    }

  return g_variant_new_int64 (x * x);
}

static GVariant *
sum_tuple (GVariant      *input,
           GCancellable  *cancellable,
           gpointer       user_data,
           GError       **error)
{
  gint64 sum = 0;

  for (gsize i = 0; i < g_variant_n_children (input); i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (input, i);

      sum += g_variant_get_int64 (child);
    }

  return g_variant_new_int64 (sum);
}

static GVariant *
nap (GVariant      *input,
     GCancellable  *cancellable,
     gpointer       user_data,
     GError       **error)
{
  g_usleep (G_USEC_PER_SEC / 5);

  return g_variant_ref_sink (g_variant_new_int64 (g_variant_get_int64 (input)));
}

static TwTroupe *
new_troupe (TwFunc func)
{
  TwTroupe *troupe = tw_troupe_new_for_func (func, NULL, NULL);

  tw_troupe_set_n_workers (troupe, 2);

  return troupe;
}

static void
info_destroy (gpointer data)
{
  CallbackInfo *info = data;

  g_atomic_int_inc (&info->n_destroyed);
}

/* Runs the default main context until @future settles. */
static GVariant *
wait_in_loop (TwFuture  *future,
              GError   **error)
{
  while (!tw_future_is_done (future))
    g_main_context_iteration (NULL, TRUE);

  return tw_future_wait (future, 0, error);
}

static TwFuture *
square_again_cb (TwFuture *future,
                 gpointer  user_data)
{
  CallbackInfo *info = user_data;
  g_autoptr(GVariant) value = tw_future_wait (future, 0, NULL);

  g_atomic_int_inc (&info->n_calls);
  info->thread = g_thread_self ();

  return tw_troupe_submit (info->troupe, g_variant_new_int64 (g_variant_get_int64 (value) + 1));
}

static void
test_compose_then (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe (square);
  CallbackInfo info = { 0, 0, NULL, troupe };
  g_autoptr(TwFuture) result = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  result = tw_future_then (tw_troupe_submit (troupe, g_variant_new_int64 (3)),
                           square_again_cb, &info, info_destroy);
  value = wait_in_loop (result, &error);

  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 100);
  g_assert_cmpint (info.n_calls, ==, 1);
  g_assert_true (info.thread == g_thread_self ());
  g_assert_cmpint (g_atomic_int_get (&info.n_destroyed), ==, 1);
}

static void
test_compose_then_skipped_on_error (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe (square);
  CallbackInfo info = { 0, 0, NULL, troupe };
  g_autoptr(TwFuture) result = NULL;
  g_autoptr(GError) error = NULL;

  result = tw_future_then (tw_troupe_submit (troupe, g_variant_new_int64 (-2)),
                           square_again_cb, &info, info_destroy);
  g_assert_null (wait_in_loop (result, &error));

  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "negative: -2");
  g_assert_cmpint (info.n_calls, ==, 0);
  g_assert_cmpint (g_atomic_int_get (&info.n_destroyed), ==, 1);
  g_assert_cmpint (tw_future_get_state (result), ==, TW_FUTURE_STATE_FAILED);
}

static TwFuture *
recover_cb (TwFuture *future,
            gpointer  user_data)
{
  CallbackInfo *info = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_null (tw_future_wait (future, 0, &error));
  g_atomic_int_inc (&info->n_calls);
  info->thread = g_thread_self ();

  return tw_future_new_for_value (g_variant_new_int64 (-1));
}

static void
test_compose_catch (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe (square);
  CallbackInfo info = { 0, 0, NULL, troupe };
  g_autoptr(TwFuture) recovered = NULL;
  g_autoptr(TwFuture) untouched = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) value2 = NULL;

  recovered = tw_future_catch (tw_troupe_submit (troupe, g_variant_new_int64 (-5)),
                               recover_cb, &info, NULL);
  untouched = tw_future_catch (tw_troupe_submit (troupe, g_variant_new_int64 (5)),
                               recover_cb, &info, NULL);
  value = wait_in_loop (recovered, NULL);
  value2 = wait_in_loop (untouched, NULL);

  g_assert_cmpint (g_variant_get_int64 (value), ==, -1);
  g_assert_cmpint (g_variant_get_int64 (value2), ==, 25);
  g_assert_cmpint (info.n_calls, ==, 1);
  g_assert_true (info.thread == g_thread_self ());
}

static TwFuture *
count_cb (TwFuture *future,
          gpointer  user_data)
{
  CallbackInfo *info = user_data;

  g_assert_true (tw_future_is_done (future));
  g_atomic_int_inc (&info->n_calls);

  return NULL;
}

static void
test_compose_finally (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe (square);
  CallbackInfo info = { 0, 0, NULL, troupe };
  g_autoptr(TwFuture) ok = NULL;
  g_autoptr(TwFuture) bad = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  ok = tw_future_finally (tw_troupe_submit (troupe, g_variant_new_int64 (4)),
                          count_cb, &info, info_destroy);
  bad = tw_future_finally (tw_troupe_submit (troupe, g_variant_new_int64 (-4)),
                           count_cb, &info, info_destroy);
  value = wait_in_loop (ok, NULL);
  g_assert_null (wait_in_loop (bad, &error));

  /* NULL from the callback passes the outcome on. */
  g_assert_cmpint (g_variant_get_int64 (value), ==, 16);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpint (info.n_calls, ==, 2);
  g_assert_cmpint (g_atomic_int_get (&info.n_destroyed), ==, 2);
}

static void
test_compose_callback_needs_its_context (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe (square);
  CallbackInfo info = { 0, 0, NULL, troupe };
  g_autoptr(TwFuture) input = tw_troupe_submit (troupe, g_variant_new_int64 (2));
  g_autoptr(TwFuture) result = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) input_value = NULL;

  result = tw_future_then (g_object_ref (input), count_cb, &info, NULL);

  /* Settled input, but no iteration yet: the callback has not run on a
   * worker thread behind our back. */
  input_value = tw_future_wait (input, -1, NULL);
  g_assert_nonnull (input_value);
  g_usleep (G_USEC_PER_SEC / 20);
  g_assert_cmpint (info.n_calls, ==, 0);
  g_assert_false (tw_future_is_done (result));

  value = wait_in_loop (result, NULL);
  g_assert_cmpint (info.n_calls, ==, 1);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 4);
}

static void
test_compose_all (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe (square);
  g_autoptr(TwFuture) all = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) expected = NULL;
  g_autoptr(GError) error = NULL;

  /* No main loop: gathering needs none. */
  all = tw_future_all (tw_troupe_submit (troupe, g_variant_new_int64 (1)),
                       tw_troupe_submit (troupe, g_variant_new_int64 (2)),
                       tw_future_new_for_value (g_variant_new_string ("x")),
                       tw_troupe_submit (troupe, g_variant_new_int64 (3)),
                       NULL);
  value = tw_future_wait (all, 10 * G_USEC_PER_SEC, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_type_string (value), ==, "(xxsx)");
  expected = g_variant_ref_sink (g_variant_new_parsed ("(int64 1, int64 4, 'x', int64 9)"));
  g_assert_true (g_variant_equal (value, expected));
}

static void
test_compose_all_fails_fast (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe (square);
  g_autoptr(TwFuture) all = NULL;
  g_autoptr(GError) error = NULL;

  all = tw_future_all (tw_troupe_submit (troupe, g_variant_new_int64 (1)),
                       tw_troupe_submit (troupe, g_variant_new_int64 (-7)),
                       NULL);

  g_assert_null (tw_future_wait (all, 10 * G_USEC_PER_SEC, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "negative: -7");
}

static void
test_compose_all_empty (void)
{
  g_autoptr(TwFuture) all = tw_future_allv (NULL, 0);
  g_autoptr(GVariant) value = tw_future_wait (all, 0, NULL);

  g_assert_cmpstr (g_variant_get_type_string (value), ==, "()");
}

static void
test_compose_all_chains_a_task (void)
{
  g_autoptr(TwTroupe) squarer = new_troupe (square);
  g_autoptr(TwTroupe) summer = new_troupe (sum_tuple);
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TwFuture) all = NULL;
  g_autoptr(TwFuture) sum = NULL;
  g_autoptr(GVariant) value = NULL;

  for (gint64 i = 1; i <= 10; i++)
    g_ptr_array_add (parts, tw_troupe_submit (squarer, g_variant_new_int64 (i)));

  all = tw_future_allv ((TwFuture **)parts->pdata, parts->len);
  sum = tw_troupe_submit_future (summer, all);
  value = tw_future_wait (sum, 10 * G_USEC_PER_SEC, NULL);

  g_assert_cmpint (g_variant_get_int64 (value), ==, 385);
}

static void
test_compose_any (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe (square);
  g_autoptr(TwFuture) any = NULL;
  g_autoptr(TwFuture) none = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  any = tw_future_any (tw_troupe_submit (troupe, g_variant_new_int64 (-1)),
                       tw_troupe_submit (troupe, g_variant_new_int64 (6)),
                       NULL);
  value = tw_future_wait (any, 10 * G_USEC_PER_SEC, NULL);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 36);

  none = tw_future_any (tw_future_new_for_error (g_error_new_literal (G_IO_ERROR,
                                                                     G_IO_ERROR_BUSY, "first")),
                        tw_troupe_submit (troupe, g_variant_new_int64 (-3)),
                        NULL);
  g_assert_null (tw_future_wait (none, 10 * G_USEC_PER_SEC, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_assert_cmpstr (error->message, ==, "first");
}

static void
test_compose_first (void)
{
  g_autoptr(TwTroupe) troupe = new_troupe (nap);
  g_autoptr(TwFuture) done =
    tw_future_new_for_error (g_error_new_literal (G_IO_ERROR, G_IO_ERROR_EXISTS, "early"));
  g_autoptr(TwFuture) first = NULL;
  g_autoptr(GError) error = NULL;
  TwFuture *pair[2];

  /* The task naps, so the settled future is the first to settle. */
  pair[0] = tw_troupe_submit (troupe, g_variant_new_int64 (8));
  pair[1] = done;
  first = tw_future_firstv (pair, 2);

  g_assert_null (tw_future_wait (first, 10 * G_USEC_PER_SEC, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);

  /* The array variant took references of its own. */
  g_assert_true (TW_IS_FUTURE (pair[0]));
  g_object_unref (pair[0]);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/compose/then/runs-once-in-the-callers-thread", test_compose_then);
  g_test_add_func ("/compose/then/is-skipped-on-error", test_compose_then_skipped_on_error);
  g_test_add_func ("/compose/catch/recovers-from-errors-only", test_compose_catch);
  g_test_add_func ("/compose/finally/runs-on-either-outcome", test_compose_finally);
  g_test_add_func ("/compose/callbacks-run-only-in-their-context",
                   test_compose_callback_needs_its_context);
  g_test_add_func ("/compose/all/gathers-values-in-order", test_compose_all);
  g_test_add_func ("/compose/all/fails-with-the-first-error", test_compose_all_fails_fast);
  g_test_add_func ("/compose/all/of-nothing-is-an-empty-tuple", test_compose_all_empty);
  g_test_add_func ("/compose/all/feeds-a-chained-task", test_compose_all_chains_a_task);
  g_test_add_func ("/compose/any/takes-the-first-success-else-the-first-error", test_compose_any);
  g_test_add_func ("/compose/first/settles-like-the-first-to-settle", test_compose_first);

  return g_test_run ();
}
