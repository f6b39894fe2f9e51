/* test-ssh.c: process-mode workers started over ssh
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
 * Issue #8, ssh: a troupe whose launcher is `ssh -T host` runs each worker
 * on that host, here an sshd that this program starts on a random
 * loopback port, with throwaway host and client keys in a temporary
 * directory. The worker program is a copy at another path, as it would be
 * on another machine. The tests skip only when sshd, ssh or ssh-keygen is
 * missing or sshd cannot start, and say why.
 */

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "tw-test-launch.h"

/* Test ssh options: the throwaway known hosts, no questions, no user
 * configuration, and no warnings on stderr, which would fill the tails
 * that errors quote. */
#define SSH_OPTIONS "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", \
                    "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", \
                    "-o", "LogLevel=ERROR"

static char *ssh_dir;           /* keys, configuration and log */
static GSubprocess *sshd;       /* the running sshd, or NULL */
static char *port;              /* its port, as text */
static char *skip_reason;       /* why there is no sshd, once tried */

static gboolean
port_accepts (guint16 number)
{
  struct sockaddr_in address = { .sin_family = AF_INET };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  gboolean accepted;

  address.sin_port = htons (number);
  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  accepted = fd >= 0 && connect (fd, (struct sockaddr *)&address, sizeof address) == 0;
  if (fd >= 0)
    close (fd);

  return accepted;
}

/* sshd must not outlive this program, even if it crashes. */
static void
sshd_child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static gboolean
generate_key (const char  *ssh_keygen,
              const char  *name,
              GError     **error)
{
  g_autofree char *path = g_build_filename (ssh_dir, name, NULL);
  g_autofree char *output = NULL;
  const char *argv[] = { ssh_keygen, "-q", "-t", "ed25519", "-N", "", "-C", name,
                         "-f", path, NULL };

  return tw_test_launch_run (argv, &output, error);
}

/* Writes the configuration of an sshd on 127.0.0.1:@number that takes
 * the keys in @authorized; returns its path. */
static char *
write_sshd_config (guint16      number,
                   const char  *authorized,
                   GError     **error)
{
  g_autofree char *config = NULL;
  g_autofree char *config_path = g_build_filename (ssh_dir, "sshd_config", NULL);

  config = g_strdup_printf ("ListenAddress 127.0.0.1\n"
                            "Port %u\n"
                            "HostKey %s/host_key\n"
                            "AuthorizedKeysFile %s\n"
                            "PidFile %s/sshd.pid\n"
                            "StrictModes no\n"
                            "UsePAM no\n"
                            "PermitRootLogin yes\n"
                            "PubkeyAuthentication yes\n"
                            "PasswordAuthentication no\n"
                            "KbdInteractiveAuthentication no\n"
                            "PrintMotd no\n"
                            "LogLevel VERBOSE\n",
                            number, ssh_dir, authorized, ssh_dir);
  if (!g_file_set_contents (config_path, config, -1, error))
    return NULL;

  return g_steal_pointer (&config_path);
}

static char *
start_sshd (void)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *sshd_path = tw_test_launch_find_program ("sshd");
  g_autofree char *ssh_path = g_find_program_in_path ("ssh");
  g_autofree char *ssh_keygen = g_find_program_in_path ("ssh-keygen");
  g_autofree char *config_path = NULL;
  g_autofree char *public_key = NULL;
  g_autofree char *client_public = NULL;
  g_autofree char *authorized = NULL;
  g_autofree char *log_path = NULL;
  g_autofree char *log = NULL;
  guint16 number;
  gint64 end_time;

  if (sshd_path == NULL || ssh_path == NULL || ssh_keygen == NULL)
    return g_strdup ("sshd, ssh or ssh-keygen is not installed (Debian packages "
                     "openssh-server and openssh-client; scripts/deps installs them)");
  if (getuid () != 0)
    return g_strdup ("the test sshd logs in as the user running the tests, which "
                     "needs root for sshd to switch to it");

  /* sshd's privilege separation directory; Debian makes it at boot. */
  if (g_mkdir_with_parents ("/run/sshd", 0755) != 0)
    return g_strdup_printf ("cannot create /run/sshd: %s", g_strerror (errno));

  if (!generate_key (ssh_keygen, "host_key", &error) ||
      !generate_key (ssh_keygen, "client_key", &error) ||
      !generate_key (ssh_keygen, "wrong_key", &error))
    return g_strdup_printf ("ssh-keygen failed: %s", error->message);

  public_key = g_build_filename (ssh_dir, "client_key.pub", NULL);
  authorized = g_build_filename (ssh_dir, "authorized_keys", NULL);
  if (!g_file_get_contents (public_key, &client_public, NULL, &error) ||
      !g_file_set_contents_full (authorized, client_public, -1, G_FILE_SET_CONTENTS_NONE,
                                 0600, &error))
    return g_strdup_printf ("cannot write authorized_keys: %s", error->message);

  number = tw_test_launch_free_port ();
  port = g_strdup_printf ("%u", number);
  config_path = write_sshd_config (number, authorized, &error);
  if (config_path == NULL)
    return g_strdup_printf ("cannot write sshd_config: %s", error->message);

  log_path = g_build_filename (ssh_dir, "sshd.log", NULL);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  g_subprocess_launcher_set_stderr_file_path (launcher, log_path);
  g_subprocess_launcher_set_stdout_file_path (launcher, log_path);
  g_subprocess_launcher_set_child_setup (launcher, sshd_child_setup, NULL, NULL);
  /* -D: stay in the foreground, our child; -e: log to stderr. */
  sshd = g_subprocess_launcher_spawn (launcher, &error, sshd_path, "-D", "-e",
                                      "-f", config_path, NULL);
  if (sshd == NULL)
    return g_strdup_printf ("sshd did not start: %s", error->message);

  end_time = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end_time)
    {
      if (port_accepts (number))
        return NULL;
      if (g_subprocess_get_identifier (sshd) == NULL)
        break;
      g_usleep (20000);
    }

  g_file_get_contents (log_path, &log, NULL, NULL);

  return g_strdup_printf ("sshd did not accept connections on port %u: %s", number,
                          log ? log : "(no log)");
}

/* Starts sshd the first time; FALSE, with the test skipped, if it cannot
 * run here. */
static gboolean
ensure_sshd (void)
{
  if (sshd == NULL && skip_reason == NULL)
    skip_reason = start_sshd ();

  if (skip_reason != NULL)
    {
      g_printerr ("# skipping: %s\n", skip_reason);
      g_test_skip (skip_reason);
      return FALSE;
    }

  return TRUE;
}

static void
stop_sshd (void)
{
  if (sshd != NULL)
    {
      g_subprocess_send_signal (sshd, SIGTERM);
      g_subprocess_wait (sshd, NULL, NULL);
      g_clear_object (&sshd);
    }
}

/* `ssh -T <options> -i KEY -p PORT 127.0.0.1`, after @prefix. */
static GStrv
ssh_launcher (const char * const *prefix,
              const char         *key_name)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *key = g_build_filename (ssh_dir, key_name, NULL);
  const char *options[] = { "ssh", "-T", SSH_OPTIONS, "-i", key, "-p", port, "127.0.0.1", NULL };

  if (prefix != NULL)
    g_strv_builder_addv (builder, (const char **)prefix);
  g_strv_builder_addv (builder, options);

  return g_strv_builder_end (builder);
}

static void
test_ssh_square (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) exe = NULL;
  g_autoptr(GVariant) exe_value = NULL;
  g_auto(GStrv) launcher = NULL;
  g_autofree char *remote_worker = NULL;

  g_test_summary ("With launcher ssh, workers run on the remote host from the program "
                  "path given in worker-argv, and the seed example prints the same list");

  if (!ensure_sshd ())
    return;

  /* Another path than the parent's copy, as on another machine. */
  remote_worker = tw_test_launch_copy_worker (ssh_dir);
  launcher = ssh_launcher (NULL, "client_key");

  troupe = tw_test_launch_troupe_new ("square", (const char * const *)launcher,
                                      remote_worker, 2);
  tw_test_launch_assert_squares (troupe);
  g_clear_object (&troupe);

  troupe = tw_test_launch_troupe_new ("exe", (const char * const *)launcher, remote_worker, 1);
  exe = tw_troupe_submit (troupe, g_variant_new_string (""));
  exe_value = tw_test_wait_value (exe);
  g_assert_cmpstr (g_variant_get_string (exe_value, NULL), ==, remote_worker);
  g_assert_cmpstr (g_variant_get_string (exe_value, NULL), !=,
                   tw_test_get_worker_path ());
  g_clear_object (&troupe);

  /* Closing the connections ends the remote workers. */
  tw_test_assert_no_process (remote_worker);
}

/* Submits six tasks to a troupe that cannot start its worker; checks that
 * all fail with %TW_ERROR_WORKER_SETUP quoting @expected, within bounded
 * time, and after at most five starts of the launcher, which logs each
 * start as a line in @count_path. */
static void
assert_setup_fails (TwTroupe   *troupe,
                    const char *expected,
                    const char *count_path)
{
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 start = g_get_monotonic_time ();

  for (gint64 i = 0; i < 6; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));

  for (guint i = 0; i < futures->len; i++)
    {
      g_autoptr(GError) error = tw_test_wait_error (futures->pdata[i]);

      g_test_message ("task %u: %s", i, error->message);
      g_assert_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP);
      tw_test_assert_contains (error->message, expected);
    }

  /* Five attempts with 100 + 200 + 400 + 800 ms between them. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 20 * G_USEC_PER_SEC);
  g_assert_cmpuint (tw_test_count_lines (count_path), >=, 1);
  g_assert_cmpuint (tw_test_count_lines (count_path), <=, 5);
}

static void
test_ssh_auth_failure (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_auto(GStrv) launcher = NULL;
  g_autofree char *count_path = NULL;
  const char *counting[] = { "sh", "-c", NULL, "sh", NULL };
  g_autofree char *script = NULL;

  g_test_summary ("A launcher that cannot log in fails every task with ssh's own "
                  "words, and is not started again and again");

  if (!ensure_sshd ())
    return;

  /* A shell in front of ssh counts its starts. */
  count_path = g_build_filename (ssh_dir, "auth-failure.count", NULL);
  script = g_strdup_printf ("echo start >> '%s'; exec \"$@\"", count_path);
  counting[2] = script;
  launcher = ssh_launcher (counting, "wrong_key");

  troupe = tw_test_launch_troupe_new ("square", (const char * const *)launcher, NULL, 1);
  assert_setup_fails (troupe, "Permission denied", count_path);
}

static void
test_ssh_missing_program (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_auto(GStrv) launcher = NULL;
  g_autofree char *count_path = NULL;
  g_autofree char *missing = NULL;
  const char *counting[] = { "sh", "-c", NULL, "sh", NULL };
  g_autofree char *script = NULL;

  g_test_summary ("A worker program missing on the remote host fails every task with "
                  "the remote error");

  if (!ensure_sshd ())
    return;

  count_path = g_build_filename (ssh_dir, "missing.count", NULL);
  script = g_strdup_printf ("echo start >> '%s'; exec \"$@\"", count_path);
  counting[2] = script;
  launcher = ssh_launcher (counting, "client_key");
  missing = g_build_filename (ssh_dir, "no-such-dir", "tw-remote-worker", NULL);

  troupe = tw_test_launch_troupe_new ("square", (const char * const *)launcher, missing, 1);
  assert_setup_fails (troupe, "No such file or directory", count_path);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  tw_test_launch_init (&argc, &argv);
  ssh_dir = tw_test_make_temp_dir ("ssh");

  g_test_add_func ("/launcher/ssh/runs-workers-on-the-remote-host", test_ssh_square);
  g_test_add_func ("/launcher/ssh/login-failure-fails-every-task", test_ssh_auth_failure);
  g_test_add_func ("/launcher/ssh/missing-remote-program-fails-every-task",
                   test_ssh_missing_program);

  status = g_test_run ();

  stop_sshd ();
  tw_test_remove_dir (ssh_dir);
  g_free (ssh_dir);
  g_free (port);
  g_free (skip_reason);

  return status;
}
