/* tw-map.c
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

#include "tw-as-completed.h"
#include "tw-error.h"
#include "tw-future-private.h"
#include "tw-troupe-private.h"
#include "tw-wire-private.h"

/*
 * tw_troupe_map() splits its inputs into chunks, as multiprocessing's
 * Pool.map does: about four per worker, so that a slow chunk does not
 * leave the others idle at the end. Each chunk is one task, and in
 * process mode one frame each way, so small tasks do not pay for a
 * future and a round trip each.
 */

#define CHUNKS_PER_WORKER 4

typedef struct
{
  gatomicrefcount  ref_count;
  TwFuture        *output;
  gint             n_left;    /* atomic: chunks not yet settled */
  guint            n_values;
  GVariant       **values;    /* each slot written by one chunk */
  GPtrArray       *chunks;    /* TwFuture: cancelled if the output is */
} TwMap;

typedef struct
{
  TwMap *map;
  guint  offset;              /* of the chunk's first input */
  guint  length;
} TwMapChunk;

static void
tw_map_unref (TwMap *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  for (guint i = 0; i < self->n_values; i++)
    g_clear_pointer (&self->values[i], g_variant_unref);
  g_free (self->values);
  g_ptr_array_unref (self->chunks);
  g_object_unref (self->output);
  g_free (self);
}

/* Stores a chunk's outputs: an av as long as the chunk, which the runner
 * checked when it came from another process. */
static void
tw_map_store_chunk (TwMap      *self,
                    TwMapChunk *chunk,
                    GVariant   *value)
{
  /* The children are boxed already, as the av of all outputs wants them. */
  for (guint i = 0; i < chunk->length; i++)
    self->values[chunk->offset + i] = g_variant_get_child_value (value, i);
}

static void
tw_map_chunk_settled_cb (TwFuture *future,
                         gpointer  user_data)
{
  TwMapChunk *chunk = user_data;
  TwMap *self = chunk->map;
  GVariant *value = tw_future_peek_value (future);

  if (value == NULL)
    tw_future_settle (self->output, NULL, tw_future_dup_error (future));
  else
    {
      tw_map_store_chunk (self, chunk, value);
      if (g_atomic_int_dec_and_test (&self->n_left))
        tw_future_settle (self->output,
                          g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_VARIANT,
                                                                   self->values, self->n_values)),
                          NULL);
    }

  tw_map_unref (self);
  g_free (chunk);
}

static void
tw_map_output_settled_cb (TwFuture *output,
                          gpointer  user_data)
{
  TwMap *self = user_data;

  if (tw_future_get_state (output) == TW_FUTURE_STATE_CANCELLED)
    for (guint i = 0; i < self->chunks->len; i++)
      tw_future_cancel (self->chunks->pdata[i]);

  tw_map_unref (self);
}

/* The size of a basic fixed-size element, or 0: a slice of an array of
 * such elements is a copy of its bytes. */
static gsize
tw_fixed_element_size (const GVariantType *type)
{
  switch (g_variant_type_peek_string (type)[0])
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

/* The inputs of one chunk: a slice of @inputs, of the same type. */
static GVariant *
tw_map_new_chunk_input (GVariant *inputs,
                        guint     offset,
                        guint     length)
{
  const GVariantType *element_type = g_variant_type_element (g_variant_get_type (inputs));
  gsize element_size = tw_fixed_element_size (element_type);
  GVariantBuilder builder;

  if (element_size > 0)
    {
      gsize n_elements;
      const guint8 *elements = g_variant_get_fixed_array (inputs, &n_elements, element_size);

      return g_variant_ref_sink (g_variant_new_fixed_array (element_type,
                                                            elements + offset * element_size,
                                                            length, element_size));
    }

  g_variant_builder_init (&builder, g_variant_get_type (inputs));
  for (guint i = offset; i < offset + length; i++)
    {
      g_autoptr(GVariant) input = g_variant_get_child_value (inputs, i);

      g_variant_builder_add_value (&builder, input);
    }

  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

/* Consumes @inputs. */
static TwFuture *
tw_map_start (TwPool   *pool,
              guint     n_workers,
              GVariant *inputs)
{
  guint n_inputs = g_variant_n_children (inputs);
  guint n_chunks = MAX (1, MIN (n_inputs, n_workers * CHUNKS_PER_WORKER));
  guint chunk_size = (n_inputs + n_chunks - 1) / MAX (n_chunks, 1);
  TwMap *self = g_new0 (TwMap, 1);
  TwFuture *output = tw_future_new ();

  g_atomic_ref_count_init (&self->ref_count);
  self->output = g_object_ref (output);
  self->n_values = n_inputs;
  self->values = g_new0 (GVariant *, n_inputs);
  self->n_left = (n_inputs + chunk_size - 1) / MAX (chunk_size, 1);
  self->chunks = g_ptr_array_new_with_free_func (g_object_unref);

  if (n_inputs == 0)
    tw_future_settle (output, g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_VARIANT, NULL, 0)),
                       NULL);

  for (guint offset = 0; offset < n_inputs; offset += chunk_size)
    {
      TwMapChunk *chunk = g_new0 (TwMapChunk, 1);
      g_autoptr(TwFuture) future = NULL;

      chunk->map = self;
      chunk->offset = offset;
      chunk->length = MIN (chunk_size, n_inputs - offset);
      g_atomic_ref_count_inc (&self->ref_count);

      future = tw_pool_submit (pool, tw_map_new_chunk_input (inputs, offset, chunk->length), TRUE);
      g_ptr_array_add (self->chunks, g_object_ref (future));
      tw_future_add_dependent (future, tw_map_chunk_settled_cb, chunk);
    }

  /* After the loop: the chunks array is complete when this can run. */
  tw_future_add_dependent (output, tw_map_output_settled_cb, self);
  g_variant_unref (inputs);

  return output;
}

/**
 * tw_troupe_map:
 * @self: a #TwTroupe
 * @inputs: an array of inputs, of any array type; a floating reference is
 *   sunk
 *
 * Runs the troupe's worker on every element of @inputs and gathers the
 * outputs in input order. The elements of an `av` are unboxed, so a
 * worker sees the same values whether they came in an `ax` or an `av`. The inputs are sent in chunks, about four per
 * worker, so that many small tasks cost little more than one each; in
 * %TW_TROUPE_MODE_PROCESS a chunk is one message each way. Each input is
 * still a separate call of the worker.
 *
 * Cancelling the returned future cancels the chunks that have not
 * finished.
 *
 * Returns: (transfer full): a future whose value is an `av` of the
 *   outputs, in the order of @inputs, or which fails with the error of
 *   the first chunk found to have failed, as tw_troupe_submit() describes
 *
 * Since: 1.0
 */
TwFuture *
tw_troupe_map (TwTroupe *self,
               GVariant *inputs)
{
  GError *error = NULL;
  TwPool *pool;

  tw_return_error_if_fail (TW_IS_TROUPE (self));
  tw_return_error_if_fail (inputs != NULL);
  tw_return_error_if_fail (g_variant_is_container (inputs) &&
                           g_variant_type_is_array (g_variant_get_type (inputs)));

  g_variant_ref_sink (inputs);

  pool = tw_troupe_ensure_pool (self, &error);
  if (pool == NULL)
    {
      g_variant_unref (inputs);
      return tw_future_new_for_error (error);
    }

  return tw_map_start (pool, tw_troupe_get_n_workers (self), inputs);
}

/**
 * tw_troupe_map_unordered:
 * @self: a #TwTroupe
 * @inputs: an array of inputs, of any array type; a floating reference is
 *   sunk
 *
 * Runs the troupe's worker on every element of @inputs, as separate
 * tasks, and hands their futures out in the order they settle. The
 * elements of an `av` are unboxed, as tw_troupe_map() does.
 *
 * Returns: (transfer full): a #TwAsCompleted of one future per input
 *
 * Since: 1.0
 */
TwAsCompleted *
tw_troupe_map_unordered (TwTroupe *self,
                         GVariant *inputs)
{
  g_autoptr(GPtrArray) futures = NULL;
  GVariantIter iter;
  GVariant *input;

  g_return_val_if_fail (TW_IS_TROUPE (self), NULL);
  g_return_val_if_fail (inputs != NULL, NULL);
  g_return_val_if_fail (g_variant_is_container (inputs) &&
                        g_variant_type_is_array (g_variant_get_type (inputs)), NULL);

  g_variant_ref_sink (inputs);
  futures = g_ptr_array_new_full (g_variant_n_children (inputs), g_object_unref);

  g_variant_iter_init (&iter, inputs);
  while ((input = g_variant_iter_next_value (&iter)) != NULL)
    {
      if (g_variant_is_of_type (input, G_VARIANT_TYPE_VARIANT))
        {
          GVariant *boxed = input;

          input = g_variant_get_variant (boxed);
          g_variant_unref (boxed);
        }

      g_ptr_array_add (futures, tw_troupe_submit (self, input));
      g_variant_unref (input);
    }

  g_variant_unref (inputs);

  return tw_as_completed_new ((TwFuture **)futures->pdata, futures->len);
}
