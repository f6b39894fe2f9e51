/* tw-worker-private.h
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

#include "tw-worker.h"

G_BEGIN_DECLS

/* A worker type with its construct properties, checked and converted to
 * GValues once, then instantiated by every worker thread. Read-only. */
typedef struct _TwWorkerSpec TwWorkerSpec;

TwWorkerSpec *tw_worker_spec_new         (GType                worker_type,
                                          GVariant            *properties,
                                          GError             **error);
void          tw_worker_spec_free        (TwWorkerSpec        *spec);
TwWorker     *tw_worker_spec_instantiate (const TwWorkerSpec  *spec,
                                          GCancellable        *cancellable,
                                          GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TwWorkerSpec, tw_worker_spec_free)

G_END_DECLS
