/* test-process-wire.c: reading frames, against GLib's own judgement
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
 * Part of the process-mode test suite (issue #15). The wire module
 * accepts a frame whose payload is an array of integers or doubles
 * without asking GLib to walk its elements, and hands a large frame over
 * in the buffer it was read into. These tests check both against GLib:
 * every frame, mutated at random near what the shortcut looks at, is
 * accepted exactly when g_variant_is_normal_form() says it is normal,
 * with the same value; and large frames read through a pipe, with
 * others around them, come out whole. It uses the private wire
 * functions and starts no worker process.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#include "tw-error.h"
#include "tw-wire-private.h"

#define TIMEOUT_USEC (30 * G_USEC_PER_SEC)

/* The frame's (utv) bytes for @payload, sunk if floating. */
static GBytes *
frame_bytes (TwWireKind  kind,
             guint64     id,
             GVariant   *payload)
{
  g_autoptr(GVariant) frame = g_variant_ref_sink (
    g_variant_new ("(ut@v)", (guint32)kind, id, g_variant_new_variant (payload)));

  return g_variant_get_data_as_bytes (frame);
}

/* Writes @size bytes of a frame body after their length, as a peer does. */
static void
write_raw (int           fd,
           const guint8 *data,
           gsize         size,
           gboolean      newline)
{
  guint32 length = GUINT32_TO_LE ((guint32)size);
  g_autoptr(GByteArray) out = g_byte_array_sized_new (size + 5);

  g_byte_array_append (out, (const guint8 *)&length, 4);
  g_byte_array_append (out, data, size);
  if (newline)
    g_byte_array_append (out, (const guint8 *)"\n", 1);

  for (gsize done = 0; done < out->len;)
    {
      gssize n = write (fd, out->data + done, out->len - done);

      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0);
      done += n;
    }
}

/* What GLib makes of the frame @data: NULL unless it is in normal form. */
static GVariant *
glib_payload (const guint8 *data,
              gsize         size)
{
  guint8 *copy = g_memdup2 (data, size);
  g_autoptr(GVariant) frame = g_variant_ref_sink (
    g_variant_new_from_data (G_VARIANT_TYPE (TW_WIRE_FRAME_TYPE), copy, size, FALSE,
                             g_free, copy));
  GVariant *payload = NULL;

  if (!g_variant_is_normal_form (frame))
    return NULL;
  g_variant_get (frame, "(utv)", NULL, NULL, &payload);

  return payload;
}

/* An array of @n random elements of @element_type, in normal form. */
static GVariant *
random_array (const char *element_type,
              gsize       n,
              GRand      *rand)
{
  g_autofree char *type = g_strconcat ("a", element_type, NULL);
  gsize element_size = 0;
  g_autoptr(GVariant) raw = NULL;
  guint8 *data;
  gsize size;

  /* The size of one element, from GLib itself. */
  {
    g_autoptr(GVariant) one = g_variant_ref_sink (
      g_variant_new_from_data (G_VARIANT_TYPE (element_type), "", 0, TRUE, NULL, NULL));

    element_size = g_variant_get_size (one);
  }
  size = n * element_size;
  data = g_malloc (MAX (size, 1));
  for (gsize i = 0; i < size; i++)
    data[i] = g_rand_int (rand);

  raw = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE (type), data, size,
                                                     FALSE, g_free, data));

  return g_variant_get_normal_form (raw);
}

/* Changes @frame where the wire's shortcut looks: the padding, the
 * elements' length, the type string, a byte near the end or anywhere. */
static void
mutate (GByteArray *frame,
        GRand      *rand)
{
  const char *type_chars = "abxyid(){}hsnqtu";
  gsize nul = frame->len - 1;
  guint k = g_rand_int_range (rand, 1, 8);

  while (nul > 16 && frame->data[nul] != '\0')
    nul--;

  switch (g_rand_int_range (rand, 0, 6))
    {
    case 0:
      frame->data[g_rand_int_range (rand, 4, 8)] = g_rand_int_range (rand, 1, 256);
      break;
    case 1:
      if (nul >= 16 + k)
        g_byte_array_remove_range (frame, nul - k, k);
      break;
    case 2:
      {
        guint8 extra[8];

        for (guint i = 0; i < k; i++)
          extra[i] = g_rand_int_range (rand, 0, 3) == 0 ? 0 : g_rand_int (rand);
        g_array_insert_vals ((GArray *)frame, nul, extra, k);
      }
      break;
    case 3:
      frame->data[g_rand_int_range (rand, nul, frame->len)] =
        type_chars[g_rand_int_range (rand, 0, strlen (type_chars))];
      break;
    case 4:
      frame->data[frame->len - 1 - g_rand_int_range (rand, 0, MIN (frame->len - 16, 40))] =
        g_rand_int (rand);
      break;
    default:
      frame->data[g_rand_int_range (rand, 0, frame->len)] ^= 1 << g_rand_int_range (rand, 0, 8);
      break;
    }
}

/* Reads @data as a frame through a pipe; the frame's payload, or NULL
 * with @error set. */
static GVariant *
wire_payload (const guint8  *data,
              gsize          size,
              GError       **error)
{
  TwWireReader reader;
  TwWireFrame frame;
  GVariant *payload = NULL;
  int fds[2];

  g_assert_true (g_unix_open_pipe (fds, FD_CLOEXEC, NULL));
  write_raw (fds[1], data, size, FALSE);

  tw_wire_reader_init (&reader, fds[0]);
  if (tw_wire_read (&reader, NULL, g_get_monotonic_time () + TIMEOUT_USEC, &frame, error))
    payload = g_steal_pointer (&frame.payload);
  tw_wire_frame_clear (&frame);
  tw_wire_reader_clear (&reader);
  close (fds[0]);
  close (fds[1]);

  return payload;
}

static void
test_wire_as_glib (void)
{
  const char *element_types[] = {
    "x", "t", "d", "i", "u", "n", "q", "y", "(ii)", "(xx)", "(yyyy)", "((ii)x)", "(iu)",
    "(nni)",
    /* Not plain: booleans, padding inside or at the end, handles, the
     * unit, strings. */
    "b", "(xi)", "(ix)", "(yx)", "(ixi)", "(niin)", "h", "(bb)", "(ib)", "()", "s",
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (15);
  guint accepted = 0;
  guint refused = 0;

  g_test_summary ("A frame is accepted exactly when GLib finds it in normal form, and "
                  "its payload is GLib's value, for arrays of every fixed-size type "
                  "mutated at random where the shortcut for plain arrays looks");

  for (gsize t = 0; t < G_N_ELEMENTS (element_types); t++)
    for (guint round = 0; round < 300; round++)
      {
        g_autoptr(GVariant) array = NULL;
        g_autoptr(GBytes) bytes = NULL;
        g_autoptr(GByteArray) frame = g_byte_array_new ();
        g_autoptr(GVariant) expected = NULL;
        g_autoptr(GVariant) got = NULL;
        g_autoptr(GError) error = NULL;

        if (g_str_equal (element_types[t], "s"))
          array = g_variant_ref_sink (g_variant_new_strv ((const char *[]) { "a", "bc" }, 2));
        else
          array = random_array (element_types[t], g_rand_int_range (rand, 0, 9), rand);
        bytes = frame_bytes (TW_WIRE_RESULT, round, array);
        g_byte_array_append (frame, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));

        /* The first round of each type unchanged, then up to three mutations. */
        for (guint m = round == 0 ? 0 : g_rand_int_range (rand, 1, 4); m > 0; m--)
          mutate (frame, rand);

        expected = glib_payload (frame->data, frame->len);
        got = wire_payload (frame->data, frame->len, &error);
        if (expected == NULL)
          {
            g_assert_error (error, TW_ERROR, TW_ERROR_PROTOCOL);
            g_assert_null (got);
            refused++;
            continue;
          }

        g_assert_no_error (error);
        g_assert_nonnull (got);
        g_assert_cmpstr (g_variant_get_type_string (got), ==,
                         g_variant_get_type_string (expected));
        g_assert_true (g_variant_equal (got, expected));
        g_assert_true (g_variant_is_normal_form (got));
        if (round == 0)
          g_assert_true (g_variant_equal (got, array));
        accepted++;
      }

  g_test_message ("%u frames accepted, %u refused", accepted, refused);
  g_assert_cmpuint (accepted, >, 1000);
  g_assert_cmpuint (refused, >, 1000);
}

typedef struct
{
  int        fd;
  gboolean   newline;
  GPtrArray *frames;  /* GBytes: the frames to write, in order */
} Writer;

static gpointer
writer_thread (gpointer data)
{
  Writer *writer = data;

  for (guint i = 0; i < writer->frames->len; i++)
    {
      gsize size;
      const guint8 *bytes = g_bytes_get_data (writer->frames->pdata[i], &size);

      write_raw (writer->fd, bytes, size, writer->newline);
    }
  close (writer->fd);

  return NULL;
}

static void
test_wire_large_frames (gconstpointer data)
{
  gboolean newline = GPOINTER_TO_INT (data);
  g_autoptr(GRand) rand = g_rand_new_with_seed (14);
  g_autoptr(GPtrArray) payloads = g_ptr_array_new_with_free_func ((GDestroyNotify)g_variant_unref);
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  g_autoptr(GError) error = NULL;
  Writer writer;
  TwWireReader reader;
  TwWireFrame frame;
  GThread *thread;
  int fds[2];

  g_test_summary ("Large frames, alone or between small ones, with or without the "
                  "newline of a stdout transport, are read whole and exact, aligned "
                  "for GVariant; a large array of booleans that is not normal is "
                  "refused, after the rest");

  g_ptr_array_add (payloads, g_variant_ref_sink (g_variant_new_int64 (1)));
  g_ptr_array_add (payloads, random_array ("x", 300000, rand));
  g_ptr_array_add (payloads, random_array ("(ii)", 20000, rand));
  g_ptr_array_add (payloads, g_variant_ref_sink (g_variant_new_string ("between")));
  g_ptr_array_add (payloads, random_array ("d", 70000, rand));
  g_ptr_array_add (payloads, random_array ("y", 65535, rand));
  g_ptr_array_add (payloads, random_array ("(xi)", 30000, rand));
  g_ptr_array_add (payloads, random_array ("b", 100000, rand));
  for (guint i = 0; i < payloads->len; i++)
    g_ptr_array_add (frames, frame_bytes (TW_WIRE_RESULT, i, payloads->pdata[i]));

  /* Then the booleans again, with a 2 among them at the end. */
  {
    g_autoptr(GVariant) array = random_array ("b", 100000, rand);
    guint8 *bad = g_memdup2 (g_variant_get_data (array), g_variant_get_size (array));

    bad[g_variant_get_size (array) - 1] = 2;
    g_ptr_array_add (frames, frame_bytes (TW_WIRE_RESULT, 99,
                                          g_variant_new_from_data (G_VARIANT_TYPE ("ab"), bad,
                                                                   g_variant_get_size (array),
                                                                   FALSE, g_free, bad)));
  }

  g_assert_true (g_unix_open_pipe (fds, FD_CLOEXEC, NULL));
  g_assert_true (g_unix_set_fd_nonblocking (fds[0], TRUE, NULL));
  writer = (Writer) { fds[1], newline, frames };
  thread = g_thread_new ("writer", writer_thread, &writer);

  tw_wire_reader_init (&reader, fds[0]);
  reader.newline = newline;
  for (guint i = 0; i < payloads->len; i++)
    {
      g_assert_true (tw_wire_read (&reader, NULL, g_get_monotonic_time () + TIMEOUT_USEC,
                                   &frame, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (frame.kind, ==, TW_WIRE_RESULT);
      g_assert_cmpuint (frame.id, ==, i);
      g_assert_true (g_variant_equal (frame.payload, payloads->pdata[i]));
      g_assert_true (g_variant_is_normal_form (frame.payload));
      g_assert_cmpuint ((guintptr)g_variant_get_data (frame.payload) % 8, ==, 0);
      tw_wire_frame_clear (&frame);
    }

  g_assert_false (tw_wire_read (&reader, NULL, g_get_monotonic_time () + TIMEOUT_USEC,
                                &frame, &error));
  g_assert_error (error, TW_ERROR, TW_ERROR_PROTOCOL);
  g_assert_null (frame.payload);

  g_thread_join (thread);
  tw_wire_reader_clear (&reader);
  close (fds[0]);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/process/wire/accepts-what-glib-finds-normal", test_wire_as_glib);
  g_test_add_data_func ("/process/wire/reads-large-frames-whole/pipe",
                        GINT_TO_POINTER (FALSE), test_wire_large_frames);
  g_test_add_data_func ("/process/wire/reads-large-frames-whole/stdout",
                        GINT_TO_POINTER (TRUE), test_wire_large_frames);

  return g_test_run ();
}
