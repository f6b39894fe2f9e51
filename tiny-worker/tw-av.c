/* tw-av.c
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

#include <string.h>

#include "tw-av-private.h"

/*
 * Building and reading the serialised form of an `av` directly, so that
 * a map moves its outputs without a GVariant for each: elements are the
 * value's bytes, a zero byte and the value's type string, each starting
 * at a multiple of 8, followed by a table of the elements' end offsets,
 * each 1, 2, 4 or 8 bytes wide (little-endian), the smallest that can
 * address the whole container. This is GVariant's own normal form, so
 * GLib reads the result like any other av.
 */

#define TW_AV_ALIGNMENT 8

static guint
tw_av_offset_size (gsize size)
{
  if (size > G_MAXUINT32)
    return 8;
  if (size > G_MAXUINT16)
    return 4;
  if (size > G_MAXUINT8)
    return 2;

  return size > 0 ? 1 : 0;
}

/* Expects about @n_elements elements in @n_bytes, so that neither array
 * is copied as it grows: a map joins millions. */
void
tw_av_builder_init (TwAvBuilder *self,
                    gsize        n_elements,
                    gsize        n_bytes)
{
  self->data = g_byte_array_sized_new (MIN (n_bytes + n_elements * 4, G_MAXUINT));
  self->ends = g_array_sized_new (FALSE, FALSE, sizeof (gsize), MIN (n_elements, G_MAXUINT));
  self->trusted = TRUE;
}

void
tw_av_builder_clear (TwAvBuilder *self)
{
  g_clear_pointer (&self->data, g_byte_array_unref);
  g_clear_pointer (&self->ends, g_array_unref);
}

/* Pads with zeros to where the next element starts. */
static void
tw_av_builder_align (TwAvBuilder *self)
{
  static const guint8 zeros[TW_AV_ALIGNMENT] = { 0, };
  gsize padding = (TW_AV_ALIGNMENT - self->data->len % TW_AV_ALIGNMENT) % TW_AV_ALIGNMENT;

  g_byte_array_append (self->data, zeros, padding);
}

/* Appends one element, already serialised as a `v` is. */
void
tw_av_builder_add_serialised (TwAvBuilder  *self,
                              const guint8 *element,
                              gsize         size)
{
  gsize end;

  tw_av_builder_align (self);
  g_byte_array_append (self->data, element, size);
  end = self->data->len;
  g_array_append_val (self->ends, end);
}

/* Appends @value, boxed in a `v`: its bytes, a zero byte, its type. */
void
tw_av_builder_add_value (TwAvBuilder *self,
                         GVariant    *value)
{
  const char *type_string = g_variant_get_type_string (value);
  gsize type_length = strlen (type_string);
  gsize value_size = g_variant_get_size (value);
  gsize start;
  gsize end;

  self->trusted = self->trusted && g_variant_is_normal_form (value);

  tw_av_builder_align (self);
  start = self->data->len;
  g_byte_array_set_size (self->data, start + value_size + 1 + type_length);
  g_variant_store (value, self->data->data + start);
  self->data->data[start + value_size] = '\0';
  memcpy (self->data->data + start + value_size + 1, type_string, type_length);
  end = self->data->len;
  g_array_append_val (self->ends, end);
}

/* The size of a basic fixed-size type, by its type character, or 0. */
static gsize
tw_av_fixed_size (char type_char)
{
  switch (type_char)
    {
    case 'b': case 'y':
      return 1;
    case 'n': case 'q':
      return 2;
    case 'i': case 'u': case 'h':
      return 4;
    case 'x': case 't': case 'd':
      return 8;
    default:
      return 0;
    }
}

/* Appends @n elements of the basic fixed-size type @type_char, stored one
 * after another at @elements, each boxed in a `v`: each takes its bytes,
 * a zero byte and @type_char, padded to the next multiple of 8. */
void
tw_av_builder_add_fixed (TwAvBuilder  *self,
                         char          type_char,
                         const guint8 *elements,
                         gsize         n)
{
  gsize size = tw_av_fixed_size (type_char);
  gsize stride = (size + 2 + TW_AV_ALIGNMENT - 1) & ~(gsize)(TW_AV_ALIGNMENT - 1);
  guint ends_start = self->ends->len;
  gsize start;
  guint8 *out;

  g_assert (size > 0);
  if (n == 0)
    return;

  self->trusted = self->trusted && type_char != 'b';
  tw_av_builder_align (self);
  start = self->data->len;
  g_byte_array_set_size (self->data, start + (n - 1) * stride + size + 2);
  g_array_set_size (self->ends, ends_start + n);

  out = self->data->data + start;
  memset (out, 0, self->data->len - start);
  for (gsize i = 0; i < n; i++)
    {
      memcpy (out + i * stride, elements + i * size, size);
      out[i * stride + size + 1] = type_char;
      g_array_index (self->ends, gsize, ends_start + i) = start + i * stride + size + 2;
    }
}

/* Appends each element of @array, an array of any type, boxed in a `v`;
 * an `av`'s elements as they are. Elements of a basic fixed-size type are
 * copied from the array's bytes, with no GVariant for each. */
void
tw_av_builder_add_array (TwAvBuilder *self,
                         GVariant    *array)
{
  const GVariantType *type = g_variant_type_element (g_variant_get_type (array));
  gsize element_size = tw_av_fixed_element_size (type);
  GVariantIter iter;
  GVariant *element;

  if (element_size > 0)
    {
      gsize n;
      const guint8 *elements = g_variant_get_fixed_array (array, &n, element_size);

      tw_av_builder_add_fixed (self, g_variant_type_peek_string (type)[0], elements, n);
      return;
    }

  g_variant_iter_init (&iter, array);
  while ((element = g_variant_iter_next_value (&iter)) != NULL)
    {
      if (g_variant_is_of_type (element, G_VARIANT_TYPE_VARIANT))
        {
          GVariant *boxed = element;

          element = g_variant_get_variant (boxed);
          g_variant_unref (boxed);
        }
      tw_av_builder_add_value (self, element);
      g_variant_unref (element);
    }
}

/* Writes each of @ends as @offset_size bytes, little-endian; a loop per
 * size, as there may be millions. */
static void
tw_av_write_offsets (guint8      *out,
                     const gsize *ends,
                     guint        n,
                     guint        offset_size)
{
  guint16 end16;
  guint32 end32;
  guint64 end64;

  if (offset_size == 1)
    for (guint i = 0; i < n; i++)
      out[i] = ends[i];
  else if (offset_size == 2)
    for (guint i = 0; i < n; i++)
      {
        end16 = GUINT16_TO_LE (ends[i]);
        memcpy (out + 2 * (gsize)i, &end16, 2);
      }
  else if (offset_size == 4)
    for (guint i = 0; i < n; i++)
      {
        end32 = GUINT32_TO_LE (ends[i]);
        memcpy (out + 4 * (gsize)i, &end32, 4);
      }
  else
    for (guint i = 0; i < n; i++)
      {
        end64 = GUINT64_TO_LE (ends[i]);
        memcpy (out + 8 * (gsize)i, &end64, 8);
      }
}

/* Returns the av, floating, and clears the builder. */
GVariant *
tw_av_builder_end (TwAvBuilder *self)
{
  gsize body_size = self->data->len;
  guint n = self->ends->len;
  guint offset_size = 1;
  GBytes *bytes;
  GVariant *result;

  while (offset_size < 8 &&
         tw_av_offset_size (body_size + (gsize)n * offset_size) > offset_size)
    offset_size *= 2;

  g_byte_array_set_size (self->data, body_size + (gsize)n * offset_size);
  tw_av_write_offsets (self->data->data + body_size, (const gsize *)(gpointer)self->ends->data,
                       n, offset_size);

  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&self->data));
  result = g_variant_new_from_bytes (G_VARIANT_TYPE ("av"), bytes, self->trusted);
  g_bytes_unref (bytes);
  tw_av_builder_clear (self);

  return result;
}

static gsize
tw_av_read_offset (const guint8 *data,
                   guint         offset_size)
{
  guint64 value = 0;

  memcpy (&value, data, offset_size);

  return GUINT64_FROM_LE (value);
}

/*
 * tw_av_iter_init:
 * @av: a serialised `av`
 *
 * Prepares to walk the elements of @av. Returns %FALSE if its framing is
 * not in normal form; use g_variant_iter_next_value() for such a value.
 */
gboolean
tw_av_iter_init (TwAvIter *self,
                 GVariant *av)
{
  gsize size = g_variant_get_size (av);
  gsize previous_end = 0;

  self->data = g_variant_get_data (av);
  self->offset_size = tw_av_offset_size (size);
  self->n = 0;
  self->i = 0;

  if (size == 0)
    return TRUE;

  self->table = tw_av_read_offset (self->data + size - self->offset_size, self->offset_size);
  if (self->table > size || (size - self->table) % self->offset_size != 0)
    return FALSE;
  self->n = (size - self->table) / self->offset_size;

  for (gsize i = 0; i < self->n; i++)
    {
      gsize end = tw_av_read_offset (self->data + self->table + i * self->offset_size,
                                     self->offset_size);
      gsize start = (previous_end + TW_AV_ALIGNMENT - 1) & ~(gsize)(TW_AV_ALIGNMENT - 1);

      if (end < start || end > self->table)
        return FALSE;
      previous_end = end;
    }

  return TRUE;
}

/* The next element's serialised bytes; %FALSE after the last. */
gboolean
tw_av_iter_next (TwAvIter      *self,
                 const guint8 **element,
                 gsize         *size)
{
  gsize start = 0;
  gsize end;

  if (self->i >= self->n)
    return FALSE;

  if (self->i > 0)
    {
      start = tw_av_read_offset (self->data + self->table + (self->i - 1) * self->offset_size,
                                 self->offset_size);
      start = (start + TW_AV_ALIGNMENT - 1) & ~(gsize)(TW_AV_ALIGNMENT - 1);
    }
  end = tw_av_read_offset (self->data + self->table + self->i * self->offset_size,
                           self->offset_size);
  self->i++;

  *element = self->data + start;
  *size = end - start;

  return TRUE;
}

/* The size of a basic fixed-size type, or 0: an array of such elements
 * is their bytes one after another, with no framing. */
gsize
tw_av_fixed_element_size (const GVariantType *type)
{
  return tw_av_fixed_size (g_variant_type_peek_string (type)[0]);
}

/* Whether every value of a basic fixed-size type is in normal form: all
 * but booleans, whose only normal bytes are 0 and 1. */
gboolean
tw_av_fixed_type_is_always_normal (const GVariantType *type)
{
  return tw_av_fixed_element_size (type) > 0 &&
         !g_variant_type_equal (type, G_VARIANT_TYPE_BOOLEAN);
}

void
tw_chunk_builder_init (TwChunkBuilder *self,
                       gsize           n_hint)
{
  self->n_hint = n_hint;
  self->packed = NULL;
  self->packed_type = 0;
  self->boxed = FALSE;
}

void
tw_chunk_builder_clear (TwChunkBuilder *self)
{
  g_clear_pointer (&self->packed, g_byte_array_unref);
  if (self->boxed)
    tw_av_builder_clear (&self->av);
  self->boxed = FALSE;
}

/* Moves the outputs so far into an av, for one of another type. */
static void
tw_chunk_builder_box (TwChunkBuilder *self)
{
  gsize size = tw_av_fixed_size (self->packed_type);

  tw_av_builder_init (&self->av, self->n_hint, 16 * self->n_hint);
  if (self->packed != NULL)
    tw_av_builder_add_fixed (&self->av, self->packed_type, self->packed->data,
                             self->packed->len / size);
  g_clear_pointer (&self->packed, g_byte_array_unref);
  self->boxed = TRUE;
}

/* Appends @value: its bytes alone while the outputs are packed. Booleans
 * are never packed, so that every packed array is in normal form. */
void
tw_chunk_builder_add (TwChunkBuilder *self,
                      GVariant       *value)
{
  const char *type = g_variant_get_type_string (value);
  gsize size = tw_av_fixed_size (type[0]);
  guint length;

  if (!self->boxed && type[0] != 'b' && size > 0 &&
      (self->packed_type == 0 || self->packed_type == type[0]))
    {
      if (self->packed == NULL)
        self->packed = g_byte_array_sized_new (MIN (self->n_hint * size, G_MAXUINT));
      self->packed_type = type[0];
      length = self->packed->len;
      g_byte_array_set_size (self->packed, length + size);
      g_variant_store (value, self->packed->data + length);
      return;
    }

  if (!self->boxed)
    tw_chunk_builder_box (self);
  tw_av_builder_add_value (&self->av, value);
}

/* Returns the outputs, floating, as an array of their type if packed and
 * otherwise as an av (an empty one if there were none); clears the
 * builder. */
GVariant *
tw_chunk_builder_end (TwChunkBuilder *self)
{
  char array_type[3] = { 'a', self->packed_type, '\0' };
  g_autoptr(GBytes) bytes = NULL;

  if (self->packed_type == 0 || self->boxed)
    {
      if (!self->boxed)
        tw_chunk_builder_box (self);
      self->boxed = FALSE;
      return tw_av_builder_end (&self->av);
    }

  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&self->packed));

  return g_variant_new_from_bytes (G_VARIANT_TYPE (array_type), bytes, TRUE);
}
