/* tw-registry-private.h
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

#include "tw-troupe.h"

G_BEGIN_DECLS

gboolean  tw_registry_lookup (const char  *name,
                              TwFunc      *func,
                              TwChunkFunc *chunk_func,
                              gpointer    *user_data);

G_END_DECLS
