/* tw-troupe-private.h
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

#ifndef TW_COMPILATION
# error "This header is private to tiny-worker."
#endif

#include "tw-pool-private.h"
#include "tw-troupe.h"

G_BEGIN_DECLS

TwPool   *tw_troupe_ensure_pool       (TwTroupe            *self,
                                       GError             **error);
gboolean  tw_registry_lookup          (const char          *name,
                                       TwFunc              *func,
                                       gpointer            *user_data);

/* Process mode, parent side (tw-spawn.c). */
extern const TwPoolRunner tw_process_runner;

typedef struct
{
  const char * const *worker_argv;     /* NULL: run this program again */
  const char * const *launcher;        /* NULL: start workers directly */
  guint               cancel_grace_ms;
  guint64             max_memory;      /* bytes of address space, or 0 */
  guint               max_cpu_time;    /* seconds, or 0 */
} TwProcessOptions;

gpointer  tw_process_config_new       (const TwProcessOptions *options,
                                       GVariant            *hello);
void      tw_process_config_free      (gpointer             config);

/* Process mode, shared (tw-process.c). */
gboolean  tw_process_report_progress  (gdouble              fraction,
                                       const char          *message);
char    **tw_process_dup_default_argv (void);
const char *tw_process_get_initial_cwd (void);

G_END_DECLS
