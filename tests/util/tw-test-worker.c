/* tw-test-worker.c: the worker program that tests name in
 * TwTroupe:worker-argv
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
 * Built twice: as tw-test-worker for the process-mode tests, and as
 * tw-launch-worker for the launcher tests, which start it through srun,
 * ssh, bwrap, env or prlimit and count the processes that run it. Its
 * functions are in tw-test-funcs.c.
 */

#include "config.h"

#include <sys/resource.h>

#include "tw-test-funcs.h"

int
main (int   argc,
      char *argv[])
{
  struct rlimit no_core = { 0, 0 };

  /* Tests kill workers with SIGABRT and SIGXCPU on purpose: that must not
   * leave core dumps, nor wake the system's crash handler. */
  setrlimit (RLIMIT_CORE, &no_core);

  tw_test_funcs_register ();

  /* In a worker process this serves tasks and never returns. */
  tw_init ();

  g_printerr ("%s: a worker program of the tiny-worker tests; a troupe starts it "
              "with TW_WORKER_FDS set\n", argv[0]);

  return 2;
}
