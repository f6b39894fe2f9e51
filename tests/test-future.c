/* test-future.c: futures: values, settled futures, blocking waits, cancellation
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
#ifdef __linux__
# include <sys/syscall.h>
# include <unistd.h>
#endif

#include "tw-test-util.h"

/* Returns a copy of its input that shares no memory with it, so a value
 * really crosses to the worker thread and back. user_data, if not NULL, is
 * a gint call counter. */
static GVariant *
copy_func (GVariant      *input,
           GCancellable  *cancellable,
           gpointer       user_data,
           GError       **error)
{
  g_autoptr(GBytes) bytes = NULL;

  if (user_data != NULL)
    g_atomic_int_inc ((gint *)user_data);

  bytes = g_bytes_new (g_variant_get_data (input), g_variant_get_size (input));

  return g_variant_new_from_bytes (g_variant_get_type (input), bytes,
                                   g_variant_is_normal_form (input));
}

/* Round trips ------------------------------------------------------------- */

typedef GVariant *(*MakeValueFunc) (void);

static GVariant *
make_int32 (void)
{
  return g_variant_new_int32 (G_MININT32 + 7);
}

static GVariant *
make_int64 (void)
{
  return g_variant_new_int64 (G_MININT64 + 3);
}

static GVariant *
make_uint64 (void)
{
  /* Above 2^63, where a signed or double conversion would break it. */
  return g_variant_new_uint64 (G_GUINT64_CONSTANT (18446744073709551557));
}

static GVariant *
make_double (void)
{
  return g_variant_new_double (-1.0 / 3.0);
}

static GVariant *
make_string (void)
{
  return g_variant_new_string ("héllo, wörld\t\"quoted\"");
}

static GVariant *
make_strv (void)
{
  const char *strv[] = { "a", "", "ccc", "ünïcode", NULL };

  return g_variant_new_strv (strv, -1);
}

static GVariant *
make_vardict (void)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "int", "i", 42);
  g_variant_dict_insert (&dict, "big", "t", G_MAXUINT64);
  g_variant_dict_insert (&dict, "name", "s", "tiny");
  g_variant_dict_insert (&dict, "list", "^as", (const char *[]) { "x", "y", NULL });
  g_variant_dict_insert (&dict, "ratio", "d", 0.125);

  return g_variant_dict_end (&dict);
}

static GVariant *
make_tuple (void)
{
  return g_variant_new ("(isd(xt)as)", -5, "nested", 2.5,
                        G_MININT64, G_MAXUINT64,
                        NULL);
}

static GVariant *
make_bytes (void)
{
  gsize size = 1024 * 1024;
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8)((i * 7919) ^ (i >> 11));

  return g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size, TRUE, g_free, data);
}

static void
test_future_round_trip (gconstpointer data)
{
  MakeValueFunc make_value = (MakeValueFunc)data;
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GVariant) input = NULL;
  g_autoptr(GVariant) expected = NULL;
  g_autoptr(GVariant) output = NULL;
  gint n_calls = 0;

  troupe = tw_troupe_new_for_func (copy_func, &n_calls, NULL);
  tw_troupe_set_n_workers (troupe, 2);

  /* A floating input is sunk by submit; a second, equal value checks the
   * output, so the test does not compare the value with itself. */
  input = make_value ();
  expected = g_variant_ref_sink (make_value ());
  future = tw_troupe_submit (troupe, g_steal_pointer (&input));
  output = tw_test_wait_value (future);

  g_assert_cmpstr (g_variant_get_type_string (output), ==, g_variant_get_type_string (expected));
  g_assert_true (g_variant_equal (output, expected));
  g_assert_cmpint (g_atomic_int_get (&n_calls), ==, 1);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

static void
test_future_round_trip_exact (void)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func (copy_func, NULL, NULL);
  g_autoptr(TwFuture) f_u64 = NULL;
  g_autoptr(TwFuture) f_i64 = NULL;
  g_autoptr(TwFuture) f_dbl = NULL;
  g_autoptr(TwFuture) f_ay = NULL;
  g_autoptr(GVariant) v_u64 = NULL;
  g_autoptr(GVariant) v_i64 = NULL;
  g_autoptr(GVariant) v_dbl = NULL;
  g_autoptr(GVariant) v_ay = NULL;
  const guint8 *bytes;
  gsize n_bytes;

  g_test_summary ("Values keep their exact bits, not just an equal-looking print");

  tw_troupe_set_n_workers (troupe, 2);
  f_u64 = tw_troupe_submit (troupe, make_uint64 ());
  f_i64 = tw_troupe_submit (troupe, make_int64 ());
  f_dbl = tw_troupe_submit (troupe, make_double ());
  f_ay = tw_troupe_submit (troupe, make_bytes ());

  v_u64 = tw_test_wait_value (f_u64);
  g_assert_cmpuint (g_variant_get_uint64 (v_u64), ==, G_GUINT64_CONSTANT (18446744073709551557));
  g_assert_cmpuint (g_variant_get_uint64 (v_u64), >, G_GUINT64_CONSTANT (1) << 63);

  v_i64 = tw_test_wait_value (f_i64);
  g_assert_cmpint (g_variant_get_int64 (v_i64), ==, G_MININT64 + 3);

  v_dbl = tw_test_wait_value (f_dbl);
  g_assert_true (g_variant_get_double (v_dbl) == -1.0 / 3.0);

  v_ay = tw_test_wait_value (f_ay);
  bytes = g_variant_get_fixed_array (v_ay, &n_bytes, 1);
  g_assert_cmpuint (n_bytes, ==, 1024 * 1024);
  for (gsize i = 0; i < n_bytes; i++)
    {
      if (bytes[i] != (guint8)((i * 7919) ^ (i >> 11)))
        g_assert_cmpuint (bytes[i], ==, (guint8)((i * 7919) ^ (i >> 11)));
    }
}

/* Settled futures --------------------------------------------------------- */

static void
test_future_new_for_value (void)
{
  g_autoptr(TwFuture) future = tw_future_new_for_value (g_variant_new_int32 (5));
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) again = NULL;

  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_SUCCEEDED);
  g_assert_true (tw_future_is_done (future));

  value = tw_future_wait (future, 0, NULL);
  g_assert_nonnull (value);
  g_assert_cmpint (g_variant_get_int32 (value), ==, 5);

  /* Waiting twice gives the same value. */
  again = tw_future_wait (future, -1, NULL);
  g_assert_true (g_variant_equal (value, again));
}

static void
test_future_new_for_error (void)
{
  g_autoptr(TwFuture) failed = NULL;
  g_autoptr(TwFuture) cancelled = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;

  failed = tw_future_new_for_error (g_error_new_literal (TW_TEST_ERROR, 17, "seventeen"));
  g_assert_cmpint (tw_future_get_state (failed), ==, TW_FUTURE_STATE_FAILED);
  g_assert_true (tw_future_is_done (failed));
  value = tw_future_wait (failed, 0, &error);
  g_assert_null (value);
  g_assert_error (error, TW_TEST_ERROR, 17);
  g_assert_cmpstr (error->message, ==, "seventeen");
  g_clear_error (&error);

  cancelled = tw_future_new_for_error (g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                            "gone"));
  g_assert_cmpint (tw_future_get_state (cancelled), ==, TW_FUTURE_STATE_CANCELLED);
  value = tw_future_wait (cancelled, -1, &error);
  g_assert_null (value);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpstr (error->message, ==, "gone");
}

/* Lifetime ------------------------------------------------------------------ */

typedef struct
{
  gint handler_destroyed;
  gint weak_notified;
  gint data_destroyed;
} LastUnrefInfo;

static void
never_notified_cb (GObject    *object,
                   GParamSpec *pspec,
                   gpointer    user_data)
{
  g_assert_not_reached ();
}

static void
handler_destroyed_cb (gpointer  data,
                      GClosure *closure)
{
  LastUnrefInfo *info = data;

  g_atomic_int_inc (&info->handler_destroyed);
}

static void
weak_notify_cb (gpointer  data,
                GObject  *where_the_object_was)
{
  LastUnrefInfo *info = data;

  g_atomic_int_inc (&info->weak_notified);
}

static void
data_destroyed_cb (gpointer data)
{
  LastUnrefInfo *info = data;

  g_atomic_int_inc (&info->data_destroyed);
}

static void
test_future_last_unref_releases_everything (void)
{
  LastUnrefInfo info = { 0, };
  TwFuture *future = tw_future_new_for_value (g_variant_new_int32 (5));
  gpointer pointer = future;
  GWeakRef weak;

  g_test_summary ("Dropping a future's last reference destroys its signal handlers, "
                  "notifies its weak references and frees its data, although TwFuture "
                  "leaves that to g_object_unref() rather than to GObject's dispose");

  g_signal_connect_data (future, "notify::state", G_CALLBACK (never_notified_cb),
                         &info, handler_destroyed_cb, 0);
  g_object_weak_ref (G_OBJECT (future), weak_notify_cb, &info);
  g_object_add_weak_pointer (G_OBJECT (future), &pointer);
  g_weak_ref_init (&weak, future);
  g_object_set_data_full (G_OBJECT (future), "tw-test", &info, data_destroyed_cb);

  g_object_unref (future);

  g_assert_cmpint (g_atomic_int_get (&info.handler_destroyed), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&info.weak_notified), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&info.data_destroyed), ==, 1);
  g_assert_null (pointer);
  g_assert_null (g_weak_ref_get (&weak));
  g_weak_ref_clear (&weak);
}

/* Blocking waits ------------------------------------------------------------ */

static void
test_future_wait_timeout (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  TwTestGate gate;
  gint64 start;

  tw_test_gate_init (&gate);
  troupe = tw_troupe_new_for_func (tw_test_gated_echo_func, &gate, NULL);
  tw_troupe_set_n_workers (troupe, 1);

  future = tw_troupe_submit (troupe, g_variant_new_string ("later"));
  tw_test_gate_wait_entered (&gate, 1);

  /* A zero timeout only looks. */
  value = tw_future_wait (future, 0, &error);
  g_assert_null (value);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);

  start = g_get_monotonic_time ();
  value = tw_future_wait (future, 20 * 1000, &error);
  g_assert_null (value);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 20 * 1000);
  g_clear_error (&error);

  /* The timeout left the task alone. */
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_RUNNING);

  tw_test_gate_open (&gate);
  value = tw_test_wait_value (future);
  g_assert_cmpstr (g_variant_get_string (value, NULL), ==, "later");

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_gate_clear (&gate);
}

typedef struct
{
  TwFuture *future;
  gint      tid;      /* atomic: the thread's id, once it is about to wait */
  gint64    value;
} BlockedWait;

static gpointer
blocked_wait_thread (gpointer data)
{
  BlockedWait *wait = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;

#ifdef __linux__
  g_atomic_int_set (&wait->tid, (gint)syscall (SYS_gettid));
#else
  g_atomic_int_set (&wait->tid, 1);
#endif
  value = tw_future_wait (wait->future, -1, &error);
  g_assert_no_error (error);
  wait->value = g_variant_get_int64 (value);

  return NULL;
}

/* Whether the thread sleeps, as one blocked on a condition does rather
 * than one that polls; elsewhere than on Linux, we cannot tell. */
static gboolean
thread_sleeps (gint tid)
{
#ifdef __linux__
  g_autofree char *path = g_strdup_printf ("/proc/self/task/%d/stat", tid);
  g_autofree char *stat = NULL;
  const char *end_of_name;

  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return FALSE;

  /* "tid (name) S ...", where the name may hold spaces and parentheses. */
  end_of_name = strrchr (stat, ')');

  return end_of_name != NULL && g_str_has_prefix (end_of_name, ") S");
#else
  return tid != 0;
#endif
}

static void
test_future_wait_many_blocked (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) future = NULL;
  BlockedWait waits[4];
  GThread *threads[G_N_ELEMENTS (waits)];
  TwTestGate gate;
  guint n_asleep = 0;

  g_test_summary ("Threads that sleep in tw_future_wait() on one future, past their "
                  "first moments of polling, all wake with its value when it settles");

  tw_test_gate_init (&gate);
  troupe = tw_troupe_new_for_func (tw_test_gated_echo_func, &gate, NULL);
  tw_troupe_set_n_workers (troupe, 1);
  future = tw_troupe_submit (troupe, g_variant_new_int64 (42));
  tw_test_gate_wait_entered (&gate, 1);

  for (guint i = 0; i < G_N_ELEMENTS (waits); i++)
    {
      waits[i] = (BlockedWait) { future, 0, 0 };
      threads[i] = g_thread_new ("test-blocked-wait", blocked_wait_thread, &waits[i]);
    }

  while (n_asleep < G_N_ELEMENTS (waits))
    {
      n_asleep = 0;
      for (guint i = 0; i < G_N_ELEMENTS (waits); i++)
        n_asleep += thread_sleeps (g_atomic_int_get (&waits[i].tid));
      g_thread_yield ();
    }

  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_RUNNING);
  tw_test_gate_open (&gate);

  for (guint i = 0; i < G_N_ELEMENTS (waits); i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpint (waits[i].value, ==, 42);
    }

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_gate_clear (&gate);
}

/* Cancellation -------------------------------------------------------------- */

typedef struct
{
  TwTestGate gate;
  gint       calls[8];  /* per input, atomic */
} CallLog;

/* Input 0 blocks on the gate; every call is counted per input. */
static GVariant *
logged_func (GVariant      *input,
             GCancellable  *cancellable,
             gpointer       user_data,
             GError       **error)
{
  CallLog *log = user_data;
  gint32 x = g_variant_get_int32 (input);

  g_atomic_int_inc (&log->calls[x]);

  if (x == 0 && !tw_test_gate_pass (&log->gate))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "gate");
      return NULL;
    }

  return g_variant_new_int32 (x * 10);
}

static void
test_future_cancel_queued (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) running = NULL;
  g_autoptr(TwFuture) doomed = NULL;
  g_autoptr(TwFuture) kept = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  CallLog log = { 0 };

  tw_test_gate_init (&log.gate);
  troupe = tw_troupe_new_for_func (logged_func, &log, NULL);
  tw_troupe_set_n_workers (troupe, 1);

  running = tw_troupe_submit (troupe, g_variant_new_int32 (0));
  tw_test_gate_wait_entered (&log.gate, 1);
  doomed = tw_troupe_submit (troupe, g_variant_new_int32 (1));
  kept = tw_troupe_submit (troupe, g_variant_new_int32 (2));

  g_assert_cmpint (tw_future_get_state (doomed), ==, TW_FUTURE_STATE_PENDING);
  g_assert_cmpuint (tw_troupe_get_n_queued (troupe), ==, 2);

  /* A queued task settles at once, without a worker. */
  tw_future_cancel (doomed);
  g_assert_cmpint (tw_future_get_state (doomed), ==, TW_FUTURE_STATE_CANCELLED);
  g_assert_cmpuint (tw_troupe_get_n_queued (troupe), ==, 1);
  value = tw_future_wait (doomed, 0, &error);
  g_assert_null (value);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* Cancelling again changes nothing. */
  tw_future_cancel (doomed);
  g_assert_cmpint (tw_future_get_state (doomed), ==, TW_FUTURE_STATE_CANCELLED);

  tw_test_gate_open (&log.gate);
  g_assert_cmpint (tw_test_wait_value_int32 (running), ==, 0);
  g_assert_cmpint (tw_test_wait_value_int32 (kept), ==, 20);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);

  g_assert_cmpint (g_atomic_int_get (&log.calls[0]), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&log.calls[1]), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&log.calls[2]), ==, 1);
  g_assert_cmpuint (tw_troupe_get_n_cancelled (troupe), ==, 1);
  g_assert_cmpuint (tw_troupe_get_n_succeeded (troupe), ==, 2);
  g_assert_cmpuint (tw_troupe_get_n_completed (troupe), ==, 3);

  tw_test_gate_clear (&log.gate);
}

typedef struct
{
  TwTestGate gate;       /* only counts who entered; never opened */
  gint       n_cancelled_at_start;
} PollInfo;

/* Announces itself, then polls its cancellable for up to 30 s. */
static GVariant *
polling_func (GVariant      *input,
              GCancellable  *cancellable,
              gpointer       user_data,
              GError       **error)
{
  PollInfo *info = user_data;
  gint64 end_time = g_get_monotonic_time () + TW_TEST_TIMEOUT_USEC;

  if (g_cancellable_is_cancelled (cancellable))
    g_atomic_int_inc (&info->n_cancelled_at_start);

  if (!g_variant_get_boolean (input))
    return g_variant_new_string ("quick");

  g_mutex_lock (&info->gate.lock);
  info->gate.n_entered++;
  g_cond_broadcast (&info->gate.cond);
  g_mutex_unlock (&info->gate.lock);

  while (!g_cancellable_is_cancelled (cancellable) && g_get_monotonic_time () < end_time)
    g_usleep (500);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  return g_variant_new_string ("never cancelled");
}

static void
test_future_cancel_running (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(TwFuture) next = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  PollInfo info = { 0 };

  tw_test_gate_init (&info.gate);
  troupe = tw_troupe_new_for_func (polling_func, &info, NULL);
  tw_troupe_set_n_workers (troupe, 1);

  future = tw_troupe_submit (troupe, g_variant_new_boolean (TRUE));
  tw_test_gate_wait_entered (&info.gate, 1);
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_RUNNING);

  tw_future_cancel (future);
  error = tw_test_wait_error (future);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_CANCELLED);

  /* The same worker takes the next task with a fresh cancellable. */
  next = tw_troupe_submit (troupe, g_variant_new_boolean (FALSE));
  value = tw_test_wait_value (next);
  g_assert_cmpstr (g_variant_get_string (value, NULL), ==, "quick");
  g_assert_cmpint (g_atomic_int_get (&info.n_cancelled_at_start), ==, 0);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpuint (tw_troupe_get_n_cancelled (troupe), ==, 1);
  g_assert_cmpuint (tw_troupe_get_n_succeeded (troupe), ==, 1);
  tw_test_gate_clear (&info.gate);
}

static void
test_future_cancel_settled (void)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func (tw_test_square_func, NULL, NULL);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(TwFuture) failed = NULL;
  g_autoptr(GError) error = NULL;

  tw_troupe_set_n_workers (troupe, 1);
  future = tw_troupe_submit (troupe, g_variant_new_int64 (12));
  g_assert_cmpint (tw_test_wait_int64 (future), ==, 144);

  tw_future_cancel (future);
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_SUCCEEDED);
  g_assert_cmpint (tw_test_wait_int64 (future), ==, 144);

  failed = tw_future_new_for_error (g_error_new_literal (TW_TEST_ERROR, 3, "three"));
  tw_future_cancel (failed);
  g_assert_cmpint (tw_future_get_state (failed), ==, TW_FUTURE_STATE_FAILED);
  error = tw_test_wait_error (failed);
  g_assert_error (error, TW_TEST_ERROR, 3);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpuint (tw_troupe_get_n_cancelled (troupe), ==, 0);
  g_assert_cmpuint (tw_troupe_get_n_succeeded (troupe), ==, 1);
}

/* Polls its cancellable for up to 2 s, a bound no correct run reaches:
 * a task cancelled before it starts never runs, and one cancelled after
 * has its cancellable triggered. */
static GVariant *
race_func (GVariant      *input,
           GCancellable  *cancellable,
           gpointer       user_data,
           GError       **error)
{
  gint64 end_time = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;

  while (!g_cancellable_is_cancelled (cancellable) && g_get_monotonic_time () < end_time)
    g_thread_yield ();

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  return g_variant_new_string ("the cancel was lost");
}

static void
test_future_cancel_race (void)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func (race_func, NULL, NULL);
  guint n_lost = 0;
  guint i;

  g_test_summary ("A cancel that races with a worker taking the task either removes "
                  "the task or triggers its cancellable; it is never lost");

  /* With one idle worker, the worker takes each task at about the moment
   * the cancel looks at it. */
  tw_troupe_set_n_workers (troupe, 1);

  for (i = 0; i < 300000 && n_lost == 0; i++)
    {
      g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_uint32 (i));
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = NULL;

      tw_future_cancel (future);
      value = tw_future_wait (future, TW_TEST_TIMEOUT_USEC, &error);

      if (value != NULL)
        n_lost++;
      else
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    }

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);

  /* Non-fatal, so the tests after this one still run. */
  if (n_lost > 0)
    g_test_fail_printf ("Task %u was cancelled while pending, yet ran to completion "
                        "without seeing its cancellable triggered", i - 1);
  else
    g_assert_cmpuint (tw_troupe_get_n_cancelled (troupe), ==, i);
}

/* Programmer errors --------------------------------------------------------- */

static void
never_called_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_assert_not_reached ();
}

static void
test_future_programmer_errors (void)
{
  g_autoptr(TwFuture) future = tw_future_new_for_value (g_variant_new_int32 (1));
  TwFuture *null_future;
  GVariant *value;

  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*value != NULL*");
  null_future = tw_future_new_for_value (NULL);
  g_test_assert_expected_messages ();
  g_assert_null (null_future);

  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*error != NULL*");
  null_future = tw_future_new_for_error (NULL);
  g_test_assert_expected_messages ();
  g_assert_null (null_future);

  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*TW_IS_FUTURE*");
  value = tw_future_wait (NULL, 0, NULL);
  g_test_assert_expected_messages ();
  g_assert_null (value);

  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*TW_IS_FUTURE*");
  tw_future_cancel (NULL);
  g_test_assert_expected_messages ();

  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*TW_IS_FUTURE*");
  g_assert_cmpint (tw_future_get_state (NULL), ==, TW_FUTURE_STATE_PENDING);
  g_test_assert_expected_messages ();

  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*G_IS_CANCELLABLE*");
  tw_future_wait_async (future, (GCancellable *)future, never_called_cb, NULL);
  g_test_assert_expected_messages ();

  /* The future is still fine. */
  g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_SUCCEEDED);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/future/value-comes-back-unchanged/int32",
                        make_int32, test_future_round_trip);
  g_test_add_data_func ("/future/value-comes-back-unchanged/int64",
                        make_int64, test_future_round_trip);
  g_test_add_data_func ("/future/value-comes-back-unchanged/uint64",
                        make_uint64, test_future_round_trip);
  g_test_add_data_func ("/future/value-comes-back-unchanged/double",
                        make_double, test_future_round_trip);
  g_test_add_data_func ("/future/value-comes-back-unchanged/string",
                        make_string, test_future_round_trip);
  g_test_add_data_func ("/future/value-comes-back-unchanged/strv",
                        make_strv, test_future_round_trip);
  g_test_add_data_func ("/future/value-comes-back-unchanged/vardict",
                        make_vardict, test_future_round_trip);
  g_test_add_data_func ("/future/value-comes-back-unchanged/tuple",
                        make_tuple, test_future_round_trip);
  g_test_add_data_func ("/future/value-comes-back-unchanged/bytes-1mib",
                        make_bytes, test_future_round_trip);
  g_test_add_func ("/future/value-keeps-its-exact-bits", test_future_round_trip_exact);
  g_test_add_func ("/future/new-for-value-succeeds-at-once", test_future_new_for_value);
  g_test_add_func ("/future/new-for-error-fails-or-cancels-at-once", test_future_new_for_error);
  g_test_add_func ("/future/last-unref-releases-everything",
                   test_future_last_unref_releases_everything);
  g_test_add_func ("/future/wait/times-out-and-leaves-the-task-alone", test_future_wait_timeout);
  g_test_add_func ("/future/wait/wakes-every-sleeping-thread", test_future_wait_many_blocked);
  g_test_add_func ("/future/cancel/queued-task-settles-at-once-and-never-runs",
                   test_future_cancel_queued);
  g_test_add_func ("/future/cancel/running-task-sees-its-cancellable", test_future_cancel_running);
  g_test_add_func ("/future/cancel/settled-future-is-unchanged", test_future_cancel_settled);
  g_test_add_func ("/future/cancel/race-with-a-worker-is-never-lost", test_future_cancel_race);
  g_test_add_func ("/future/programmer-errors-are-criticals", test_future_programmer_errors);

  return g_test_run ();
}
