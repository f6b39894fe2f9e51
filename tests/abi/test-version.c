/* test-version.c
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

/* Built as an outside program: <tiny-worker.h> only, linked to the
 * shared library. TW_TEST_PROJECT_VERSION is meson's project version. */

#include <tiny-worker.h>

static void
test_version_runtime (void)
{
  g_autofree char *runtime = NULL;

  g_test_summary ("The library reports the version that meson built, "
                  "the same as the headers'");

  runtime = g_strdup_printf ("%u.%u.%u", tw_get_major_version (),
                             tw_get_minor_version (), tw_get_micro_version ());
  g_assert_cmpstr (runtime, ==, TW_TEST_PROJECT_VERSION);
  g_assert_cmpstr (TW_VERSION_S, ==, TW_TEST_PROJECT_VERSION);
  g_assert_cmpuint (tw_get_major_version (), ==, TW_MAJOR_VERSION);
  g_assert_cmpuint (tw_get_minor_version (), ==, TW_MINOR_VERSION);
  g_assert_cmpuint (tw_get_micro_version (), ==, TW_MICRO_VERSION);
}

static void
test_version_check (void)
{
  guint major = tw_get_major_version ();
  guint minor = tw_get_minor_version ();
  guint micro = tw_get_micro_version ();

  g_assert_null (tw_check_version (major, minor, micro));
  g_assert_null (tw_check_version (major, 0, 0));
  if (micro > 0)
    g_assert_null (tw_check_version (major, minor, micro - 1));
  if (minor > 0)
    g_assert_null (tw_check_version (major, minor - 1, micro + 1));

  g_assert_cmpstr (tw_check_version (major, minor, micro + 1), ==,
                   "tiny-worker version too old (minor or micro mismatch)");
  g_assert_cmpstr (tw_check_version (major, minor + 1, 0), ==,
                   "tiny-worker version too old (minor or micro mismatch)");
  g_assert_cmpstr (tw_check_version (major + 1, 0, 0), ==,
                   "tiny-worker version too old (major mismatch)");
  g_assert_cmpstr (tw_check_version (major - 1, minor, micro), ==,
                   "tiny-worker version too new (major mismatch)");
}

static void
test_version_macros (void)
{
  g_assert_true (TW_CHECK_VERSION (TW_MAJOR_VERSION, TW_MINOR_VERSION, TW_MICRO_VERSION));
  g_assert_true (TW_CHECK_VERSION (1, 0, 0));
  g_assert_false (TW_CHECK_VERSION (TW_MAJOR_VERSION, TW_MINOR_VERSION, TW_MICRO_VERSION + 1));
  g_assert_false (TW_CHECK_VERSION (TW_MAJOR_VERSION + 1, 0, 0));
  g_assert_cmpuint (TW_VERSION_CUR_STABLE, ==,
                    TW_MAJOR_VERSION * 65536 + TW_MINOR_VERSION * 256);
  g_assert_cmpuint (TW_VERSION_1_0, ==, 65536);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/version/runtime-matches-headers", test_version_runtime);
  g_test_add_func ("/version/check-accepts-older-refuses-newer", test_version_check);
  g_test_add_func ("/version/macros-compare-at-compile-time", test_version_macros);

  return g_test_run ();
}
