/* tw-troupe-props.c
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

#include "tw-enums.h"
#include "tw-troupe-private.h"

/*
 * The typed accessors of TwTroupe's properties. The configuration goes
 * through the troupe's one guarded setter (see tw_troupe_set_config()),
 * which freezes it at the first submit.
 */

static guint
tw_troupe_get_config_uint (TwTroupe   *self,
                           const char *name)
{
  g_auto(GValue) value = G_VALUE_INIT;

  tw_troupe_get_config (self, name, &value);

  return g_value_get_uint (&value);
}

static void
tw_troupe_set_config_uint (TwTroupe   *self,
                           const char *name,
                           guint       number)
{
  g_auto(GValue) value = G_VALUE_INIT;

  g_value_init (&value, G_TYPE_UINT);
  g_value_set_uint (&value, number);
  tw_troupe_set_config (self, name, &value);
}

/**
 * tw_troupe_get_mode:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:mode.
 *
 * Returns: where the workers run
 *
 * Since: 1.0
 */
TwTroupeMode
tw_troupe_get_mode (TwTroupe *self)
{
  g_auto(GValue) value = G_VALUE_INIT;

  g_return_val_if_fail (TW_IS_TROUPE (self), TW_TROUPE_MODE_THREAD);

  tw_troupe_get_config (self, "mode", &value);

  return g_value_get_enum (&value);
}

/**
 * tw_troupe_set_mode:
 * @self: a #TwTroupe
 * @mode: where the workers run
 *
 * Sets #TwTroupe:mode. Only before the first submit.
 *
 * Since: 1.0
 */
void
tw_troupe_set_mode (TwTroupe     *self,
                    TwTroupeMode  mode)
{
  g_auto(GValue) value = G_VALUE_INIT;

  g_return_if_fail (TW_IS_TROUPE (self));
  g_return_if_fail (mode == TW_TROUPE_MODE_THREAD || mode == TW_TROUPE_MODE_PROCESS);

  g_value_init (&value, TW_TYPE_TROUPE_MODE);
  g_value_set_enum (&value, mode);
  tw_troupe_set_config (self, "mode", &value);
}

/**
 * tw_troupe_get_n_workers:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:n-workers.
 *
 * Returns: how many workers the troupe runs
 *
 * Since: 1.0
 */
guint
tw_troupe_get_n_workers (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_config_uint (self, "n-workers");
}

/**
 * tw_troupe_set_n_workers:
 * @self: a #TwTroupe
 * @n_workers: how many workers to run, or 0 for the number of processors
 *
 * Sets #TwTroupe:n-workers. Only before the first submit.
 *
 * Since: 1.0
 */
void
tw_troupe_set_n_workers (TwTroupe *self,
                         guint     n_workers)
{
  g_return_if_fail (TW_IS_TROUPE (self));

  tw_troupe_set_config_uint (self, "n-workers", n_workers);
}

/**
 * tw_troupe_dup_worker_argv:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:worker-argv.
 *
 * Returns: (transfer full) (nullable) (array zero-terminated=1): the
 *   worker program's command line, or %NULL for the current program
 *
 * Since: 1.0
 */
char **
tw_troupe_dup_worker_argv (TwTroupe *self)
{
  g_auto(GValue) value = G_VALUE_INIT;

  g_return_val_if_fail (TW_IS_TROUPE (self), NULL);

  tw_troupe_get_config (self, "worker-argv", &value);

  return g_value_dup_boxed (&value);
}

/**
 * tw_troupe_set_worker_argv:
 * @self: a #TwTroupe
 * @argv: (nullable) (array zero-terminated=1): the worker program's
 *   command line, or %NULL for the current program
 *
 * Sets #TwTroupe:worker-argv. Only before the first submit.
 *
 * Since: 1.0
 */
void
tw_troupe_set_worker_argv (TwTroupe           *self,
                           const char * const *argv)
{
  g_auto(GValue) value = G_VALUE_INIT;

  g_return_if_fail (TW_IS_TROUPE (self));
  g_return_if_fail (argv == NULL || argv[0] != NULL);

  g_value_init (&value, G_TYPE_STRV);
  g_value_set_boxed (&value, argv);
  tw_troupe_set_config (self, "worker-argv", &value);
}

/**
 * tw_troupe_dup_launcher:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:launcher.
 *
 * Returns: (transfer full) (nullable) (array zero-terminated=1): the
 *   command prefix that starts workers, or %NULL
 *
 * Since: 1.0
 */
char **
tw_troupe_dup_launcher (TwTroupe *self)
{
  g_auto(GValue) value = G_VALUE_INIT;

  g_return_val_if_fail (TW_IS_TROUPE (self), NULL);

  tw_troupe_get_config (self, "launcher", &value);

  return g_value_dup_boxed (&value);
}

/**
 * tw_troupe_set_launcher:
 * @self: a #TwTroupe
 * @launcher: (nullable) (array zero-terminated=1): a command prefix that
 *   starts workers, such as `{ "ssh", "-T", "host", NULL }`, or %NULL
 *
 * Sets #TwTroupe:launcher. Only before the first submit.
 *
 * Since: 1.0
 */
void
tw_troupe_set_launcher (TwTroupe           *self,
                        const char * const *launcher)
{
  g_auto(GValue) value = G_VALUE_INIT;

  g_return_if_fail (TW_IS_TROUPE (self));
  g_return_if_fail (launcher == NULL || launcher[0] != NULL);

  g_value_init (&value, G_TYPE_STRV);
  g_value_set_boxed (&value, launcher);
  tw_troupe_set_config (self, "launcher", &value);
}

/**
 * tw_troupe_get_max_memory:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:max-memory.
 *
 * Returns: the address space limit of a worker process in bytes, or 0
 *
 * Since: 1.0
 */
guint64
tw_troupe_get_max_memory (TwTroupe *self)
{
  g_auto(GValue) value = G_VALUE_INIT;

  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  tw_troupe_get_config (self, "max-memory", &value);

  return g_value_get_uint64 (&value);
}

/**
 * tw_troupe_set_max_memory:
 * @self: a #TwTroupe
 * @max_memory: the address space limit of a worker process in bytes, or 0
 *
 * Sets #TwTroupe:max-memory. Only before the first submit.
 *
 * Since: 1.0
 */
void
tw_troupe_set_max_memory (TwTroupe *self,
                          guint64   max_memory)
{
  g_auto(GValue) value = G_VALUE_INIT;

  g_return_if_fail (TW_IS_TROUPE (self));

  g_value_init (&value, G_TYPE_UINT64);
  g_value_set_uint64 (&value, max_memory);
  tw_troupe_set_config (self, "max-memory", &value);
}

/**
 * tw_troupe_get_max_cpu_time:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:max-cpu-time.
 *
 * Returns: the CPU time limit of a worker process in seconds, or 0
 *
 * Since: 1.0
 */
guint
tw_troupe_get_max_cpu_time (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_config_uint (self, "max-cpu-time");
}

/**
 * tw_troupe_set_max_cpu_time:
 * @self: a #TwTroupe
 * @seconds: the CPU time limit of a worker process in seconds, or 0
 *
 * Sets #TwTroupe:max-cpu-time. Only before the first submit.
 *
 * Since: 1.0
 */
void
tw_troupe_set_max_cpu_time (TwTroupe *self,
                            guint     seconds)
{
  g_return_if_fail (TW_IS_TROUPE (self));

  tw_troupe_set_config_uint (self, "max-cpu-time", seconds);
}

/**
 * tw_troupe_get_cancel_grace_period:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:cancel-grace-period.
 *
 * Returns: the grace period in milliseconds
 *
 * Since: 1.0
 */
guint
tw_troupe_get_cancel_grace_period (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_config_uint (self, "cancel-grace-period");
}

/**
 * tw_troupe_set_cancel_grace_period:
 * @self: a #TwTroupe
 * @grace_ms: the grace period in milliseconds
 *
 * Sets #TwTroupe:cancel-grace-period. Only before the first submit.
 *
 * Since: 1.0
 */
void
tw_troupe_set_cancel_grace_period (TwTroupe *self,
                                   guint     grace_ms)
{
  g_return_if_fail (TW_IS_TROUPE (self));
  g_return_if_fail (grace_ms <= G_MAXINT);

  tw_troupe_set_config_uint (self, "cancel-grace-period", grace_ms);
}

/**
 * tw_troupe_get_max_queued:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:max-queued.
 *
 * Returns: the bound on queued tasks, or 0 for none
 *
 * Since: 1.0
 */
guint
tw_troupe_get_max_queued (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_config_uint (self, "max-queued");
}

/**
 * tw_troupe_set_max_queued:
 * @self: a #TwTroupe
 * @max_queued: the bound on queued tasks, or 0 for none
 *
 * Sets #TwTroupe:max-queued. A larger bound lets waiting submits in.
 *
 * Since: 1.0
 */
void
tw_troupe_set_max_queued (TwTroupe *self,
                          guint     max_queued)
{
  g_return_if_fail (TW_IS_TROUPE (self));

  tw_troupe_set_config_uint (self, "max-queued", max_queued);
}

/**
 * tw_troupe_get_task_timeout:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:task-timeout.
 *
 * Returns: the timeout of a task in milliseconds, or 0 for none
 *
 * Since: 1.0
 */
guint
tw_troupe_get_task_timeout (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_config_uint (self, "task-timeout");
}

/**
 * tw_troupe_set_task_timeout:
 * @self: a #TwTroupe
 * @timeout_ms: the timeout of a task in milliseconds, or 0 for none
 *
 * Sets #TwTroupe:task-timeout. Only before the first submit.
 *
 * Since: 1.0
 */
void
tw_troupe_set_task_timeout (TwTroupe *self,
                            guint     timeout_ms)
{
  g_return_if_fail (TW_IS_TROUPE (self));

  tw_troupe_set_config_uint (self, "task-timeout", timeout_ms);
}

/**
 * tw_troupe_get_max_retries:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:max-retries.
 *
 * Returns: how many more times a failed task is run
 *
 * Since: 1.0
 */
guint
tw_troupe_get_max_retries (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_config_uint (self, "max-retries");
}

/**
 * tw_troupe_set_max_retries:
 * @self: a #TwTroupe
 * @max_retries: how many more times a failed task is run
 *
 * Sets #TwTroupe:max-retries. Only before the first submit.
 *
 * Since: 1.0
 */
void
tw_troupe_set_max_retries (TwTroupe *self,
                           guint     max_retries)
{
  g_return_if_fail (TW_IS_TROUPE (self));

  tw_troupe_set_config_uint (self, "max-retries", max_retries);
}

/**
 * tw_troupe_get_n_queued:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:n-queued.
 *
 * Returns: how many tasks wait for a worker
 *
 * Since: 1.0
 */
guint
tw_troupe_get_n_queued (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_counter (self, TW_TROUPE_COUNTER_QUEUED);
}

/**
 * tw_troupe_get_n_running:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:n-running.
 *
 * Returns: how many tasks are running
 *
 * Since: 1.0
 */
guint
tw_troupe_get_n_running (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_counter (self, TW_TROUPE_COUNTER_RUNNING);
}

/**
 * tw_troupe_get_n_completed:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:n-completed.
 *
 * Returns: how many tasks have settled
 *
 * Since: 1.0
 */
guint
tw_troupe_get_n_completed (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_counter (self, TW_TROUPE_COUNTER_COMPLETED);
}

/**
 * tw_troupe_get_n_succeeded:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:n-succeeded.
 *
 * Returns: how many tasks have succeeded
 *
 * Since: 1.0
 */
guint
tw_troupe_get_n_succeeded (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_counter (self, TW_TROUPE_COUNTER_SUCCEEDED);
}

/**
 * tw_troupe_get_n_failed:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:n-failed.
 *
 * Returns: how many tasks have failed
 *
 * Since: 1.0
 */
guint
tw_troupe_get_n_failed (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_counter (self, TW_TROUPE_COUNTER_FAILED);
}

/**
 * tw_troupe_get_n_cancelled:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:n-cancelled.
 *
 * Returns: how many tasks have been cancelled
 *
 * Since: 1.0
 */
guint
tw_troupe_get_n_cancelled (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_counter (self, TW_TROUPE_COUNTER_CANCELLED);
}
