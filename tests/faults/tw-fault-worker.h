/* tw-fault-worker.h
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

#include <tiny-worker.h>

G_BEGIN_DECLS

/* The size of the large inputs and outputs of the crash matrix. */
#define TW_FAULT_BIG_SIZE (32 * 1024 * 1024)

/* How long the "fork" grandchild outlives its parent. */
#define TW_FAULT_GRANDCHILD_SECONDS 10

#define TW_FAULT_TYPE_WORKER (tw_fault_worker_get_type ())
G_DECLARE_FINAL_TYPE (TwFaultWorker, tw_fault_worker, TW_FAULT, WORKER, TwWorker)

/* Ends this process by @kind: "abort", "segv", "exit0", "exit42" or
 * "sigkill" (sent by another process). */
G_NORETURN void tw_fault_die      (const char *kind);

/* Registers the worker type and the functions "identity", "wrap", "pid" and
 * "grandchild". Call it before tw_init (). */
void            tw_fault_register (void);

G_END_DECLS
