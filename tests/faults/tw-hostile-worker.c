/* tw-hostile-worker.c
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
 * A worker program that breaks the protocol on purpose, built on the
 * library's own framing. `tw-hostile-worker MODE` answers each TASK (an
 * int32) with the input itself, except for the input
 * TW_HOSTILE_TRIGGER, which it answers as MODE says (see answer_trigger()).
 * "new-domains" answers every task with an error of a new domain, and
 * "fuzz" every task with a correct answer mutated by a GRand seeded with
 * the input, and then exits.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tw-error.h"
#include "tw-hostile-worker.h"
#include "tw-wire-private.h"

static int out_fd;

static void
send_out (GByteArray *out)
{
  if (!tw_wire_flush (out_fd, out, -1, NULL))
    _exit (0);
}

static void
append (GByteArray *out,
        TwWireKind  kind,
        guint64     id,
        GVariant   *payload)
{
  g_assert_true (tw_wire_append (out, kind, id, payload, NULL));
}

static GVariant *
error_payload (const char *domain,
               int         code,
               const char *message)
{
  return g_variant_new ("(sis)", domain, code, message);
}

/* Mutates one correct answer: flipped bytes, a cut, a new length, junk
 * after it, junk instead of it, or the frame twice. */
static void
mutate (GByteArray *out,
        gint32      seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  guint i;

  switch (g_rand_int_range (rand, 0, 6))
    {
    case 0:
      for (i = g_rand_int_range (rand, 1, 5); i > 0; i--)
        out->data[g_rand_int_range (rand, 0, out->len)] ^= 1 << g_rand_int_range (rand, 0, 8);
      break;
    case 1:
      g_byte_array_set_size (out, g_rand_int_range (rand, 0, out->len));
      break;
    case 2:
      {
        guint32 length = GUINT32_TO_LE (g_rand_int (rand) % (out->len * 2));

        memcpy (out->data, &length, 4);
      }
      break;
    case 3:
      for (i = g_rand_int_range (rand, 1, 32); i > 0; i--)
        {
          guint8 byte = g_rand_int_range (rand, 0, 256);

          g_byte_array_append (out, &byte, 1);
        }
      break;
    case 4:
      g_byte_array_set_size (out, g_rand_int_range (rand, 1, 64));
      for (i = 0; i < out->len; i++)
        out->data[i] = g_rand_int_range (rand, 0, 256);
      break;
    default:
      g_byte_array_append (out, out->data, out->len);
      break;
    }
}

/* Answers the trigger task as @mode says. Returns FALSE to exit. */
static gboolean
answer_trigger (const char *mode,
                guint64     id,
                GVariant   *input,
                GByteArray *out)
{
  if (g_str_equal (mode, "truncated"))
    {
      append (out, TW_WIRE_RESULT, id, g_variant_ref (input));
      g_byte_array_set_size (out, out->len / 2);
      send_out (out);
      return FALSE;
    }
  else if (g_str_equal (mode, "oversized"))
    g_byte_array_append (out, (const guint8 *)"\xf0\xff\xff\xff" "abcdefgh", 12);
  else if (g_str_equal (mode, "wrong-kind"))
    append (out, TW_WIRE_READY, id, g_variant_new ("(ut)", TW_WIRE_VERSION, (guint64)1));
  else if (g_str_equal (mode, "wrong-id"))
    append (out, TW_WIRE_RESULT, id + 1000, g_variant_ref (input));
  else if (g_str_equal (mode, "extra"))
    {
      append (out, TW_WIRE_RESULT, id, g_variant_ref (input));
      append (out, TW_WIRE_ERROR, id, error_payload ("tw-error-quark", TW_ERROR_FAILED, "extra"));
    }
  else if (g_str_equal (mode, "duplicated"))
    {
      append (out, TW_WIRE_RESULT, id, g_variant_ref (input));
      append (out, TW_WIRE_RESULT, id, g_variant_ref (input));
    }
  else if (g_str_equal (mode, "forged-cancel"))
    append (out, TW_WIRE_ERROR, id,
            error_payload ("g-io-error-quark", G_IO_ERROR_CANCELLED, "forged"));
  else if (g_str_equal (mode, "forged-shutdown"))
    append (out, TW_WIRE_ERROR, id,
            error_payload ("tw-error-quark", TW_ERROR_SHUT_DOWN, "forged"));
  else if (g_str_equal (mode, "empty-domain"))
    append (out, TW_WIRE_ERROR, id, error_payload ("", 3, "no domain at all"));
  else
    append (out, TW_WIRE_RESULT, id, g_variant_ref (input));

  return TRUE;
}

/* Answers one task; FALSE to exit. */
static gboolean
answer (const char  *mode,
        TwWireFrame *frame,
        GByteArray  *out)
{
  gint32 x = g_variant_get_int32 (frame->payload);

  if (g_str_equal (mode, "new-domains"))
    {
      g_autofree char *domain = g_strdup_printf ("tw-hostile-domain-%d-%d", getpid (), x);

      append (out, TW_WIRE_ERROR, frame->id, error_payload (domain, 1, "a new domain"));
    }
  else if (g_str_equal (mode, "fuzz"))
    {
      append (out, TW_WIRE_RESULT, frame->id, g_variant_ref (frame->payload));
      mutate (out, x);
      send_out (out);
      return FALSE;
    }
  else if (x != TW_HOSTILE_TRIGGER)
    append (out, TW_WIRE_RESULT, frame->id, g_variant_ref (frame->payload));
  else if (!answer_trigger (mode, frame->id, frame->payload, out))
    return FALSE;

  send_out (out);

  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  TwWireReader reader;
  TwWireFrame frame;
  const char *mode = argc > 1 ? argv[1] : "ok";

  if (g_strcmp0 (g_getenv (TW_WIRE_ENV), "3,4") != 0)
    {
      fprintf (stderr, "tw-hostile-worker: not started by a troupe\n");
      return 2;
    }
  out_fd = 4;
  tw_wire_reader_init (&reader, 3);

  if (!tw_wire_read (&reader, NULL, -1, &frame, NULL) || frame.kind != TW_WIRE_HELLO)
    return 1;
  tw_wire_frame_clear (&frame);
  append (out, TW_WIRE_READY, 0, g_variant_new ("(ut)", TW_WIRE_VERSION, (guint64)getpid ()));
  send_out (out);

  while (tw_wire_read (&reader, NULL, -1, &frame, NULL) && frame.kind != TW_WIRE_QUIT)
    {
      gboolean go_on = frame.kind != TW_WIRE_TASK || answer (mode, &frame, out);

      tw_wire_frame_clear (&frame);
      if (!go_on)
        _exit (0);
    }

  tw_wire_frame_clear (&frame);
  tw_wire_reader_clear (&reader);

  return 0;
}
