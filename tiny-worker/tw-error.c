/* tw-error.c
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

#include "tw-error.h"

/**
 * SECTION:tw-error
 * @title: Errors
 * @short_description: The error domain of tiny-worker
 *
 * tiny-worker reports its own failures in the %TW_ERROR domain, with a
 * code from #TwError. Other failures keep their own domain: cancellation
 * is %G_IO_ERROR_CANCELLED, a timed-out wait %G_IO_ERROR_TIMED_OUT, and an
 * error set by a worker reaches the future with its domain, code and
 * message unchanged.
 */

/**
 * tw_error_quark:
 *
 * Gets the quark of the %TW_ERROR domain.
 *
 * Returns: the %TW_ERROR quark
 *
 * Since: 1.0
 */
G_DEFINE_QUARK (tw-error-quark, tw_error)
