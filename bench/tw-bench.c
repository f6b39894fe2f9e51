/* tw-bench.c: the tiny-worker side of the benchmarks (issue 6)
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
 * Runs one case with TwTroupe and prints its result as JSON; the
 * baselines are in glib-bench.c and py-bench.py, and scripts/bench runs
 * them all side by side. Process mode starts this program again as each
 * worker, so main() registers the functions and calls tw_init() first.
 */

#include <tiny-worker.h>

#include "bench-common.h"

#define CASES "thread-throughput thread-latency process-throughput process-map " \
              "process-map-typed process-map-chunk process-latency thread-map thread-map-chunk all " \
              "launched-throughput " \
              "process-startup scaling-thread scaling-process memory chain chain-callbacks " \
              "thread-floor chain-floor thread-values chain-values"

static GVariant *
square (GVariant      *input,
        GCancellable  *cancellable,
        gpointer       user_data,
        GError       **error)
{
  gint64 x = g_variant_get_int64 (input);

  return g_variant_new_int64 (x * x);
}

/* The same squares, a whole chunk (an ax) at a time. */
static GVariant *
square_chunk (GVariant      *inputs,
              GCancellable  *cancellable,
              gpointer       user_data,
              GError       **error)
{
  gsize n;
  const gint64 *numbers = g_variant_get_fixed_array (inputs, &n, sizeof (gint64));
  gint64 *squares = g_new (gint64, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    squares[i] = numbers[i] * numbers[i];

  return g_variant_new_from_data (G_VARIANT_TYPE ("ax"), squares, n * sizeof (gint64),
                                  TRUE, g_free, squares);
}

static GVariant *
halve (GVariant      *input,
       GCancellable  *cancellable,
       gpointer       user_data,
       GError       **error)
{
  return g_variant_new_double (g_variant_get_int64 (input) / 2.0);
}

static GVariant *
spin (GVariant      *input,
      GCancellable  *cancellable,
      gpointer       user_data,
      GError       **error)
{
  return g_variant_new_int64 ((gint64)bench_spin (g_variant_get_int64 (input), 1));
}

/* The memory case keeps every task pending behind a worker that waits
 * for this gate. */
static GMutex gate_lock;
static GCond gate_cond;
static gboolean gate_entered;

static GVariant *
gated_square (GVariant      *input,
              GCancellable  *cancellable,
              gpointer       user_data,
              GError       **error)
{
  g_mutex_lock (&gate_lock);
  gate_entered = TRUE;
  g_cond_broadcast (&gate_cond);
  g_mutex_unlock (&gate_lock);

  /* The process exits while this task still waits. */
  for (;;)
    g_usleep (G_USEC_PER_SEC);

  return square (input, cancellable, user_data, error);
}

/* Or-ed into a mode: start the workers through TW_BENCH_LAUNCHER. */
#define LAUNCHED 0x100

static TwTroupe *
troupe_new (const char   *func_name,
            TwTroupeMode  mode,
            guint         n_workers)
{
  TwTroupe *troupe = tw_troupe_new_for_func_name (func_name);

  /* Issue 8: workers started through the command in TW_BENCH_LAUNCHER,
   * such as "srun --nodes=1 --ntasks=1 --quiet --unbuffered". */
  if (mode & LAUNCHED)
    {
      g_auto(GStrv) launcher = NULL;
      g_autoptr(GError) error = NULL;

      if (g_getenv ("TW_BENCH_LAUNCHER") == NULL ||
          !g_shell_parse_argv (g_getenv ("TW_BENCH_LAUNCHER"), NULL, &launcher, &error))
        g_error ("Set TW_BENCH_LAUNCHER to a launcher command line");
      tw_troupe_set_launcher (troupe, (const char * const *)launcher);
    }

  tw_troupe_set_mode (troupe, mode & ~LAUNCHED);
  tw_troupe_set_n_workers (troupe, n_workers);

  return troupe;
}

static GVariant *
wait_or_die (TwFuture *future)
{
  g_autoptr(GError) error = NULL;
  GVariant *value = tw_future_wait (future, -1, &error);

  if (value == NULL)
    g_error ("A task failed: %s", error->message);

  return value;
}

/* A task's output as a term of the sum a run checks: the int64 square,
 * or twice the double half (exact below 2^53). */
static gint64
output_term (GVariant *output,
             gboolean  halves)
{
  if (halves)
    return (gint64)(2 * g_variant_get_double (output));

  return g_variant_get_int64 (output);
}

/* Stops the clock, checks the sum of the output terms, and reports. */
static void
check_and_report (const BenchOptions *options,
                  gint64              sum,
                  gint64              start,
                  gboolean            halves)
{
  gint64 end = bench_now_ns ();

  bench_check (sum == bench_expected_sum_of_squares (options->n),
               halves ? "sum of halves" : "sum of squares");
  bench_report_per_op (options, start, end);
}

/* Ends a run of the cases that submit N futures: waits for each in order
 * and drops it, then checks and reports. */
static void
finish_run (const BenchOptions  *options,
            TwFuture           **futures,
            gint64               start,
            gboolean             halves)
{
  gint64 sum = 0;

  for (guint64 i = 0; i < options->n; i++)
    {
      GVariant *value = wait_or_die (futures[i]);

      sum += output_term (value, halves);
      g_variant_unref (value);
      g_object_unref (futures[i]);
    }

  check_and_report (options, sum, start, halves);
  g_free (futures);
}

/* Starts the workers (threads or processes) before the clock does. */
static void
warm_up (TwTroupe *troupe,
         guint     n_tasks,
         gint64    input)
{
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < n_tasks; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (input)));

  for (guint i = 0; i < futures->len; i++)
    g_variant_unref (wait_or_die (futures->pdata[i]));
}

/* Cases 1 and 3: submit N tasks, then wait for every future in order. */
static void
run_throughput (const BenchOptions *options,
                TwTroupeMode        mode)
{
  g_autoptr(TwTroupe) troupe = troupe_new ("square", mode, options->workers);
  TwFuture **futures = g_new (TwFuture *, options->n);
  gint64 start;

  warm_up (troupe, 4 * options->workers, 1);

  start = bench_now_ns ();

  for (guint64 i = 0; i < options->n; i++)
    futures[i] = tw_troupe_submit (troupe, g_variant_new_int64 (i));

  finish_run (options, futures, start, FALSE);
}

/* Case 1's floor: only what the API makes per task, on one thread with no
 * pool: the caller's input, the worker's output, a #TwFuture holding it
 * (tw_future_new_for_value(), one g_object_new() like a submit's), then
 * the caller's wait and unrefs. Queues, locks and wake-ups come on top. */
static void
run_thread_floor (const BenchOptions *options)
{
  TwFuture **futures = g_new (TwFuture *, options->n);
  gint64 start;

  start = bench_now_ns ();

  for (guint64 i = 0; i < options->n; i++)
    {
      g_autoptr(GVariant) input = g_variant_ref_sink (g_variant_new_int64 (i));

      futures[i] = tw_future_new_for_value (square (input, NULL, NULL, NULL));
    }

  finish_run (options, futures, start, FALSE);
}

/* Case 8's floor, likewise: per link, the input, the square and its
 * future, the half and its future. */
static void
run_chain_floor (const BenchOptions *options)
{
  TwFuture **futures = g_new (TwFuture *, options->n);
  gint64 start;

  start = bench_now_ns ();

  for (guint64 i = 0; i < options->n; i++)
    {
      g_autoptr(GVariant) input = g_variant_ref_sink (g_variant_new_int64 (i));
      g_autoptr(TwFuture) squared = tw_future_new_for_value (square (input, NULL, NULL, NULL));
      g_autoptr(GVariant) square_value = wait_or_die (squared);

      futures[i] = tw_future_new_for_value (halve (square_value, NULL, NULL, NULL));
    }

  finish_run (options, futures, start, TRUE);
}

/* Below both floors: the values alone, which the API does not choose
 * (they are GVariants) and does not make (the caller and the worker
 * function do): per task the input and its square, or per link the
 * input, its square and the half, kept until the end as pending tasks
 * keep them, on one thread. */
static void
run_values (const BenchOptions *options,
            gboolean            halves)
{
  GVariant **outputs = g_new (GVariant *, options->n);
  gint64 sum = 0;
  gint64 start;

  start = bench_now_ns ();

  for (guint64 i = 0; i < options->n; i++)
    {
      g_autoptr(GVariant) input = g_variant_ref_sink (g_variant_new_int64 (i));

      outputs[i] = g_variant_ref_sink (square (input, NULL, NULL, NULL));
      if (halves)
        {
          g_autoptr(GVariant) squared = outputs[i];

          outputs[i] = g_variant_ref_sink (halve (squared, NULL, NULL, NULL));
        }
    }

  for (guint64 i = 0; i < options->n; i++)
    {
      sum += output_term (outputs[i], halves);
      g_variant_unref (outputs[i]);
    }

  check_and_report (options, sum, start, halves);
  g_free (outputs);
}

/* Case 3, map: the same n inputs as one tw_troupe_map() of an "ax"; the
 * outputs come back as an "av", or with "square-chunk" as @func_name,
 * which squares each chunk in one call, as an "ax". With @output_type,
 * tw_troupe_map_full() gives them as an array of that type, which the
 * caller reads as a C user reads an "ax": g_variant_get_fixed_array(). */
static void
run_map (const BenchOptions *options,
         TwTroupeMode        mode,
         const char         *func_name,
         const GVariantType *output_type)
{
  g_autoptr(TwTroupe) troupe = troupe_new (func_name, mode, options->workers);
  gint64 *numbers = g_new (gint64, options->n);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GVariant) outputs = NULL;
  GVariantIter iter;
  GVariant *boxed;
  GVariant *inputs;
  gint64 sum = 0;
  gint64 start, end;

  for (guint64 i = 0; i < options->n; i++)
    numbers[i] = i;

  warm_up (troupe, 4 * options->workers, 1);

  start = bench_now_ns ();

  inputs = g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, numbers, options->n,
                                      sizeof (gint64));
  if (output_type != NULL)
    future = tw_troupe_map_full (troupe, inputs, output_type);
  else
    future = tw_troupe_map (troupe, inputs);
  outputs = wait_or_die (future);
  bench_check (output_type == NULL || g_variant_is_of_type (outputs, G_VARIANT_TYPE ("ax")),
               "an ax of outputs");

  /* A typed map's squares, or a chunk function's, come back as one ax. */
  if (g_variant_is_of_type (outputs, G_VARIANT_TYPE ("ax")))
    {
      gsize n;
      const gint64 *squares = g_variant_get_fixed_array (outputs, &n, sizeof (gint64));

      for (gsize i = 0; i < n; i++)
        sum += squares[i];
    }
  else
    {
      g_variant_iter_init (&iter, outputs);
      while ((boxed = g_variant_iter_next_value (&iter)) != NULL)
        {
          GVariant *value = g_variant_get_variant (boxed);

          sum += g_variant_get_int64 (value);
          g_variant_unref (value);
          g_variant_unref (boxed);
        }
    }

  end = bench_now_ns ();

  bench_check (g_variant_n_children (outputs) == options->n, "one output per input");
  bench_check (sum == bench_expected_sum_of_squares (options->n), "sum of squares");
  bench_report_per_op (options, start, end);
  g_free (numbers);
}

/* Cases 2 and 4: one task at a time, submit then wait. */
static void
run_latency (const BenchOptions *options,
             TwTroupeMode        mode)
{
  g_autoptr(TwTroupe) troupe = troupe_new ("square", mode, options->workers);
  gint64 sum = 0;
  gint64 start, end;

  warm_up (troupe, 4 * options->workers, 1);

  start = bench_now_ns ();

  for (guint64 i = 0; i < options->n; i++)
    {
      TwFuture *future = tw_troupe_submit (troupe, g_variant_new_int64 (i));
      GVariant *value = wait_or_die (future);

      sum += g_variant_get_int64 (value);
      g_variant_unref (value);
      g_object_unref (future);
    }

  end = bench_now_ns ();

  bench_check (sum == bench_expected_sum_of_squares (options->n), "sum of squares");
  bench_report_per_op (options, start, end);
}

/* Case 5: from nothing to the first result of a new process troupe. The
 * value is the median of the n start-ups; shutting down is not timed. */
static void
run_process_startup (const BenchOptions *options)
{
  gint64 *samples = g_new (gint64, options->n);
  gint64 total = 0;

  for (guint64 i = 0; i < options->n; i++)
    {
      TwTroupe *troupe;
      TwFuture *future;
      GVariant *value;
      gint64 start = bench_now_ns ();

      troupe = troupe_new ("square", TW_TROUPE_MODE_PROCESS, options->workers);
      future = tw_troupe_submit (troupe, g_variant_new_int64 (3));
      value = wait_or_die (future);

      samples[i] = bench_now_ns () - start;
      total += samples[i];

      bench_check (g_variant_get_int64 (value) == 9, "first result");
      g_variant_unref (value);
      g_object_unref (future);
      tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
      g_object_unref (troupe);
    }

  bench_report (options, (double)bench_median (samples, options->n), "ns/op", total / 1e9);
  g_free (samples);
}

/* Case 6: n CPU-bound tasks on 1 or 2 workers; the value is the time. */
static void
run_scaling (const BenchOptions *options,
             TwTroupeMode        mode)
{
  g_autoptr(TwTroupe) troupe = troupe_new ("spin", mode, options->workers);
  TwFuture **futures = g_new (TwFuture *, options->n);
  guint64 expected = bench_spin (options->spin, 1);
  gint64 start, end;

  warm_up (troupe, 4 * options->workers, 0);

  start = bench_now_ns ();

  for (guint64 i = 0; i < options->n; i++)
    futures[i] = tw_troupe_submit (troupe, g_variant_new_int64 (options->spin));

  for (guint64 i = 0; i < options->n; i++)
    {
      GVariant *value = wait_or_die (futures[i]);

      bench_check ((guint64)g_variant_get_int64 (value) == expected, "spin result");
      g_variant_unref (value);
      g_object_unref (futures[i]);
    }

  end = bench_now_ns ();

  bench_report (options, (end - start) / 1e9, "s", (end - start) / 1e9);
  g_free (futures);
}

/* Case 7: resident bytes per pending task. One worker is stuck in its
 * first task, so every task submitted after it stays queued; the array
 * that holds the futures is touched before the first measurement, as it
 * is the caller's and not the troupe's. */
static void
run_memory (const BenchOptions *options)
{
  g_autoptr(TwTroupe) troupe = troupe_new ("gated-square", TW_TROUPE_MODE_THREAD, 1);
  TwFuture **futures = g_new0 (TwFuture *, options->n);
  TwFuture *first;
  gint64 before, after;

  memset (futures, 0xff, options->n * sizeof *futures);

  first = tw_troupe_submit (troupe, g_variant_new_int64 (0));
  g_mutex_lock (&gate_lock);
  while (!gate_entered)
    g_cond_wait (&gate_cond, &gate_lock);
  g_mutex_unlock (&gate_lock);

  before = bench_rss_bytes ();

  for (guint64 i = 0; i < options->n; i++)
    futures[i] = tw_troupe_submit (troupe, g_variant_new_int64 (i));

  after = bench_rss_bytes ();

  bench_check (tw_troupe_get_n_queued (troupe) == options->n, "all tasks pending");
  bench_check (tw_future_get_state (first) == TW_FUTURE_STATE_RUNNING, "gate task running");
  bench_report (options, (double)(after - before) / options->n, "B/task", 0);

  /* The gated worker never returns: leave without joining it. */
  _exit (EXIT_SUCCESS);
}

/* Case 8: square on one troupe, halve on another, chained lazily. */
static void
run_chain (const BenchOptions *options)
{
  g_autoptr(TwTroupe) squarer = troupe_new ("square", TW_TROUPE_MODE_THREAD, options->workers);
  g_autoptr(TwTroupe) halver = troupe_new ("halve", TW_TROUPE_MODE_THREAD, options->workers);
  TwFuture **futures = g_new (TwFuture *, options->n);
  gint64 start;

  warm_up (squarer, 4 * options->workers, 1);
  warm_up (halver, 4 * options->workers, 1);

  start = bench_now_ns ();

  for (guint64 i = 0; i < options->n; i++)
    {
      g_autoptr(TwFuture) squared = tw_troupe_submit (squarer, g_variant_new_int64 (i));

      futures[i] = tw_troupe_submit_future (halver, squared);
    }

  finish_run (options, futures, start, TRUE);
}

typedef struct
{
  TwTroupe  *halver;
  GMainLoop *loop;
  guint64    remaining;
  gint64     sum;        /* of twice the halves, which is exact */
} ChainState;

static void
halved_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  ChainState *state = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = tw_future_wait_finish (TW_FUTURE (object), result, &error);

  if (value == NULL)
    g_error ("A task failed: %s", error->message);

  state->sum += output_term (value, TRUE);
  if (--state->remaining == 0)
    g_main_loop_quit (state->loop);
}

static void
squared_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  ChainState *state = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = tw_future_wait_finish (TW_FUTURE (object), result, &error);
  g_autoptr(TwFuture) halved = NULL;

  if (value == NULL)
    g_error ("A task failed: %s", error->message);

  halved = tw_troupe_submit (state->halver, g_variant_ref (value));
  tw_future_wait_async (halved, NULL, halved_cb, state);
}

/* Case 8, the manual way: the same two troupes, with a result callback
 * in the main loop that submits the second step. */
static void
run_chain_callbacks (const BenchOptions *options)
{
  g_autoptr(TwTroupe) squarer = troupe_new ("square", TW_TROUPE_MODE_THREAD, options->workers);
  g_autoptr(TwTroupe) halver = troupe_new ("halve", TW_TROUPE_MODE_THREAD, options->workers);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  ChainState state = { halver, loop, options->n, 0 };
  gint64 start;

  warm_up (squarer, 4 * options->workers, 1);
  warm_up (halver, 4 * options->workers, 1);

  start = bench_now_ns ();

  for (guint64 i = 0; i < options->n; i++)
    {
      g_autoptr(TwFuture) squared = tw_troupe_submit (squarer, g_variant_new_int64 (i));

      tw_future_wait_async (squared, NULL, squared_cb, &state);
    }

  g_main_loop_run (loop);

  check_and_report (options, state.sum, start, TRUE);
}

/* Issue 7: N tasks gathered by tw_future_allv() into one future, whose
 * tuple is waited for once. The equivalent by hand is the throughput case:
 * wait for each future in turn. */
static void
run_all (const BenchOptions *options)
{
  g_autoptr(TwTroupe) troupe = troupe_new ("square", TW_TROUPE_MODE_THREAD, options->workers);
  TwFuture **futures = g_new (TwFuture *, options->n);
  g_autoptr(TwFuture) all = NULL;
  g_autoptr(GVariant) values = NULL;
  gint64 sum = 0;
  gint64 start, end;

  warm_up (troupe, 4 * options->workers, 1);

  start = bench_now_ns ();

  for (guint64 i = 0; i < options->n; i++)
    futures[i] = tw_troupe_submit (troupe, g_variant_new_int64 (i));

  all = tw_future_allv (futures, options->n);
  values = wait_or_die (all);

  for (gsize i = 0; i < g_variant_n_children (values); i++)
    {
      g_autoptr(GVariant) value = g_variant_get_child_value (values, i);

      sum += g_variant_get_int64 (value);
    }

  for (guint64 i = 0; i < options->n; i++)
    g_object_unref (futures[i]);

  end = bench_now_ns ();

  bench_check (sum == bench_expected_sum_of_squares (options->n), "sum of squares");
  bench_report_per_op (options, start, end);
  g_free (futures);
}

int
main (int   argc,
      char *argv[])
{
  BenchOptions options;

  tw_register_func ("square", square, NULL, NULL);
  tw_register_func ("halve", halve, NULL, NULL);
  tw_register_chunk_func ("square-chunk", square_chunk, NULL, NULL);
  tw_register_func ("spin", spin, NULL, NULL);
  tw_register_func ("gated-square", gated_square, NULL, NULL);
  tw_init ();

  options = bench_parse_options (argc, argv, CASES);

  if (g_str_equal (options.name, "thread-throughput"))
    run_throughput (&options, TW_TROUPE_MODE_THREAD);
  else if (g_str_equal (options.name, "thread-latency"))
    run_latency (&options, TW_TROUPE_MODE_THREAD);
  else if (g_str_equal (options.name, "process-throughput"))
    run_throughput (&options, TW_TROUPE_MODE_PROCESS);
  else if (g_str_equal (options.name, "launched-throughput"))
    run_throughput (&options, TW_TROUPE_MODE_PROCESS | LAUNCHED);
  else if (g_str_equal (options.name, "process-map"))
    run_map (&options, TW_TROUPE_MODE_PROCESS, "square", NULL);
  else if (g_str_equal (options.name, "process-map-typed"))
    run_map (&options, TW_TROUPE_MODE_PROCESS, "square", G_VARIANT_TYPE_INT64);
  else if (g_str_equal (options.name, "process-map-chunk"))
    run_map (&options, TW_TROUPE_MODE_PROCESS, "square-chunk", NULL);
  else if (g_str_equal (options.name, "thread-map"))
    run_map (&options, TW_TROUPE_MODE_THREAD, "square", NULL);
  else if (g_str_equal (options.name, "thread-map-chunk"))
    run_map (&options, TW_TROUPE_MODE_THREAD, "square-chunk", NULL);
  else if (g_str_equal (options.name, "all"))
    run_all (&options);
  else if (g_str_equal (options.name, "process-latency"))
    run_latency (&options, TW_TROUPE_MODE_PROCESS);
  else if (g_str_equal (options.name, "process-startup"))
    run_process_startup (&options);
  else if (g_str_equal (options.name, "scaling-thread"))
    run_scaling (&options, TW_TROUPE_MODE_THREAD);
  else if (g_str_equal (options.name, "scaling-process"))
    run_scaling (&options, TW_TROUPE_MODE_PROCESS);
  else if (g_str_equal (options.name, "memory"))
    run_memory (&options);
  else if (g_str_equal (options.name, "chain"))
    run_chain (&options);
  else if (g_str_equal (options.name, "chain-callbacks"))
    run_chain_callbacks (&options);
  else if (g_str_equal (options.name, "thread-floor"))
    run_thread_floor (&options);
  else if (g_str_equal (options.name, "chain-floor"))
    run_chain_floor (&options);
  else if (g_str_equal (options.name, "thread-values"))
    run_values (&options, FALSE);
  else if (g_str_equal (options.name, "chain-values"))
    run_values (&options, TRUE);
  else
    {
      g_printerr ("Unknown case “%s”; cases: %s\n", options.name, CASES);
      return 2;
    }

  return EXIT_SUCCESS;
}
