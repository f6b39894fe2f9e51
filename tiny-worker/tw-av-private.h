/* tw-av-private.h
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

#ifndef TW_COMPILATION
# error "This header is private to tiny-worker."
#endif

#include <glib.h>

G_BEGIN_DECLS

/* Builds an `av` from serialised elements, with no GVariant for each. */
typedef struct
{
  GByteArray *data;     /* the elements so far */
  GArray     *ends;     /* gsize: where each element ends */
  gboolean    trusted;  /* every element is in normal form */
} TwAvBuilder;

void      tw_av_builder_init           (TwAvBuilder   *self,
                                        gsize          n_elements,
                                        gsize          n_bytes);
void      tw_av_builder_clear          (TwAvBuilder   *self);
void      tw_av_builder_add_serialised (TwAvBuilder   *self,
                                        const guint8  *element,
                                        gsize          size);
void      tw_av_builder_add_value      (TwAvBuilder   *self,
                                        GVariant      *value);
void      tw_av_builder_add_array      (TwAvBuilder   *self,
                                        GVariant      *array);
void      tw_av_builder_add_fixed      (TwAvBuilder   *self,
                                        char           type_char,
                                        const guint8  *elements,
                                        gsize          n);
GVariant *tw_av_builder_end            (TwAvBuilder   *self);

/* Builds the outputs of a chunk: an array of their own type while they
 * share one basic fixed-size type (an `ax` of int64 outputs), with no
 * framing or type string per element; an `av` once they differ. */
typedef struct
{
  gsize        n_hint;      /* how many outputs to expect */
  GByteArray  *packed;      /* the outputs so far, while packed */
  char         packed_type; /* their type, or 0 before the first */
  gboolean     boxed;       /* the outputs are in av instead */
  TwAvBuilder  av;          /* only once boxed */
} TwChunkBuilder;

void      tw_chunk_builder_init        (TwChunkBuilder *self,
                                        gsize           n_hint);
void      tw_chunk_builder_clear       (TwChunkBuilder *self);
void      tw_chunk_builder_add         (TwChunkBuilder *self,
                                        GVariant       *value);
GVariant *tw_chunk_builder_end         (TwChunkBuilder *self);

/* Walks the serialised elements of an `av`; valid while it lives. */
typedef struct
{
  const guint8 *data;
  gsize         table;        /* where the offsets start */
  gsize         n;
  gsize         i;
  guint         offset_size;
} TwAvIter;

gboolean  tw_av_iter_init              (TwAvIter      *self,
                                        GVariant      *av);
gboolean  tw_av_iter_next              (TwAvIter      *self,
                                        const guint8 **element,
                                        gsize         *size);

gsize     tw_av_fixed_element_size     (const GVariantType *type);
gboolean  tw_av_fixed_type_is_always_normal (const GVariantType *type);

G_END_DECLS
