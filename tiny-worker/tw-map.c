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
#include "tw-av-private.h"
#include "tw-error.h"
#include "tw-future-private.h"
#include "tw-registry-private.h"
#include "tw-troupe-private.h"

/*
 * tw_troupe_map() splits its inputs into chunks, as multiprocessing's
 * Pool.map does, so that small tasks do not pay for a future and a round
 * trip each: each chunk is one task, and in process mode one frame each
 * way. Pool.map makes four per worker; we make sixteen, because a worker
 * process keeps a second chunk queued behind the one it runs, and with
 * four one worker was often left with a chunk or two more than the
 * other at the end (five of eight). A chunk costs a few microseconds.
 */

#define CHUNKS_PER_WORKER 16
/* Chunks queued or in flight at a time, per worker, besides one. */
#define CHUNKS_AHEAD_PER_WORKER 3

/* Whether every chunk's outputs are an array of the same type other
 * than `av`, as a chunk function may return. */
static gboolean
tw_map_chunks_share_type (GVariant *chunks)
{
  gsize n = g_variant_n_children (chunks);
  g_autoptr(GVariant) first = NULL;

  if (n == 0)
    return FALSE;

  first = g_variant_get_child_value (chunks, 0);
  if (g_variant_is_of_type (first, G_VARIANT_TYPE ("av")))
    return FALSE;

  for (gsize i = 1; i < n; i++)
    {
      g_autoptr(GVariant) chunk = g_variant_get_child_value (chunks, i);

      if (!g_variant_type_equal (g_variant_get_type (chunk), g_variant_get_type (first)))
        return FALSE;
    }

  return TRUE;
}

/* Joins chunks of outputs of one array type into one array of that type;
 * an array of fixed-size elements by copying their bytes. */
static GVariant *
tw_map_concat (GVariant           *chunks,
               const GVariantType *type)
{
  gsize element_size = tw_av_fixed_element_size (g_variant_type_element (type));
  GVariantBuilder builder;
  GByteArray *data;
  gboolean trusted = TRUE;
  GVariantIter iter;
  GVariant *chunk;
  g_autoptr(GBytes) bytes = NULL;

  if (element_size == 0)
    {
      g_variant_builder_init (&builder, type);
      g_variant_iter_init (&iter, chunks);
      while ((chunk = g_variant_iter_next_value (&iter)) != NULL)
        {
          GVariantIter outputs;
          GVariant *output;

          g_variant_iter_init (&outputs, chunk);
          while ((output = g_variant_iter_next_value (&outputs)) != NULL)
            {
              g_variant_builder_add_value (&builder, output);
              g_variant_unref (output);
            }
          g_variant_unref (chunk);
        }
      return g_variant_ref_sink (g_variant_builder_end (&builder));
    }

  data = g_byte_array_new ();
  g_variant_iter_init (&iter, chunks);
  while ((chunk = g_variant_iter_next_value (&iter)) != NULL)
    {
      gsize n;
      const guint8 *elements = g_variant_get_fixed_array (chunk, &n, element_size);

      trusted = trusted && g_variant_is_normal_form (chunk);
      g_byte_array_append (data, elements, n * element_size);
      g_variant_unref (chunk);
    }
  bytes = g_byte_array_free_to_bytes (data);

  return g_variant_ref_sink (g_variant_new_from_bytes (type, bytes, trusted));
}

/* Sizes the join of @chunks into an av: their elements, and about the
 * bytes these take boxed (up to 8 more for each element not yet boxed). */
static void
tw_map_measure (GVariant *chunks,
                gsize    *n_elements,
                gsize    *n_bytes)
{
  GVariantIter iter;
  GVariant *chunk;

  *n_elements = 0;
  *n_bytes = 0;
  g_variant_iter_init (&iter, chunks);
  while ((chunk = g_variant_iter_next_value (&iter)) != NULL)
    {
      gsize n = g_variant_n_children (chunk);

      *n_elements += n;
      *n_bytes += g_variant_get_size (chunk);
      if (!g_variant_is_of_type (chunk, G_VARIANT_TYPE ("av")))
        *n_bytes += 8 * n;
      g_variant_unref (chunk);
    }
}

/* Joins the outputs of the chunks into one av, copying the serialised
 * elements of those that are av (tw-process-runner.c checks those that
 * come from another process) rather than making a GVariant of each, and
 * boxing those of a packed array (see #TwChunkBuilder) from its bytes. */
static GVariant *
tw_map_join_av (GVariant *chunks)
{
  TwAvBuilder builder;
  GVariantIter iter;
  GVariant *chunk;
  gsize n_elements;
  gsize n_bytes;

  tw_map_measure (chunks, &n_elements, &n_bytes);
  tw_av_builder_init (&builder, n_elements, n_bytes);
  g_variant_iter_init (&iter, chunks);
  while ((chunk = g_variant_iter_next_value (&iter)) != NULL)
    {
      TwAvIter elements;
      const guint8 *element;
      gsize size;

      if (g_variant_is_of_type (chunk, G_VARIANT_TYPE ("av")) &&
          tw_av_iter_init (&elements, chunk))
        {
          builder.trusted = builder.trusted && g_variant_is_normal_form (chunk);
          while (tw_av_iter_next (&elements, &element, &size))
            tw_av_builder_add_serialised (&builder, element, size);
        }
      else
        tw_av_builder_add_array (&builder, chunk);
      g_variant_unref (chunk);
    }

  return g_variant_ref_sink (tw_av_builder_end (&builder));
}

/* Gathers outputs of one type into an array of that type: the bytes of
 * a basic fixed-size type one after another, any other through a
 * #GVariantBuilder. */
typedef struct
{
  const GVariantType *type;         /* of each output */
  gsize               size;         /* its fixed size, or 0 */
  GByteArray         *data;         /* the outputs so far, if of a fixed size */
  gboolean            trusted;      /* all of @data is in normal form */
  GVariantBuilder     builder;      /* the outputs so far, otherwise */
  gsize               n;            /* how many so far */
} TwMapTypedJoin;

static gboolean
tw_map_typed_join_mismatch (TwMapTypedJoin      *self,
                            const GVariantType  *type,
                            GError             **error)
{
  g_autofree char *wanted = g_variant_type_dup_string (self->type);
  g_autofree char *found = g_variant_type_dup_string (type);

  g_set_error (error, TW_ERROR, TW_ERROR_INVALID_RESULT,
               "Output %" G_GSIZE_FORMAT " of the map is of type “%s”, not of the "
               "type “%s” the map was asked for", self->n, found, wanted);

  return FALSE;
}

/* Appends one output, unboxed from an av, if it is of the type. */
static gboolean
tw_map_typed_join_add (TwMapTypedJoin  *self,
                       GVariant        *output,
                       GError         **error)
{
  if (!g_variant_is_of_type (output, self->type))
    return tw_map_typed_join_mismatch (self, g_variant_get_type (output), error);

  /* Stored in normal form, whatever form the av had. */
  if (self->size > 0)
    {
      g_byte_array_set_size (self->data, self->data->len + self->size);
      g_variant_store (output, self->data->data + self->data->len - self->size);
    }
  else
    g_variant_builder_add_value (&self->builder, output);
  self->n++;

  return TRUE;
}

/* Appends the outputs of one chunk: an array of the type, or an av of
 * outputs of the type, which are unboxed. */
static gboolean
tw_map_typed_join_add_chunk (TwMapTypedJoin  *self,
                             GVariant        *chunk,
                             GError         **error)
{
  const GVariantType *element_type = g_variant_type_element (g_variant_get_type (chunk));
  gsize n = g_variant_n_children (chunk);
  GVariantIter iter;
  GVariant *output;

  if (n == 0)
    return TRUE;

  if (g_variant_type_equal (element_type, self->type) && self->size > 0)
    {
      const guint8 *elements = g_variant_get_fixed_array (chunk, &n, self->size);

      self->trusted = self->trusted && g_variant_is_normal_form (chunk);
      g_byte_array_append (self->data, elements, n * self->size);
      self->n += n;
      return TRUE;
    }

  if (!g_variant_type_equal (element_type, self->type) &&
      !g_variant_type_equal (element_type, G_VARIANT_TYPE_VARIANT))
    return tw_map_typed_join_mismatch (self, element_type, error);

  g_variant_iter_init (&iter, chunk);
  while ((output = g_variant_iter_next_value (&iter)) != NULL)
    {
      gboolean added;

      if (!g_variant_type_equal (element_type, self->type))
        {
          GVariant *boxed = output;

          output = g_variant_get_variant (boxed);
          g_variant_unref (boxed);
        }
      added = tw_map_typed_join_add (self, output, error);
      g_variant_unref (output);
      if (!added)
        return FALSE;
    }

  return TRUE;
}

/* Joins the chunks into an array of @type; the first output of another
 * type fails the join with %TW_ERROR_INVALID_RESULT. */
static GVariant *
tw_map_join_typed (GVariant            *chunks,
                   const GVariantType  *type,
                   GError             **error)
{
  g_autoptr(GVariantType) array_type = g_variant_type_new_array (type);
  TwMapTypedJoin join = { 0, };
  gsize n_outputs = 0;
  gboolean joined = TRUE;
  GVariantIter iter;
  GVariant *chunk;
  g_autoptr(GBytes) bytes = NULL;

  g_variant_iter_init (&iter, chunks);
  while ((chunk = g_variant_iter_next_value (&iter)) != NULL)
    {
      n_outputs += g_variant_n_children (chunk);
      g_variant_unref (chunk);
    }

  join.type = type;
  join.size = tw_av_fixed_element_size (type);
  join.trusted = TRUE;
  if (join.size > 0)
    join.data = g_byte_array_sized_new (MIN (n_outputs * join.size, G_MAXUINT));
  else
    g_variant_builder_init (&join.builder, array_type);

  g_variant_iter_init (&iter, chunks);
  while (joined && (chunk = g_variant_iter_next_value (&iter)) != NULL)
    {
      joined = tw_map_typed_join_add_chunk (&join, chunk, error);
      g_variant_unref (chunk);
    }

  if (join.size == 0 && joined)
    return g_variant_ref_sink (g_variant_builder_end (&join.builder));
  if (join.size == 0)
    {
      g_variant_builder_clear (&join.builder);
      return NULL;
    }

  bytes = g_byte_array_free_to_bytes (join.data);

  return joined ? g_variant_ref_sink (g_variant_new_from_bytes (array_type, bytes, join.trusted))
                : NULL;
}

/* The map's future, and how to join its chunks. */
typedef struct
{
  TwFuture     *output;
  GVariantType *output_type; /* of each output */
  gboolean      keep_type;   /* chunks that share a chunk function's array
                              * type join in that type (tw_troupe_map()) */
} TwMapJoin;

static GVariant *
tw_map_join (TwMapJoin  *join,
             GVariant   *chunks,
             GError    **error)
{
  if (join->keep_type && tw_map_chunks_share_type (chunks))
    {
      g_autoptr(GVariant) first = g_variant_get_child_value (chunks, 0);

      return tw_map_concat (chunks, g_variant_get_type (first));
    }

  if (g_variant_type_equal (join->output_type, G_VARIANT_TYPE_VARIANT))
    return tw_map_join_av (chunks);

  return tw_map_join_typed (chunks, join->output_type, error);
}

static void
tw_map_chunks_settled_cb (TwFuture *all,
                          gpointer  user_data)
{
  TwMapJoin *join = user_data;
  GVariant *chunks = tw_future_peek_value (all);
  GError *error = NULL;
  GVariant *value;

  if (chunks == NULL)
    tw_future_settle (join->output, NULL, tw_future_dup_error (all));
  else
    {
      value = tw_map_join (join, chunks, &error);
      tw_future_settle (join->output, value, error);
    }

  g_object_unref (join->output);
  g_variant_type_free (join->output_type);
  g_free (join);
}

/* The inputs of one chunk: a slice of @inputs, of the same type. */
static GVariant *
tw_map_new_chunk_input (GVariant *inputs,
                        guint     offset,
                        guint     length)
{
  const GVariantType *element_type = g_variant_type_element (g_variant_get_type (inputs));
  gsize element_size = tw_av_fixed_element_size (element_type);
  GVariantBuilder builder;

  /* A slice of the inputs' bytes, not a copy: the caller's thread cuts
   * every chunk before the map returns, and copies touched as many new
   * pages as the inputs take. */
  if (element_size > 0)
    {
      g_autoptr(GBytes) all = g_variant_get_data_as_bytes (inputs);
      g_autoptr(GBytes) bytes = g_bytes_new_from_bytes (all, offset * element_size,
                                                        length * element_size);

      /* Trusted when every value of the type is in normal form, so that
       * nothing checks each element again before the chunk is sent. */
      return g_variant_ref_sink (g_variant_new_from_bytes (g_variant_get_type (inputs), bytes,
                                                           tw_av_fixed_type_is_always_normal (element_type)));
    }

  g_variant_builder_init (&builder, g_variant_get_type (inputs));
  for (guint i = offset; i < offset + length; i++)
    {
      g_autoptr(GVariant) input = g_variant_get_child_value (inputs, i);

      g_variant_builder_add_value (&builder, input);
    }

  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

/* Whether the troupe runs a function registered by
 * tw_register_chunk_func(), whose arrays keep their type. */
static gboolean
tw_map_runs_chunk_func (TwTroupe *troupe)
{
  g_autofree char *name = NULL;
  TwChunkFunc chunk_func = NULL;
  gpointer user_data;
  TwFunc func;

  g_object_get (troupe, "func-name", &name, NULL);

  return name != NULL && tw_registry_lookup (name, &func, &chunk_func, &user_data) &&
         chunk_func != NULL;
}

/*
 * The chunks are cut and submitted at once, but each waits in the pool's
 * waiting list (holding no worker, as a task chained to a future does)
 * until its gate opens: a worker process takes from the queue as many
 * tasks as its pipeline holds, so with every chunk queued at the start
 * one worker could take most of them and leave the other idle for the
 * rest of the map. A few gates per worker open at the start, and each
 * chunk that succeeds opens the next, so that each worker can take its
 * next chunk while it runs one (see tw_process_server_may_take()).
 */
typedef struct
{
  gatomicrefcount  ref_count;
  GPtrArray       *chunks;   /* the pool's TwFuture per chunk */
  GPtrArray       *gates;    /* TwFuture per chunk, settled with its input */
  GMutex           lock;
  GPtrArray       *inputs;   /* each chunk's input, until its gate opens */
  guint            next;     /* the next gate to open */
} TwMapFeed;

static TwMapFeed *
tw_map_feed_ref (TwMapFeed *feed)
{
  g_atomic_ref_count_inc (&feed->ref_count);

  return feed;
}

static void
tw_map_feed_unref (TwMapFeed *feed)
{
  if (!g_atomic_ref_count_dec (&feed->ref_count))
    return;

  g_ptr_array_unref (feed->chunks);
  g_ptr_array_unref (feed->gates);
  g_ptr_array_unref (feed->inputs);
  g_mutex_clear (&feed->lock);
  g_free (feed);
}

/* A chunk's input, or %NULL once its gate opened. */
static void
tw_map_feed_input_free (gpointer input)
{
  if (input != NULL)
    g_variant_unref (input);
}

/* Queues the next chunk, if any is left and the map goes on. */
static void
tw_map_feed_open_next (TwMapFeed *feed)
{
  GVariant *input;
  guint index;

  g_mutex_lock (&feed->lock);
  index = feed->next;
  if (index == feed->inputs->len)
    {
      g_mutex_unlock (&feed->lock);
      return;
    }
  feed->next++;
  input = g_steal_pointer (&feed->inputs->pdata[index]);
  g_mutex_unlock (&feed->lock);

  tw_future_settle (feed->gates->pdata[index], input, NULL);
}

static void
tw_map_feed_chunk_settled_cb (TwFuture *chunk,
                              gpointer  user_data)
{
  TwMapFeed *feed = user_data;

  if (tw_future_peek_value (chunk) != NULL)
    tw_map_feed_open_next (feed);
  tw_map_feed_unref (feed);
}

/* Once the output has failed or was cancelled, the chunks that have not
 * finished are cancelled, the last first, so that a worker freed by
 * cancelling its chunk does not start one about to be cancelled; the
 * gates still closed are then settled too, to release the pool. */
static void
tw_map_output_settled_cb (TwFuture *output,
                          gpointer  user_data)
{
  TwMapFeed *feed = user_data;
  guint first, last;

  g_mutex_lock (&feed->lock);
  first = feed->next;
  last = feed->inputs->len;
  feed->next = last;
  g_mutex_unlock (&feed->lock);

  if (tw_future_get_state (output) != TW_FUTURE_STATE_SUCCEEDED)
    for (guint i = feed->chunks->len; i > 0; i--)
      tw_future_cancel (feed->chunks->pdata[i - 1]);

  for (guint i = first; i < last; i++)
    tw_future_settle (feed->gates->pdata[i], NULL,
                      g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                           "The map stopped before this chunk was queued"));

  tw_map_feed_unref (feed);
}

/* Consumes @inputs. The chunks are gathered as tw_future_allv() does. */
static TwFuture *
tw_map_start (TwPool             *pool,
              guint               n_workers,
              const GVariantType *output_type,
              gboolean            keep_type,
              GVariant           *inputs)
{
  guint n_inputs = g_variant_n_children (inputs);
  guint n_chunks = MAX (1, MIN (n_inputs, n_workers * CHUNKS_PER_WORKER));
  guint chunk_size = MAX (1, (n_inputs + n_chunks - 1) / n_chunks);
  TwMapFeed *feed = g_new0 (TwMapFeed, 1);
  TwFuture *output = tw_future_new ();
  TwMapJoin *join = g_new0 (TwMapJoin, 1);
  TwFuture *all;

  g_atomic_ref_count_init (&feed->ref_count);
  g_mutex_init (&feed->lock);
  feed->chunks = g_ptr_array_new_with_free_func (g_object_unref);
  feed->gates = g_ptr_array_new_with_free_func (g_object_unref);
  feed->inputs = g_ptr_array_new_with_free_func (tw_map_feed_input_free);
  for (guint offset = 0; offset < n_inputs; offset += chunk_size)
    {
      guint length = MIN (chunk_size, n_inputs - offset);
      TwFuture *gate = tw_future_new ();

      g_ptr_array_add (feed->inputs, tw_map_new_chunk_input (inputs, offset, length));
      g_ptr_array_add (feed->gates, gate);
      g_ptr_array_add (feed->chunks, tw_pool_submit_future (pool, gate, TRUE));
    }
  g_variant_unref (inputs);

  all = tw_future_allv ((TwFuture **)feed->chunks->pdata, feed->chunks->len);
  join->output = g_object_ref (output);
  join->output_type = g_variant_type_copy (output_type);
  join->keep_type = keep_type;
  tw_future_add_dependent (all, tw_map_chunks_settled_cb, join);
  g_object_unref (all);

  for (guint i = 0; i < feed->chunks->len; i++)
    tw_future_add_dependent (feed->chunks->pdata[i], tw_map_feed_chunk_settled_cb,
                             tw_map_feed_ref (feed));
  /* After the chunks are all in the array; this may run at once. */
  tw_future_add_dependent (output, tw_map_output_settled_cb, tw_map_feed_ref (feed));

  for (guint i = 0; i < CHUNKS_AHEAD_PER_WORKER * n_workers + 1; i++)
    tw_map_feed_open_next (feed);
  tw_map_feed_unref (feed);

  return output;
}

/* Consumes @inputs; see tw_troupe_map_full(). */
static TwFuture *
tw_map (TwTroupe           *self,
        GVariant           *inputs,
        const GVariantType *output_type,
        gboolean            keep_type)
{
  GError *error = NULL;
  TwPool *pool;

  pool = tw_troupe_ensure_pool (self, &error);
  if (pool == NULL)
    {
      g_variant_unref (inputs);
      return tw_future_new_for_error (error);
    }

  return tw_map_start (pool, tw_troupe_get_n_workers (self), output_type, keep_type, inputs);
}

/**
 * tw_troupe_map:
 * @self: a #TwTroupe
 * @inputs: an array of inputs, of any array type; a floating reference is
 *   sunk
 *
 * Runs the troupe's worker on every element of @inputs and gathers the
 * outputs in input order. The elements of an `av` are unboxed, so a
 * worker sees the same values whether they came in an `ax` or an `av`.
 * The inputs are sent in chunks, about sixteen per worker, so that many
 * small tasks cost little more than one each; in %TW_TROUPE_MODE_PROCESS
 * a chunk is one message each way. Each input is still a separate call
 * of the worker.
 *
 * The chunks are queued a few per worker at a time, so that the workers
 * share them to the end. Cancelling the returned future, or its failing,
 * cancels the chunks that have not finished.
 *
 * With a function registered by tw_register_chunk_func(), each chunk is
 * one call of it instead, and when every chunk's outputs are an array of
 * the same type other than `av` (such as an `ax`), the value is one array
 * of that type, copied from the chunks' bytes when its elements have a
 * fixed size.
 *
 * When the outputs all have one type, tw_troupe_map_full() gives them
 * in an array of that type, which is quicker to make and to read.
 *
 * Returns: (transfer full): a future whose value is an `av` of the
 *   outputs (or the chunk function's array type, see above), in the order
 *   of @inputs; an empty `av` if @inputs is empty; or which fails with the error of
 *   the first chunk found to have failed, as tw_troupe_submit() describes
 *
 * Since: 1.0
 */
TwFuture *
tw_troupe_map (TwTroupe *self,
               GVariant *inputs)
{
  tw_return_error_if_fail (TW_IS_TROUPE (self));
  tw_return_error_if_fail (inputs != NULL);
  tw_return_error_if_fail (g_variant_is_container (inputs) &&
                           g_variant_type_is_array (g_variant_get_type (inputs)));

  return tw_map (self, g_variant_ref_sink (inputs), G_VARIANT_TYPE_VARIANT,
                 tw_map_runs_chunk_func (self));
}

/**
 * tw_troupe_map_full:
 * @self: a #TwTroupe
 * @inputs: an array of inputs, of any array type; a floating reference is
 *   sunk
 * @output_type: the type of every output: a definite type
 *
 * Runs the troupe's worker on every element of @inputs, in chunks, as
 * tw_troupe_map() does, and gathers the outputs in input order in an
 * array of @output_type: an `ax` for int64 outputs, read back with
 * g_variant_get_fixed_array() rather than one #GVariant per element.
 * Outputs of a basic fixed-size type, such as int64 or double, are joined
 * as bytes.
 *
 * Every output must be of @output_type: the first one that is not fails
 * the map with %TW_ERROR_INVALID_RESULT, naming its index and both
 * types. With %G_VARIANT_TYPE_VARIANT the value is an `av`, the same as
 * tw_troupe_map() gives for a plain function.
 *
 * A function registered by tw_register_chunk_func() returns an array of
 * @output_type (the type `a` followed by it), or an `av` of outputs of
 * that type; its arrays are boxed into an `av` when @output_type is
 * %G_VARIANT_TYPE_VARIANT.
 *
 * Returns: (transfer full): a future whose value is an array of
 *   @output_type holding the outputs in the order of @inputs (an empty
 *   one if @inputs is empty); or which fails with the error of the first
 *   chunk found to have failed, as tw_troupe_submit() describes, or with
 *   %TW_ERROR_INVALID_RESULT for an output of another type
 *
 * Since: 1.0
 */
TwFuture *
tw_troupe_map_full (TwTroupe           *self,
                    GVariant           *inputs,
                    const GVariantType *output_type)
{
  tw_return_error_if_fail (TW_IS_TROUPE (self));
  tw_return_error_if_fail (inputs != NULL);
  tw_return_error_if_fail (g_variant_is_container (inputs) &&
                           g_variant_type_is_array (g_variant_get_type (inputs)));
  tw_return_error_if_fail (output_type != NULL && g_variant_type_is_definite (output_type));

  return tw_map (self, g_variant_ref_sink (inputs), output_type, FALSE);
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
