/* test-bwrap.c: process-mode workers in a bubblewrap sandbox
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

/*
 * Issue #8, sandboxing: with a `bwrap` launcher each worker sees the
 * filesystem read-only, a private /tmp and no network. A task that tries
 * to write outside or to connect fails with the worker's own error, and
 * the troupe goes on with the next task in the same worker. Each test
 * first shows that the same task succeeds without the sandbox. The tests
 * skip only when bwrap is missing or cannot make a sandbox here (in a
 * container without user namespaces, say), and say why.
 */

#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "tw-test-launch.h"

/* The sandbox of examples/c/sandboxed.c and "Running workers elsewhere",
 * with the build tree bound read-only again over the private /tmp, as
 * the worker program lives there when the tree is under /tmp (as a CI
 * clone may be). */
#define BWRAP_LAUNCHER "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", \
                       "--tmpfs", "/tmp", "--ro-bind", build_root, build_root, \
                       "--unshare-net", "--unshare-pid", "--new-session", \
                       "--die-with-parent", "--"

static char *build_root;

static char *skip_reason;

/* FALSE, with the test skipped, if bwrap cannot make the sandbox here. */
static gboolean
check_bwrap (void)
{
  static gboolean checked;
  const char *argv[] = { BWRAP_LAUNCHER, "true", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *bwrap = NULL;
  g_autofree char *output = NULL;

  if (!checked)
    {
      checked = TRUE;
      bwrap = g_find_program_in_path ("bwrap");
      if (bwrap == NULL)
        skip_reason = g_strdup ("bwrap is not installed (Debian package bubblewrap; "
                                "scripts/deps installs it)");
      else if (!tw_test_launch_run (argv, &output, &error))
        skip_reason = g_strdup_printf ("bwrap cannot make a sandbox here: %s", error->message);
    }

  if (skip_reason != NULL)
    {
      g_printerr ("# skipping: %s\n", skip_reason);
      g_test_skip (skip_reason);
      return FALSE;
    }

  return TRUE;
}

/* A directory outside the sandbox's private /tmp: under the build
 * directory, on the real filesystem. */
static char *
make_outside_dir (void)
{
  g_autofree char *template = g_build_filename (g_test_get_dir (G_TEST_BUILT),
                                                "tw-test-bwrap-XXXXXX", NULL);

  g_assert_nonnull (g_mkdtemp (template));

  return g_steal_pointer (&template);
}

static void
test_bwrap_read_only (void)
{
  const char *launcher[] = { BWRAP_LAUNCHER, NULL };
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) control = NULL;
  g_autoptr(TwFuture) outside = NULL;
  g_autoptr(TwFuture) inside = NULL;
  g_autoptr(TwFuture) again = NULL;
  g_autoptr(GVariant) control_value = NULL;
  g_autoptr(GVariant) inside_value = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) again_error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *target = NULL;

  g_test_summary ("A sandboxed worker that writes outside its sandbox fails that task "
                  "with a read-only file system error, and the troupe goes on");

  if (!check_bwrap ())
    return;

  dir = make_outside_dir ();
  target = g_build_filename (dir, "escaped.txt", NULL);

  /* Without the sandbox, the write works. */
  troupe = tw_test_launch_troupe_new ("write-file", NULL, NULL, 1);
  control = tw_troupe_submit (troupe, g_variant_new_string (target));
  control_value = tw_test_wait_value (control);
  g_assert_true (g_file_test (target, G_FILE_TEST_EXISTS));
  g_assert_cmpint (g_unlink (target), ==, 0);
  g_clear_object (&troupe);

  troupe = tw_test_launch_troupe_new ("write-file", launcher, NULL, 1);
  outside = tw_troupe_submit (troupe, g_variant_new_string (target));
  inside = tw_troupe_submit (troupe, g_variant_new_string ("/tmp/inside.txt"));
  again = tw_troupe_submit (troupe, g_variant_new_string (target));

  error = tw_test_wait_error (outside);
  g_test_message ("outside: %s", error->message);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_READ_ONLY);
  tw_test_assert_contains (error->message, "Read-only file system");
  tw_test_assert_contains (error->message, target);

  /* The same worker goes on: its private /tmp is writable. */
  inside_value = tw_test_wait_value (inside);
  g_assert_true (g_variant_get_boolean (inside_value));

  again_error = tw_test_wait_error (again);
  g_assert_error (again_error, G_IO_ERROR, G_IO_ERROR_READ_ONLY);
  g_assert_cmpuint (tw_troupe_get_n_failed (troupe), ==, 2);
  g_assert_cmpuint (tw_troupe_get_n_succeeded (troupe), ==, 1);
  g_clear_object (&troupe);

  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test ("/tmp/inside.txt", G_FILE_TEST_EXISTS));
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_bwrap_no_network (void)
{
  const char *launcher[] = { BWRAP_LAUNCHER, NULL };
  struct sockaddr_in address = { .sin_family = AF_INET };
  socklen_t length = sizeof address;
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) control = NULL;
  g_autoptr(TwFuture) sandboxed = NULL;
  g_autoptr(GVariant) control_value = NULL;
  g_autoptr(GError) error = NULL;
  int listener;

  g_test_summary ("A sandboxed worker cannot connect to a port that listens on the "
                  "host's loopback");

  if (!check_bwrap ())
    return;

  listener = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (listener, >=, 0);
  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (listener, (struct sockaddr *)&address, sizeof address), ==, 0);
  g_assert_cmpint (listen (listener, 8), ==, 0);
  g_assert_cmpint (getsockname (listener, (struct sockaddr *)&address, &length), ==, 0);

  /* Without the sandbox, the connection is made (the backlog takes it). */
  troupe = tw_test_launch_troupe_new ("connect", NULL, NULL, 1);
  control = tw_troupe_submit (troupe, g_variant_new ("(sq)", "127.0.0.1",
                                                     ntohs (address.sin_port)));
  control_value = tw_test_wait_value (control);
  g_clear_object (&troupe);

  troupe = tw_test_launch_troupe_new ("connect", launcher, NULL, 1);
  sandboxed = tw_troupe_submit (troupe, g_variant_new ("(sq)", "127.0.0.1",
                                                       ntohs (address.sin_port)));
  error = tw_test_wait_error (sandboxed);
  g_test_message ("sandboxed: %s", error->message);
  g_assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ||
                 g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE));
  tw_test_assert_contains (error->message, "Cannot connect to 127.0.0.1");
  g_clear_object (&troupe);

  close (listener);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *tests_dir = NULL;
  int status;

  tw_test_launch_init (&argc, &argv);

  /* G_TEST_BUILDDIR is <build root>/tests/launchers. */
  tests_dir = g_path_get_dirname (g_getenv ("G_TEST_BUILDDIR") ? g_getenv ("G_TEST_BUILDDIR")
                                                                : ".");
  build_root = g_path_get_dirname (tests_dir);

  g_test_add_func ("/launcher/bwrap/sandbox-is-read-only", test_bwrap_read_only);
  g_test_add_func ("/launcher/bwrap/sandbox-has-no-network", test_bwrap_no_network);

  status = g_test_run ();
  g_free (skip_reason);

  return status;
}
