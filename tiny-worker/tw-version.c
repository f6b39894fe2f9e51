/* tw-version.c
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

#include "tw-version-macros.h"

/**
 * tw_get_major_version:
 *
 * Returns the major version of the tiny-worker library the program runs
 * with (1 in 1.2.3). %TW_MAJOR_VERSION is the version of the headers it
 * was compiled against instead.
 *
 * Returns: the major version of the library
 *
 * Since: 1.0
 */
guint
tw_get_major_version (void)
{
  return TW_MAJOR_VERSION;
}

/**
 * tw_get_minor_version:
 *
 * Returns the minor version of the tiny-worker library the program runs
 * with (2 in 1.2.3). %TW_MINOR_VERSION is the version of the headers it
 * was compiled against instead.
 *
 * Returns: the minor version of the library
 *
 * Since: 1.0
 */
guint
tw_get_minor_version (void)
{
  return TW_MINOR_VERSION;
}

/**
 * tw_get_micro_version:
 *
 * Returns the micro version of the tiny-worker library the program runs
 * with (3 in 1.2.3). %TW_MICRO_VERSION is the version of the headers it
 * was compiled against instead.
 *
 * Returns: the micro version of the library
 *
 * Since: 1.0
 */
guint
tw_get_micro_version (void)
{
  return TW_MICRO_VERSION;
}

/**
 * tw_check_version:
 * @required_major: the required major version
 * @required_minor: the required minor version
 * @required_micro: the required micro version
 *
 * Checks that the tiny-worker library the program runs with is
 * compatible with version @required_major.@required_minor.@required_micro:
 * it has the same major version, since a new major version may break the
 * API, and is that version or newer. %TW_CHECK_VERSION checks the headers
 * at compile time instead.
 *
 * Returns: (nullable): %NULL if the library is compatible, else a
 *   statically allocated string saying what does not match, which must
 *   not be modified or freed
 *
 * Since: 1.0
 */
const char *
tw_check_version (guint required_major,
                  guint required_minor,
                  guint required_micro)
{
  if (required_major > TW_MAJOR_VERSION)
    return "tiny-worker version too old (major mismatch)";
  if (required_major < TW_MAJOR_VERSION)
    return "tiny-worker version too new (major mismatch)";
  if (required_minor > TW_MINOR_VERSION ||
      (required_minor == TW_MINOR_VERSION && required_micro > TW_MICRO_VERSION))
    return "tiny-worker version too old (minor or micro mismatch)";

  return NULL;
}
