/* test-slurm.c: process-mode workers as Slurm job steps
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
 * Issue #8, Slurm: a troupe whose launcher is `srun` runs each worker as a
 * job step of a real single-node cluster, which slurm-cluster.sh starts
 * on localhost (slurmctld, slurmd and munged, all under a temporary
 * directory) and stops at the end. The tests skip only when Slurm or
 * munge is not installed or the cluster cannot start, and say why.
 */

#include "config.h"

#include <unistd.h>

#include "tw-test-launch.h"

static char *cluster_dir;       /* where the cluster lives, made by main() */
static gboolean cluster_started;
static char *skip_reason;       /* why there is no cluster, once tried */

/* Starts the cluster the first time; FALSE, with the test skipped, if
 * it cannot run here. */
static gboolean
ensure_cluster (void)
{
  static const char * const needed[] = { "srun", "sinfo", "slurmctld", "slurmd", "munged", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;
  g_autofree char *owner = NULL;
  const char *script = g_getenv ("TW_SLURM_CLUSTER");

  if (cluster_started)
    return TRUE;

  for (guint i = 0; skip_reason == NULL && needed[i] != NULL; i++)
    {
      g_autofree char *path = tw_test_launch_find_program (needed[i]);

      if (path == NULL)
        skip_reason = g_strdup_printf ("%s is not installed (Debian packages slurm-wlm and "
                                       "munge; scripts/deps installs them)", needed[i]);
    }
  if (skip_reason == NULL && getuid () != 0)
    skip_reason = g_strdup ("a test cluster needs root: slurmd must run as root");
  if (skip_reason == NULL && script == NULL)
    skip_reason = g_strdup ("TW_SLURM_CLUSTER does not name slurm-cluster.sh");

  if (skip_reason == NULL)
    {
      const char *argv[] = { "/bin/sh", script, "start", cluster_dir, NULL, NULL };

      /* If this process dies, the script's watchdog stops the cluster. */
      owner = g_strdup_printf ("%d", (int)getpid ());
      argv[4] = owner;

      /* The script stops what it started if the node does not come up. */
      if (tw_test_launch_run (argv, &output, &error))
        cluster_started = TRUE;
      else
        skip_reason = g_strdup_printf ("the Slurm test cluster did not start: %s",
                                       error->message);
    }

  if (skip_reason != NULL)
    {
      g_printerr ("# skipping: %s\n", skip_reason);
      g_test_skip (skip_reason);
      return FALSE;
    }

  return TRUE;
}

static void
stop_cluster (void)
{
  const char *argv[] = { "/bin/sh", g_getenv ("TW_SLURM_CLUSTER"), "stop", cluster_dir, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;

  if (cluster_started && !tw_test_launch_run (argv, &output, &error))
    g_printerr ("# stopping the Slurm test cluster: %s\n", error->message);
  tw_test_remove_dir (cluster_dir);
  g_clear_pointer (&cluster_dir, g_free);
  g_clear_pointer (&skip_reason, g_free);
}

/* slurmstepd sends a task's stdout on line by line unless srun is given
 * --unbuffered; a worker on its stdout ends every frame with a newline,
 * so both work. --unbuffered saves slurmstepd the line scanning. */
#define SRUN_LAUNCHER "srun", "--nodes=1", "--ntasks=1", "--quiet", "--unbuffered"

static void
test_slurm_square (void)
{
  const char *launcher[] = { SRUN_LAUNCHER, NULL };
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwTroupe) env_troupe = NULL;
  g_autoptr(TwFuture) job_id = NULL;
  g_autoptr(GVariant) job_id_value = NULL;
  g_autofree char *worker = NULL;

  g_test_summary ("With launcher srun, every worker is a Slurm job step and the seed "
                  "example prints the same list");

  if (!ensure_cluster ())
    return;

  /* A copy of its own, so that the test can tell when its workers end. */
  worker = tw_test_launch_copy_worker (cluster_dir);

  troupe = tw_test_launch_troupe_new ("square", launcher, worker, 2);
  tw_test_launch_assert_squares (troupe);
  g_clear_object (&troupe);

  env_troupe = tw_test_launch_troupe_new ("getenv", launcher, worker, 1);
  job_id = tw_troupe_submit (env_troupe, g_variant_new_string ("SLURM_STEP_ID"));
  job_id_value = tw_test_wait_value (job_id);
  g_assert_cmpstr (g_variant_get_string (job_id_value, NULL), !=, "");
  g_clear_object (&env_troupe);

  /* Freeing a troupe ends its job steps. */
  tw_test_assert_no_process (worker);
}

/* The launcher of issue #8, without --unbuffered. */
static void
test_slurm_square_line_buffered (void)
{
  const char *launcher[] = { "srun", "--nodes=1", "--ntasks=1", "--quiet", NULL };
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *worker = NULL;

  g_test_summary ("With launcher srun as issue #8 gives it, without --unbuffered, the seed "
                  "example prints the same list");

  if (!ensure_cluster ())
    return;

  worker = tw_test_launch_copy_worker (cluster_dir);
  troupe = tw_test_launch_troupe_new ("square", launcher, worker, 1);
  tw_troupe_set_cancel_grace_period (troupe, 200);

  future = tw_troupe_submit (troupe, g_variant_new_int64 (3));
  value = tw_future_wait (future, 30 * G_USEC_PER_SEC, &error);

  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 9);

  tw_test_launch_assert_squares (troupe);
  g_clear_object (&troupe);
  tw_test_assert_no_process (worker);
}

/* Issue #15: srun and slurmstepd relay a worker's stdin and stdout in
 * messages of at most 1 KiB over TCP with Nagle's algorithm, and their
 * peer acknowledges only with data or after 40 ms: a message that follows
 * an unacknowledged one waited that long, for every value over 1 KiB and
 * for many pipelined answers. ROUNDS values of 8 KiB each way, one at a
 * time, took 90 ms each; the worker and the troupe now answer what the
 * relay passed on before they wait (TW_WIRE_NOP), which makes it 20 to
 * 40 ms: a message that crosses a NOP still waits. Short pipelined tasks
 * averaged 54 to 300 µs each, and 10 to 20 µs now. */
#define ROUNDS      20
#define N_PIPELINED 4000

static void
test_slurm_no_stall (void)
{
  const char *launcher[] = { SRUN_LAUNCHER, NULL };
  g_autoptr(TwTroupe) troupe = NULL;
  g_autofree char *worker = NULL;
  g_autofree char *big = g_strnfill (8192, 'x');
  g_autofree TwFuture **futures = g_new (TwFuture *, N_PIPELINED);
  g_autoptr(TwFuture) first = NULL;
  g_autoptr(GVariant) first_value = NULL;
  gint64 start;
  gint64 elapsed;

  g_test_summary ("Through srun, values over 1 KiB and pipelined tasks do not wait for "
                  "delayed TCP acknowledgements");
  g_test_bug ("15");

  if (!ensure_cluster ())
    return;

  worker = tw_test_launch_copy_worker (cluster_dir);
  troupe = tw_test_launch_troupe_new ("echo", launcher, worker, 1);
  first = tw_troupe_submit (troupe, g_variant_new_string ("up"));
  first_value = tw_test_wait_value (first);

  start = g_get_monotonic_time ();
  for (guint i = 0; i < ROUNDS; i++)
    {
      g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_string (big));
      g_autoptr(GVariant) value = tw_test_wait_value (future);

      g_assert_cmpstr (g_variant_get_string (value, NULL), ==, big);
    }
  elapsed = g_get_monotonic_time () - start;
  g_test_message ("%u values of 8 KiB each way: %" G_GINT64_FORMAT " ms", ROUNDS, elapsed / 1000);
  g_assert_cmpint (elapsed, <, ROUNDS * 60 * 1000);

  /* Short tasks: on average less than one stall per 400 tasks. */
  start = g_get_monotonic_time ();
  for (guint i = 0; i < N_PIPELINED; i++)
    futures[i] = tw_troupe_submit (troupe, g_variant_new_string ("y"));
  for (guint i = 0; i < N_PIPELINED; i++)
    {
      g_autoptr(GVariant) value = tw_test_wait_value (futures[i]);

      g_assert_cmpstr (g_variant_get_string (value, NULL), ==, "y");
      g_object_unref (futures[i]);
    }
  elapsed = g_get_monotonic_time () - start;
  g_test_message ("%u short tasks: %" G_GINT64_FORMAT " ms", N_PIPELINED, elapsed / 1000);
  g_assert_cmpint (elapsed, <, N_PIPELINED * 100);

  g_clear_object (&troupe);
  tw_test_assert_no_process (worker);
}

static void
test_slurm_refused (void)
{
  const char *launcher[] = { SRUN_LAUNCHER, "--partition=tw-no-such-partition", NULL };
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 start;

  g_test_summary ("When srun refuses the job, every task fails with srun's own words, "
                  "after a bounded number of attempts");

  if (!ensure_cluster ())
    return;

  start = g_get_monotonic_time ();
  troupe = tw_test_launch_troupe_new ("square", launcher, NULL, 1);
  for (gint64 i = 0; i < 6; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));

  for (guint i = 0; i < futures->len; i++)
    {
      g_autoptr(GError) error = tw_test_wait_error (futures->pdata[i]);

      g_test_message ("task %u: %s", i, error->message);
      g_assert_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP);
      tw_test_assert_contains (error->message, "Invalid partition name");
    }

  /* Five attempts with 100 + 200 + 400 + 800 ms between them. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 20 * G_USEC_PER_SEC);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *conf = NULL;
  int status;

  tw_test_launch_init (&argc, &argv);

  /* srun and the job steps find the cluster through SLURM_CONF, set
   * before any thread is, as setenv() is not thread-safe. */
  cluster_dir = tw_test_make_temp_dir ("slurm");
  conf = g_build_filename (cluster_dir, "slurm.conf", NULL);
  g_setenv ("SLURM_CONF", conf, TRUE);

  g_test_add_func ("/launcher/srun/runs-each-worker-as-a-job-step", test_slurm_square);
  g_test_add_func ("/launcher/srun/works-without-unbuffered", test_slurm_square_line_buffered);
  g_test_add_func ("/launcher/srun/refused-job-fails-every-task", test_slurm_refused);
  g_test_add_func ("/launcher/srun/no-stall-on-delayed-acks", test_slurm_no_stall);

  status = g_test_run ();
  stop_cluster ();

  return status;
}
