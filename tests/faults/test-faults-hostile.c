/* test-faults-hostile.c
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

/*
 * Fault injection (issue #14), part two: worker processes that send
 * hostile frames (tw-hostile-worker), and 16 threads that submit, cancel
 * and wait while the troupe shuts down.
 */

#include "config.h"

#include <string.h>

#include "tw-hostile-worker.h"
#include "tw-test-util.h"

#define N_PIPELINED 8

static const char *hostile_path;

static TwTroupe *
new_hostile_troupe (const char *mode)
{
  const char *argv[] = { hostile_path, mode, NULL };
  TwTroupe *troupe = tw_troupe_new_for_func_name ("identity");

  tw_troupe_set_mode (troupe, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (troupe, 1);
  tw_troupe_set_cancel_grace_period (troupe, 200);
  tw_troupe_set_worker_argv (troupe, argv);

  return troupe;
}

typedef struct
{
  const char *mode;
  int         code;     /* of the trigger's error, or -1 if it succeeds */
  const char *needle;   /* in that error's message */
} HostileCase;

static const HostileCase hostile_cases[] = {
  { "ok", -1, NULL },
  { "truncated", TW_ERROR_WORKER_CRASHED, "status 0" },
  { "oversized", TW_ERROR_PROTOCOL, "over the limit" },
  { "wrong-kind", TW_ERROR_PROTOCOL, "kind 16" },
  { "wrong-id", TW_ERROR_PROTOCOL, "for task" },
  { "extra", -1, NULL },
  { "duplicated", -1, NULL },
  { "forged-cancel", TW_ERROR_FAILED, "g-io-error-quark" },
  { "forged-shutdown", TW_ERROR_FAILED, "tw-error-quark" },
  { "empty-domain", TW_ERROR_FAILED, "no domain" },
};

/* Pipelines N_PIPELINED tasks to a worker that answers one of them badly:
 * that one fails, or succeeds if its own answer was right; every other
 * task succeeds, on this worker or the next. */
static void
test_faults_hostile (gconstpointer data)
{
  const HostileCase *hostile = data;
  g_autoptr(TwTroupe) troupe = new_hostile_troupe (hostile->mode);
  TwFuture *futures[N_PIPELINED];

  g_test_summary ("A worker that breaks the protocol is replaced; only the task it "
                  "answered badly fails, with an error that says what it did");

  for (gint32 i = 0; i < N_PIPELINED; i++)
    futures[i] = tw_troupe_submit (troupe, g_variant_new_int32 (i));

  for (gint32 i = 0; i < N_PIPELINED; i++)
    {
      if (i == TW_HOSTILE_TRIGGER && hostile->code >= 0)
        {
          g_autoptr(GError) error = tw_test_wait_error (futures[i]);

          g_test_message ("%s: %s", hostile->mode, error->message);
          g_assert_error (error, TW_ERROR, hostile->code);
          g_assert_nonnull (strstr (error->message, hostile->needle));
          g_assert_cmpint (tw_future_get_state (futures[i]), ==, TW_FUTURE_STATE_FAILED);
        }
      else
        g_assert_cmpint (tw_test_wait_value_int32 (futures[i]), ==, i);
      g_object_unref (futures[i]);
    }

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

static void
test_faults_new_domains (void)
{
  g_autoptr(TwTroupe) troupe = new_hostile_troupe ("new-domains");
  guint n_kept = 0;

  g_test_summary ("Error domains that workers make up are interned up to a bound, "
                  "then reported as TW_ERROR_FAILED naming them");

  for (gint32 i = 0; i < 200; i++)
    {
      g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_int32 (i));
      g_autoptr(GError) error = tw_test_wait_error (future);

      g_assert_cmpstr (strstr (error->message, "a new domain"), !=, NULL);
      if (error->domain != TW_ERROR)
        n_kept++;
      else
        {
          g_assert_error (error, TW_ERROR, TW_ERROR_FAILED);
          g_assert_nonnull (strstr (error->message, "tw-hostile-domain-"));
        }
    }

  g_test_message ("%u of 200 new domains were interned", n_kept);
  g_assert_cmpuint (n_kept, <=, 64);
  g_assert_cmpuint (n_kept, >, 0);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

#define N_FUZZ 300

static void
test_faults_fuzz (void)
{
  g_autoptr(TwTroupe) troupe = new_hostile_troupe ("fuzz");
  guint n_succeeded = 0;
  guint n_failed = 0;

  g_test_summary ("Hundreds of randomly mutated answers neither crash nor hang the "
                  "application: each task settles once, and its worker is replaced");

  for (gint32 i = 0; i < N_FUZZ; i++)
    {
      g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_int32 (i));
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = tw_future_wait (future, TW_TEST_TIMEOUT_USEC, &error);

      g_assert_true (tw_future_is_done (future));
      if (value != NULL)
        n_succeeded++;
      else
        {
          g_assert_true (error->domain == TW_ERROR);
          g_assert_true (error->code == TW_ERROR_PROTOCOL ||
                         error->code == TW_ERROR_WORKER_CRASHED ||
                         error->code == TW_ERROR_FAILED);
          n_failed++;
        }
    }

  g_test_message ("%d mutated answers: %u tasks succeeded, %u failed", N_FUZZ,
                  n_succeeded, n_failed);
  g_assert_cmpuint (n_succeeded + n_failed, ==, N_FUZZ);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

#define N_THREADS 16
#define N_PER_THREAD 60

typedef struct
{
  TwTroupe  *troupe;
  guint      index;
  GPtrArray *futures;   /* of this thread */
  GArray    *inputs;    /* gint32, one per future */
} Submitter;

/* Submits, cancels every fifth task and waits for every seventh. */
static gpointer
submitter_thread (gpointer data)
{
  Submitter *self = data;

  for (gint32 i = 0; i < N_PER_THREAD; i++)
    {
      gint32 x = self->index * 1000 + i;
      TwFuture *future = tw_troupe_submit (self->troupe, g_variant_new_int32 (x));

      g_ptr_array_add (self->futures, future);
      g_array_append_val (self->inputs, x);
      if (i % 5 == 4)
        tw_future_cancel (future);
      if (i % 7 == 6)
        {
          g_autoptr(GVariant) value = tw_future_wait (future, TW_TEST_TIMEOUT_USEC, NULL);

          g_assert_true (tw_future_is_done (future));
        }
    }

  return NULL;
}

static GVariant *
identity_func (GVariant      *input,
               GCancellable  *cancellable,
               gpointer       user_data,
               GError       **error)
{
  return g_variant_ref (input);
}

/* Checks one settled future; returns its state. */
static TwFutureState
check_settled (TwFuture *future,
               gint32    input)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = tw_future_wait (future, TW_TEST_TIMEOUT_USEC, &error);
  TwFutureState state = tw_future_get_state (future);

  if (state == TW_FUTURE_STATE_SUCCEEDED)
    {
      g_assert_nonnull (value);
      g_assert_cmpint (g_variant_get_int32 (value), ==, input);
    }
  else if (state == TW_FUTURE_STATE_CANCELLED)
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  else
    {
      g_assert_cmpint (state, ==, TW_FUTURE_STATE_FAILED);
      g_assert_error (error, TW_ERROR, TW_ERROR_SHUT_DOWN);
    }

  return state;
}

static void
test_faults_concurrency (gconstpointer data)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func_name ("identity");
  Submitter submitters[N_THREADS];
  GThread *threads[N_THREADS];
  guint counts[TW_FUTURE_STATE_CANCELLED + 1] = { 0, };
  guint n_refused;

  g_test_summary ("16 threads submit, cancel and wait while the troupe shuts down: "
                  "every future settles in exactly one state and the counters add up");

  tw_troupe_set_mode (troupe, GPOINTER_TO_INT (data));
  tw_troupe_set_n_workers (troupe, 4);

  for (guint t = 0; t < N_THREADS; t++)
    {
      submitters[t] = (Submitter) { troupe, t, g_ptr_array_new_with_free_func (g_object_unref),
                                    g_array_new (FALSE, FALSE, sizeof (gint32)) };
      threads[t] = g_thread_new ("submitter", submitter_thread, &submitters[t]);
    }

  /* Mid-way: once a quarter of the tasks settled. */
  while (tw_troupe_get_n_completed (troupe) < N_THREADS * N_PER_THREAD / 4)
    g_usleep (500);
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_CANCEL_PENDING);

  for (guint t = 0; t < N_THREADS; t++)
    {
      g_thread_join (threads[t]);
      for (guint i = 0; i < submitters[t].futures->len; i++)
        counts[check_settled (submitters[t].futures->pdata[i],
                              g_array_index (submitters[t].inputs, gint32, i))]++;
      g_ptr_array_unref (submitters[t].futures);
      g_array_unref (submitters[t].inputs);
    }

  n_refused = counts[TW_FUTURE_STATE_FAILED];
  g_test_message ("%u succeeded, %u cancelled, %u refused after the shutdown; "
                  "counters: %u succeeded, %u failed, %u cancelled",
                  counts[TW_FUTURE_STATE_SUCCEEDED], counts[TW_FUTURE_STATE_CANCELLED],
                  n_refused, tw_troupe_get_n_succeeded (troupe),
                  tw_troupe_get_n_failed (troupe), tw_troupe_get_n_cancelled (troupe));
  g_assert_cmpuint (counts[TW_FUTURE_STATE_PENDING] + counts[TW_FUTURE_STATE_RUNNING], ==, 0);
  g_assert_cmpuint (counts[TW_FUTURE_STATE_SUCCEEDED] + counts[TW_FUTURE_STATE_CANCELLED] +
                    n_refused, ==, N_THREADS * N_PER_THREAD);
  g_assert_cmpuint (tw_troupe_get_n_succeeded (troupe), ==, counts[TW_FUTURE_STATE_SUCCEEDED]);
  g_assert_cmpuint (tw_troupe_get_n_completed (troupe), ==,
                    tw_troupe_get_n_succeeded (troupe) + tw_troupe_get_n_failed (troupe) +
                    tw_troupe_get_n_cancelled (troupe));
}

int
main (int   argc,
      char *argv[])
{
  tw_register_func ("identity", identity_func, NULL, NULL);
  tw_init ();

  g_test_init (&argc, &argv, NULL);
  g_test_bug_base ("https://example.invalid/tiny-worker/issues/");
  g_test_bug ("14");

  hostile_path = g_getenv ("TW_HOSTILE_WORKER");
  g_assert_nonnull (hostile_path);

  for (guint i = 0; i < G_N_ELEMENTS (hostile_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/faults/hostile/%s", hostile_cases[i].mode);

      g_test_add_data_func (path, &hostile_cases[i], test_faults_hostile);
    }
  g_test_add_func ("/faults/hostile/new-domains", test_faults_new_domains);
  g_test_add_func ("/faults/hostile/fuzz", test_faults_fuzz);
  tw_test_add_mode_test ("/faults/concurrency", test_faults_concurrency);

  return g_test_run ();
}
