/* test-limits.c: per-worker memory and CPU-time limits
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
 * Issue #8, resource limits: TwTroupe:max-memory (RLIMIT_AS) and
 * TwTroupe:max-cpu-time (RLIMIT_CPU) reach every worker, whether the
 * troupe starts it directly (setrlimit in the child) or through a
 * launcher (prlimit on the command line; `env` stands for any launcher
 * here). A worker over a limit fails its task with
 * TW_ERROR_WORKER_CRASHED naming the limit, and the next task gets a new
 * worker.
 */

#include "config.h"

#include "tw-test-launch.h"

#define MAX_MEMORY    G_GUINT64_CONSTANT (536870912)  /* 512 MiB */
#define MAX_CPU_TIME  1

/* How a test starts its workers. */
typedef enum
{
  START_DIRECT,     /* no launcher */
  START_LAUNCHED,   /* through the launcher `env` */
} StartKind;

static const char * const env_launcher[] = { "env", NULL };

static TwTroupe *
new_limited_troupe (const char *func_name,
                    StartKind   kind,
                    guint64     max_memory,
                    guint       max_cpu_time)
{
  TwTroupe *troupe = tw_test_launch_troupe_new (func_name,
                                                kind == START_LAUNCHED ? env_launcher : NULL,
                                                NULL, 1);

  tw_troupe_set_max_memory (troupe, max_memory);
  tw_troupe_set_max_cpu_time (troupe, max_cpu_time);

  return troupe;
}

/* The limits a worker of such a troupe sees. */
static void
assert_worker_limits (StartKind kind,
                      guint64   max_memory,
                      guint     max_cpu_time)
{
  g_autoptr(TwTroupe) troupe = new_limited_troupe ("rlimits", kind, max_memory, max_cpu_time);
  g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_string (""));
  g_autoptr(GVariant) value = tw_test_wait_value (future);
  guint64 as_limit, cpu_limit;

  g_variant_get (value, "(tt)", &as_limit, &cpu_limit);
  g_assert_cmpuint (as_limit, ==, max_memory ? max_memory : G_MAXUINT64);
  g_assert_cmpuint (cpu_limit, ==, max_cpu_time ? max_cpu_time : G_MAXUINT64);
}

static void
test_limits_max_memory (gconstpointer data)
{
  StartKind kind = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) small = NULL;
  g_autoptr(TwFuture) huge = NULL;
  g_autoptr(TwFuture) after = NULL;
  g_autoptr(GVariant) small_value = NULL;
  g_autoptr(GVariant) after_value = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A worker over TwTroupe:max-memory fails its task with an error that "
                  "names the limit, and the next task gets a new worker");

#if defined(__SANITIZE_ADDRESS__)
  /* AddressSanitizer reserves terabytes of shadow memory at start: a
   * worker cannot start under any RLIMIT_AS. */
  g_test_skip ("RLIMIT_AS and AddressSanitizer do not mix");
  return;
#endif

  assert_worker_limits (kind, MAX_MEMORY, 0);

  troupe = new_limited_troupe ("allocate", kind, MAX_MEMORY, 0);
  small = tw_troupe_submit (troupe, g_variant_new_uint64 (1024 * 1024));
  huge = tw_troupe_submit (troupe, g_variant_new_uint64 ((guint64)2 * MAX_MEMORY));
  after = tw_troupe_submit (troupe, g_variant_new_uint64 (1024 * 1024));

  small_value = tw_test_wait_value (small);

  error = tw_test_wait_error (huge);
  g_test_message ("over the limit: %s", error->message);
  g_assert_error (error, TW_ERROR, TW_ERROR_WORKER_CRASHED);
  tw_test_assert_contains (error->message, "max-memory");
  tw_test_assert_contains (error->message, "536870912 bytes");

  after_value = tw_test_wait_value (after);
  g_assert_cmpuint (g_variant_get_uint64 (after_value), ==, 2);
}

static void
test_limits_max_cpu_time (gconstpointer data)
{
  StartKind kind = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) busy = NULL;
  g_autoptr(TwFuture) after = NULL;
  g_autoptr(GVariant) after_value = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start;

  g_test_summary ("A worker over TwTroupe:max-cpu-time fails its task with an error "
                  "that names the limit, and the next task gets a new worker");

  assert_worker_limits (kind, 0, MAX_CPU_TIME);

  troupe = new_limited_troupe ("spin", kind, 0, MAX_CPU_TIME);
  start = g_get_monotonic_time ();
  /* It would spin for 30 s of wall time without the limit. */
  busy = tw_troupe_submit (troupe, g_variant_new_uint32 (30));
  after = tw_troupe_submit (troupe, g_variant_new_uint32 (0));

  error = tw_test_wait_error (busy);
  g_test_message ("over the limit: %s", error->message);
  g_assert_error (error, TW_ERROR, TW_ERROR_WORKER_CRASHED);
  tw_test_assert_contains (error->message, "max-cpu-time");
  tw_test_assert_contains (error->message, "CPU time");
  g_assert_cmpint (g_get_monotonic_time () - start, <, 25 * G_USEC_PER_SEC);

  after_value = tw_test_wait_value (after);
  g_assert_true (g_variant_is_of_type (after_value, G_VARIANT_TYPE_UINT64));
}

int
main (int   argc,
      char *argv[])
{
  tw_test_launch_init (&argc, &argv);

  g_test_add_data_func ("/launcher/limits/max-memory-fails-the-task/direct",
                        GINT_TO_POINTER (START_DIRECT), test_limits_max_memory);
  g_test_add_data_func ("/launcher/limits/max-memory-fails-the-task/launched",
                        GINT_TO_POINTER (START_LAUNCHED), test_limits_max_memory);
  g_test_add_data_func ("/launcher/limits/max-cpu-time-fails-the-task/direct",
                        GINT_TO_POINTER (START_DIRECT), test_limits_max_cpu_time);
  g_test_add_data_func ("/launcher/limits/max-cpu-time-fails-the-task/launched",
                        GINT_TO_POINTER (START_LAUNCHED), test_limits_max_cpu_time);

  return g_test_run ();
}
