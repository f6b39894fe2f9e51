/* tw-error.h
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

/**
 * TW_ERROR:
 *
 * The error domain of tiny-worker's own failures. Errors in this domain
 * carry a code from #TwError.
 *
 * Since: 1.0
 */
#define TW_ERROR (tw_error_quark ())

/**
 * TwError:
 * @TW_ERROR_FAILED: a failure that has no more specific code
 * @TW_ERROR_SHUT_DOWN: the troupe was shut down before the task was submitted
 * @TW_ERROR_WORKER_SETUP: the worker could not be created: its type is not
 *   instantiable or it has no property of a given name, or a given value
 *   does not fit the property
 * @TW_ERROR_INVALID_RESULT: the worker broke its contract: it returned %NULL
 *   without setting an error, or returned a value and also set an error; a
 *   #TwChunkFunc returned an array of the wrong length or type; or an output
 *   of tw_troupe_map_full() is not of the type its caller asked for
 * @TW_ERROR_WORKER_CRASHED: the worker process died while it ran the task
 * @TW_ERROR_UNSERIALIZABLE: the value cannot cross a process boundary
 * @TW_ERROR_PROTOCOL: a worker process sent data that breaks the protocol
 * @TW_ERROR_UNKNOWN_FUNC: no function is registered under the given name
 *
 * Error codes in the %TW_ERROR domain. Codes are never renumbered.
 *
 * Cancellation is reported as %G_IO_ERROR_CANCELLED and a timed-out wait
 * as %G_IO_ERROR_TIMED_OUT, as in GIO; a worker's own #GError reaches the
 * future unchanged.
 *
 * Since: 1.0
 */
typedef enum
{
  TW_ERROR_FAILED,
  TW_ERROR_SHUT_DOWN,
  TW_ERROR_WORKER_SETUP,
  TW_ERROR_INVALID_RESULT,
  TW_ERROR_WORKER_CRASHED,
  TW_ERROR_UNSERIALIZABLE,
  TW_ERROR_PROTOCOL,
  TW_ERROR_UNKNOWN_FUNC,
} TwError;

TW_AVAILABLE_IN_1_0
GQuark tw_error_quark (void);

G_END_DECLS
