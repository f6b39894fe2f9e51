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

/* In the order of the counter properties. */
typedef enum
{
  TW_TROUPE_COUNTER_QUEUED,
  TW_TROUPE_COUNTER_RUNNING,
  TW_TROUPE_COUNTER_COMPLETED,
  TW_TROUPE_COUNTER_SUCCEEDED,
  TW_TROUPE_COUNTER_FAILED,
  TW_TROUPE_COUNTER_CANCELLED,
  TW_TROUPE_N_COUNTERS
} TwTroupeCounter;

TwPool   *tw_troupe_ensure_pool       (TwTroupe            *self,
                                       GError             **error);
void      tw_troupe_get_config        (TwTroupe            *self,
                                       const char          *name,
                                       GValue              *value);
void      tw_troupe_set_config        (TwTroupe            *self,
                                       const char          *name,
                                       const GValue        *value);
guint     tw_troupe_get_counter       (TwTroupe            *self,
                                       TwTroupeCounter      counter);

G_END_DECLS
