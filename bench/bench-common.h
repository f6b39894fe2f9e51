/* bench-common.h: timing, memory and reporting shared by the C benchmarks
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

#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

/*
 * Each benchmark program runs one variant of one case per invocation and
 * prints one JSON object on its last line of standard output; scripts/bench
 * runs the variants of a case side by side, several times, and compares
 * them. Everything a task needs is allocated before the clock starts only
 * when the library's user would also have it already (the inputs' numbers,
 * not their GVariants).
 */

typedef struct
{
  const char *name;
  guint64     n;          /* tasks, round trips or start-ups */
  guint       workers;
  guint64     spin;       /* iterations of bench_spin() per CPU-bound task */
} BenchOptions;

/* Nanoseconds on the monotonic clock. */
static inline gint64
bench_now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);

  return (gint64)ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

/* Resident bytes of this process, from /proc/self/statm. */
static inline gint64
bench_rss_bytes (void)
{
  long size = 0, resident = 0;
  FILE *file = fopen ("/proc/self/statm", "r");

  if (file == NULL || fscanf (file, "%ld %ld", &size, &resident) != 2)
    g_error ("Cannot read /proc/self/statm");
  fclose (file);

  return (gint64)resident * sysconf (_SC_PAGESIZE);
}

/* The CPU-bound task of the scaling case: a chain of dependent
 * multiplications that the compiler cannot shorten or vectorize. */
static inline guint64
bench_spin (guint64 iterations,
            guint64 seed)
{
  guint64 x = seed;

  for (guint64 i = 0; i < iterations; i++)
    x = x * G_GUINT64_CONSTANT (6364136223846793005) + G_GUINT64_CONSTANT (1442695040888963407);

  return x;
}

/* The checksum every throughput variant computes from its results, so
 * that a variant that loses or garbles a result fails instead of
 * winning. */
static inline gint64
bench_expected_sum_of_squares (guint64 n)
{
  gint64 sum = 0;

  for (guint64 i = 0; i < n; i++)
    sum += (gint64)(i * i);

  return sum;
}

static inline void
bench_check (gboolean    ok,
             const char *what)
{
  if (!ok)
    {
      g_printerr ("benchmark self-check failed: %s\n", what);
      exit (EXIT_FAILURE);
    }
}

/* Prints the result line. @value is the metric in @unit; @seconds the
 * wall time measured around the n operations. */
static inline void
bench_report (const BenchOptions *options,
              double              value,
              const char         *unit,
              double              seconds)
{
  printf ("{\"case\": \"%s\", \"n\": %" G_GUINT64_FORMAT ", \"workers\": %u, "
          "\"value\": %.6g, \"unit\": \"%s\", \"seconds\": %.6f}\n",
          options->name, options->n, options->workers, value, unit, seconds);
  fflush (stdout);
}

static inline void
bench_report_per_op (const BenchOptions *options,
                     gint64              start_ns,
                     gint64              end_ns)
{
  double elapsed = (double)(end_ns - start_ns);

  bench_report (options, elapsed / (double)options->n, "ns/op", elapsed / 1e9);
}

static inline int
bench_compare_gint64 (gconstpointer a,
                      gconstpointer b)
{
  gint64 x = *(const gint64 *)a;
  gint64 y = *(const gint64 *)b;

  return (x > y) - (x < y);
}

/* The median of @n samples, reordering them. */
static inline gint64
bench_median (gint64 *samples,
              guint   n)
{
  qsort (samples, n, sizeof *samples, bench_compare_gint64);

  return n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

/* Parses "CASE [--n=N] [--workers=W] [--spin=I]"; exits on bad usage. */
static inline BenchOptions
bench_parse_options (int          argc,
                     char       **argv,
                     const char  *cases)
{
  BenchOptions options = { NULL, 1000, 2, 0 };

  if (argc < 2)
    {
      g_printerr ("Usage: %s CASE [--n=N] [--workers=W] [--spin=ITERATIONS]\n"
                  "Cases: %s\n", argv[0], cases);
      exit (2);
    }

  options.name = argv[1];

  for (int i = 2; i < argc; i++)
    {
      const char *arg = argv[i];
      guint64 value;

      if (g_str_has_prefix (arg, "--n=") &&
          g_ascii_string_to_unsigned (arg + 4, 10, 1, G_MAXUINT32, &value, NULL))
        options.n = value;
      else if (g_str_has_prefix (arg, "--workers=") &&
               g_ascii_string_to_unsigned (arg + 10, 10, 1, 64, &value, NULL))
        options.workers = value;
      else if (g_str_has_prefix (arg, "--spin=") &&
               g_ascii_string_to_unsigned (arg + 7, 10, 0, G_MAXUINT64, &value, NULL))
        options.spin = value;
      else
        {
          g_printerr ("%s: bad argument “%s”\n", argv[0], arg);
          exit (2);
        }
    }

  return options;
}
