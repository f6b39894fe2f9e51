/* tw-test-worker.c: the worker program that process-mode tests name in
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

#include "config.h"

#include <stdlib.h>

#include "tw-process-funcs.h"

int
main (int   argc,
      char *argv[])
{
  tw_test_process_register ();

  /* In a worker process this serves tasks and never returns. */
  tw_init ();

  g_printerr ("%s: a tiny-worker worker program for the process-mode tests; "
              "a troupe starts it with TW_WORKER_FDS set\n", argv[0]);

  return 2;
}
