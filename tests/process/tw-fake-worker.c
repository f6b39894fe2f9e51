/* tw-fake-worker.c: a worker program that breaks the protocol on purpose
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
 * This program does not link tiny-worker: it speaks the protocol as raw
 * bytes on the fds named by TW_WORKER_FDS, as a hostile or broken worker
 * program would, so that the tests see what the troupe does with it. It
 * writes frames from the protocol description (a little-endian guint32
 * length, then a "(utv)" GVariant in normal form), not from the library's
 * code, so a change of the wire format shows up here as a test failure.
 * Only the frame kinds and the version come from the library's private
 * header, so that they cannot fall behind the library's.
 *
 * Usage: tw-fake-worker MODE [STATE-FILE]; see answer_hello() and
 * answer_task() for the modes. Modes ending in "-hello" misbehave in
 * answer to HELLO; the others answer HELLO with a correct READY and
 * misbehave in answer to the first TASK ("ok" never does). It leaves with
 * _exit(), as a crash would, without cleaning up.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "tw-wire-private.h"

static int in_fd = -1;
static int out_fd = -1;

static void
die (const char *what)
{
  fprintf (stderr, "tw-fake-worker: %s: %s\n", what, g_strerror (errno));
  _exit (99);
}

static void
write_all (const void *data,
           gsize       size)
{
  const guint8 *p = data;

  while (size > 0)
    {
      gssize n = write (out_fd, p, size);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        die ("write");
      p += n;
      size -= n;
    }
}

static gboolean
read_all (void  *data,
          gsize  size)
{
  guint8 *p = data;

  while (size > 0)
    {
      gssize n = read (in_fd, p, size);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        die ("read");
      if (n == 0)
        return FALSE;
      p += n;
      size -= n;
    }

  return TRUE;
}

static void
write_length (guint32 length)
{
  guint32 le = GUINT32_TO_LE (length);

  write_all (&le, 4);
}

/* Returns the serialized frame; a floating @payload is sunk. */
static GBytes *
frame_bytes (guint32   kind,
             guint64   id,
             GVariant *payload)
{
  g_autoptr(GVariant) frame = g_variant_ref_sink (g_variant_new ("(ut@v)", kind, id,
                                                                 g_variant_new_variant (payload)));

  return g_variant_get_data_as_bytes (frame);
}

static void
write_frame_bytes (GBytes *bytes)
{
  write_length (g_bytes_get_size (bytes));
  write_all (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

static void
write_frame (guint32   kind,
             guint64   id,
             GVariant *payload)
{
  g_autoptr(GBytes) bytes = frame_bytes (kind, id, payload);

  write_frame_bytes (bytes);
}

/* Reads one frame; FALSE at end of file. */
static gboolean
read_frame (guint32   *kind,
            guint64   *id,
            GVariant **payload)
{
  g_autoptr(GVariant) frame = NULL;
  guint32 length;
  guint8 *data;

  if (!read_all (&length, 4))
    return FALSE;
  length = GUINT32_FROM_LE (length);
  if (length > 64 * 1024 * 1024)
    {
      fprintf (stderr, "tw-fake-worker: the troupe sent a frame of %u bytes\n", length);
      _exit (98);
    }

  data = g_malloc (length);
  if (!read_all (data, length))
    {
      g_free (data);
      return FALSE;
    }

  frame = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE ("(utv)"), data, length,
                                                       FALSE, g_free, data));
  if (!g_variant_is_normal_form (frame))
    {
      fprintf (stderr, "tw-fake-worker: the troupe sent a frame not in normal form\n");
      _exit (98);
    }

  g_variant_get (frame, "(utv)", kind, id, payload);

  return TRUE;
}

/* Stays alive, holding the pipes open, until killed (or a minute). */
static void G_GNUC_NORETURN
hang (void)
{
  for (guint i = 0; i < 600; i++)
    g_usleep (G_USEC_PER_SEC / 10);

  _exit (97);
}

static void
write_garbage (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (4);
  g_autoptr(GVariant) check = NULL;
  guint8 body[64];

  for (guint i = 0; i < sizeof body; i++)
    body[i] = g_rand_int_range (rand, 0, 256);

  /* A plausible length, and a body that is no (utv) in normal form. */
  check = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE ("(utv)"), body,
                                                       sizeof body, FALSE, NULL, NULL));
  g_assert_false (g_variant_is_normal_form (check));

  write_length (sizeof body);
  write_all (body, sizeof body);
}

static void
write_garbage_text (void)
{
  static const char text[] = "This is not a frame, just a worker that talks nonsense.\n";

  for (guint i = 0; i < 64; i++)
    write_all (text, sizeof text - 1);
}

static void
write_oversized (void)
{
  static const guint8 some[16] = { 0, };

  write_length (0xFFFFFFF0u);
  write_all (some, sizeof some);
}

/* A RESULT for @id whose padding byte is not zero: the right type, but
 * not in normal form. */
static void
write_not_normal (guint64 id)
{
  g_autoptr(GBytes) bytes = frame_bytes (TW_WIRE_RESULT, id, g_variant_new_int32 (7));
  g_autoptr(GVariant) check = NULL;
  gsize size;
  guint8 *data = g_bytes_unref_to_data (g_steal_pointer (&bytes), &size);

  /* (u t v): u at 0, 4 bytes of padding, t at 8. */
  g_assert_cmpuint (size, >, 8);
  g_assert_cmpuint (data[4], ==, 0);
  data[4] = 0xAA;

  check = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE ("(utv)"), data, size,
                                                       FALSE, NULL, NULL));
  g_assert_false (g_variant_is_normal_form (check));

  write_length (size);
  write_all (data, size);
  g_free (data);
}

static void
write_half_frame (void)
{
  static const guint8 some[10] = { 0, };

  write_length (100);
  write_all (some, sizeof some);
}

static void
close_pipes (void)
{
  close (in_fd);
  close (out_fd);
}

static void
write_ready (guint32 version)
{
  write_frame (TW_WIRE_READY, 0, g_variant_new ("(ut)", version, (guint64)getpid ()));
}

/* Misbehaves in answer to HELLO, for the modes ending in "-hello". */
static void G_GNUC_NORETURN
answer_hello (const char *mode)
{
  if (g_str_equal (mode, "garbage-hello"))
    write_garbage ();
  else if (g_str_equal (mode, "garbage-text-hello"))
    write_garbage_text ();
  else if (g_str_equal (mode, "oversized-hello"))
    write_oversized ();
  else if (g_str_equal (mode, "not-normal-hello"))
    write_not_normal (0);
  else if (g_str_equal (mode, "wrong-version-hello"))
    write_ready (TW_WIRE_VERSION + 1000);
  else if (g_str_equal (mode, "wrong-type-hello"))
    write_frame (TW_WIRE_READY, 0, g_variant_new_string ("ready, sort of"));
  else if (g_str_equal (mode, "wrong-kind-hello"))
    write_frame (TW_WIRE_RESULT, 0, g_variant_new_int64 (1));
  else if (g_str_equal (mode, "setup-failed-version-hello"))
    write_frame (TW_WIRE_SETUP_FAILED, 0,
                 g_variant_new ("(sis)", "tw-error-quark", 6,
                                "The troupe speaks protocol version 1, but this worker "
                                "program speaks version 1001"));
  else if (g_str_equal (mode, "close-hello"))
    {
      close_pipes ();
      _exit (0);
    }
  else if (g_str_equal (mode, "half-hello"))
    write_half_frame ();
  else if (g_str_equal (mode, "silent-hello"))
    ;
  else
    {
      fprintf (stderr, "tw-fake-worker: unknown mode “%s”\n", mode);
      _exit (96);
    }

  hang ();
}

static void
answer_task (const char *mode,
             guint64     id)
{
  if (g_str_equal (mode, "garbage"))
    write_garbage ();
  else if (g_str_equal (mode, "garbage-text"))
    write_garbage_text ();
  else if (g_str_equal (mode, "oversized"))
    write_oversized ();
  else if (g_str_equal (mode, "not-normal"))
    write_not_normal (id);
  else if (g_str_equal (mode, "wrong-id"))
    write_frame (TW_WIRE_RESULT, id + 1000, g_variant_new_int64 (1));
  else if (g_str_equal (mode, "wrong-kind"))
    write_ready (TW_WIRE_VERSION);
  else if (g_str_equal (mode, "bad-error"))
    write_frame (TW_WIRE_ERROR, id, g_variant_new_string ("an error, but not (sis)"));
  else if (g_str_equal (mode, "close-exit"))
    {
      close_pipes ();
      _exit (0);
    }
  else if (g_str_equal (mode, "close-hang"))
    close_pipes ();
  else if (g_str_equal (mode, "half-frame"))
    write_half_frame ();
  else if (g_str_equal (mode, "crash-then-silent"))
    {
      /* Said to run it: the task, not the next worker, is to blame. */
      write_frame (TW_WIRE_STARTED, id, g_variant_new ("()"));
      _exit (1);
    }
  else if (g_str_equal (mode, "chatty"))
    {
      /* Frames the troupe ignores, then the answer. */
      write_frame (TW_WIRE_NOP, 0, g_variant_new ("()"));
      write_frame (TW_WIRE_STARTED, id + 1000, g_variant_new ("()"));
      write_frame (TW_WIRE_STARTED, id, g_variant_new ("()"));
      return;
    }
  else if (g_str_equal (mode, "ok"))
    {
      /* A correct worker: echo. Used to check the fake itself. */
      return;
    }
  else
    {
      fprintf (stderr, "tw-fake-worker: unknown mode “%s”\n", mode);
      _exit (96);
    }

  hang ();
}

int
main (int   argc,
      char *argv[])
{
  g_auto(GStrv) fds = NULL;
  const char *env = g_getenv ("TW_WORKER_FDS");
  const char *mode;
  guint32 kind;
  guint64 id;
  GVariant *payload;

  if (argc < 2 || env == NULL)
    {
      fprintf (stderr, "usage: TW_WORKER_FDS=IN,OUT %s MODE [STATE-FILE]\n", argv[0]);
      return 2;
    }
  mode = argv[1];

  fds = g_strsplit (env, ",", -1);
  if (g_strv_length (fds) != 2)
    return 2;
  in_fd = atoi (fds[0]);
  out_fd = atoi (fds[1]);

  if (!read_frame (&kind, &id, &payload))
    return 0;
  if (kind != TW_WIRE_HELLO)
    return 95;
  g_variant_unref (payload);

  if (g_str_has_suffix (mode, "-hello"))
    answer_hello (mode);

  /* The first process started in this mode works until its first task,
   * and then dies; every later one never answers HELLO. */
  if (g_str_equal (mode, "crash-then-silent"))
    {
      if (argc < 3)
        return 2;
      if (g_file_test (argv[2], G_FILE_TEST_EXISTS))
        hang ();
      g_file_set_contents (argv[2], "started", -1, NULL);
    }

  write_ready (TW_WIRE_VERSION);

  while (read_frame (&kind, &id, &payload))
    {
      if (kind == TW_WIRE_QUIT)
        {
          /* Tells the test that QUIT came, not only the end of the pipe. */
          if (g_str_equal (mode, "ok") && argc >= 3)
            g_file_set_contents (argv[2], "quit", -1, NULL);
          g_variant_unref (payload);
          break;
        }

      if (kind == TW_WIRE_TASK)
        {
          answer_task (mode, id);
          write_frame (TW_WIRE_RESULT, id, payload);
        }

      g_variant_unref (payload);
    }

  return 0;
}
