/* tw-launch-worker.c: the worker program of the launcher tests
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
 * The launcher tests (issue #8) name this program in TwTroupe:worker-argv,
 * and start it through srun, ssh, bwrap, env or prlimit. Its functions,
 * in tw-launch-funcs.c, show where it runs and what it may do there.
 */

#include "config.h"

#include <sys/resource.h>

#include "tw-launch-funcs.h"

int
main (int   argc,
      char *argv[])
{
  struct rlimit no_core = { 0, 0 };

  /* The limit tests kill workers with SIGABRT and SIGXCPU on purpose:
   * that must not leave core dumps, nor wake the system's crash handler. */
  setrlimit (RLIMIT_CORE, &no_core);

  tw_launch_test_register ();

  /* In a worker process this serves tasks and never returns. */
  tw_init ();

  g_printerr ("%s: the worker program of the launcher tests; a troupe starts it "
              "with TW_WORKER_FDS set\n", argv[0]);

  return 2;
}
