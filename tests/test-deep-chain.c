/* test-deep-chain.c
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

#include <sys/resource.h>
#include <unistd.h>

#include "tw-test-util.h"

/* Issue 14, item 1: a failed or cancelled input settles its chain one
 * link after another, not by recursion. The program re-executes itself
 * with a 1 MiB stack limit, which glibc also makes the default stack of
 * new threads, so the pool threads that settle have 1 MiB too. */

#define STACK_LIMIT (1024 * 1024)
#define N_LINKS 1000000

/* Calls of the chain's function, in this process: never, as every link
 * fails with its input. */
static gint n_square_calls;

/* Fails with TW_TEST_ERROR 7 once the gate opens. */
static GVariant *
gated_fail_func (GVariant      *input,
                 GCancellable  *cancellable,
                 gpointer       user_data,
                 GError       **error)
{
  tw_test_gate_pass (user_data);
  g_set_error (error, TW_TEST_ERROR, 7, "The head failed");

  return NULL;
}

typedef struct
{
  TwTroupeMode  mode;
  gboolean      cancel;   /* cancel the head while queued, or let it fail */
} DeepCase;

static void
test_deep_chain (gconstpointer data)
{
  const DeepCase *deep = data;
  g_autoptr(TwTroupe) head_troupe = NULL;
  g_autoptr(TwTroupe) chain_troupe = NULL;
  g_autoptr(TwFuture) blocker = NULL;
  g_autoptr(TwFuture) head = NULL;
  g_autoptr(GPtrArray) links = g_ptr_array_new_full (N_LINKS, g_object_unref);
  TwTestGate gate;
  TwFuture *input;

  g_test_summary ("A chain of a million links whose head fails or is cancelled "
                  "settles every link with the head's error, under a 1 MiB stack");

  tw_test_gate_init (&gate);
  head_troupe = tw_troupe_new_for_func (gated_fail_func, &gate, NULL);
  tw_troupe_set_n_workers (head_troupe, 1);
  chain_troupe = tw_troupe_new_for_func_name ("deep-chain-square");
  tw_troupe_set_mode (chain_troupe, deep->mode);

  /* Cancelled: queued behind a task that holds the only worker. */
  if (deep->cancel)
    blocker = tw_troupe_submit (head_troupe, g_variant_new_int32 (0));
  head = tw_troupe_submit (head_troupe, g_variant_new_int32 (1));
  tw_test_gate_wait_entered (&gate, 1);

  input = head;
  for (guint i = 0; i < N_LINKS; i++)
    {
      input = tw_troupe_submit_future (chain_troupe, input);
      g_ptr_array_add (links, input);
    }
  g_assert_cmpint (tw_future_get_state (input), ==, TW_FUTURE_STATE_PENDING);

  if (deep->cancel)
    tw_future_cancel (head);
  tw_test_gate_open (&gate);

  for (guint i = 0; i < N_LINKS; i++)
    {
      g_autoptr(GError) error = tw_test_wait_error (links->pdata[i]);

      if (deep->cancel)
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      else
        {
          g_assert_error (error, TW_TEST_ERROR, 7);
          g_assert_cmpstr (error->message, ==, "The head failed");
        }
    }

  tw_troupe_shutdown (chain_troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (head_troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpuint (deep->cancel ? tw_troupe_get_n_cancelled (chain_troupe)
                                 : tw_troupe_get_n_failed (chain_troupe), ==, N_LINKS);
  g_assert_cmpuint (tw_troupe_get_n_succeeded (chain_troupe), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&n_square_calls), ==, 0);
  tw_test_gate_clear (&gate);
}

/* Re-executes this program with the stack limit, unless it has it. */
static void
limit_stack (char *argv[])
{
  struct rlimit limit;

  g_assert_no_errno (getrlimit (RLIMIT_STACK, &limit));
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur <= STACK_LIMIT)
    return;

  limit.rlim_cur = STACK_LIMIT;
  g_assert_no_errno (setrlimit (RLIMIT_STACK, &limit));
  execv ("/proc/self/exe", argv);
  g_error ("Cannot re-execute with a smaller stack: %s", g_strerror (errno));
}

int
main (int   argc,
      char *argv[])
{
  static const DeepCase cases[] = {
    { TW_TROUPE_MODE_THREAD, FALSE },
    { TW_TROUPE_MODE_THREAD, TRUE },
    { TW_TROUPE_MODE_PROCESS, FALSE },
    { TW_TROUPE_MODE_PROCESS, TRUE },
  };
  static const char * const paths[] = {
    "/chain/million-links-fail-with-the-head-in-1-mib-of-stack/thread",
    "/chain/million-links-cancel-with-the-head-in-1-mib-of-stack/thread",
    "/chain/million-links-fail-with-the-head-in-1-mib-of-stack/process",
    "/chain/million-links-cancel-with-the-head-in-1-mib-of-stack/process",
  };

  tw_register_func ("deep-chain-square", tw_test_square_func, &n_square_calls, NULL);
  tw_init ();

  limit_stack (argv);

  g_test_init (&argc, &argv, NULL);
  g_test_bug_base ("");
  g_test_bug ("14");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_test_add_data_func (paths[i], &cases[i], test_deep_chain);

  return g_test_run ();
}
