/* tw-process.h
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

#if !defined(TW_INSIDE) && !defined(TW_COMPILATION)
# error "Only <tiny-worker.h> can be included directly."
#endif

#include <glib.h>

#include "tw-version-macros.h"

G_BEGIN_DECLS

TW_AVAILABLE_IN_1_0
void     tw_init                (void);
TW_AVAILABLE_IN_1_0
gboolean tw_is_worker_process   (void);
TW_AVAILABLE_IN_1_0
int      tw_process_main (void);

G_END_DECLS
