/* tw-combinators.c
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

#include "tw-error.h"
#include "tw-future-private.h"

/**
 * SECTION:tw-combinators
 * @title: Composing futures
 * @short_description: Continuations and combinators
 *
 * Futures compose without blocking a thread. tw_future_then() runs a
 * callback on a future's value and gives back a future for what the
 * callback returns, which may itself come from tw_troupe_submit();
 * tw_future_catch() does the same on an error, and tw_future_finally()
 * either way. Callbacks run in the thread-default #GMainContext of the
 * thread that attached them, never on a worker thread, so that context
 * must be running a main loop.
 *
 * |[<!-- language="C" -->
 * static TwFuture *
 * halve_it (TwFuture *squared, gpointer user_data)
 * {
 *   TwTroupe *halver = user_data;
 *
 *   return tw_troupe_submit_future (halver, squared);
 * }
 *
 * result = tw_future_then (tw_troupe_submit (squarer, g_variant_new_int64 (3)),
 *                          halve_it, halver, NULL);
 * ]|
 *
 * tw_future_all(), tw_future_any() and tw_future_first() gather several
 * futures into one, and need no main loop at all. The value of
 * tw_future_all() is a tuple of the values in input order, so submitting
 * it with tw_troupe_submit_future() chains one task on all of them.
 *
 * Ownership: every function here consumes the futures it is given
 * (transfer full), except the array variants, which take a reference of
 * their own; pass g_object_ref (future) to keep yours.
 */

/* Whether every element of @futures is a TwFuture, for preconditions. */
gboolean
tw_futures_are_valid (TwFuture * const *futures,
                      guint             n_futures)
{
  for (guint i = 0; i < n_futures; i++)
    if (!TW_IS_FUTURE (futures[i]))
      return FALSE;

  return TRUE;
}

typedef enum
{
  RUN_ON_SUCCESS = 1 << 0,
  RUN_ON_FAILURE = 1 << 1,
} TwRunOn;

typedef struct
{
  TwFutureCallback  callback;
  gpointer          user_data;
  GDestroyNotify    destroy;
  GMainContext     *context;     /* where the callback runs */
  TwRunOn           run_on;
  TwFuture         *output;      /* the future handed out */
  TwFuture         *input;       /* set once settled */
} TwContinuation;

/* Before the output settles, so that whoever sees it settled also sees
 * the callback's data released. */
static void
tw_continuation_release_callback (TwContinuation *self)
{
  GDestroyNotify destroy = g_steal_pointer (&self->destroy);

  if (destroy != NULL)
    destroy (self->user_data);
}

static void
tw_continuation_free (gpointer data)
{
  TwContinuation *self = data;

  tw_continuation_release_callback (self);
  g_main_context_unref (self->context);
  g_object_unref (self->output);
  g_clear_object (&self->input);
  g_free (self);
}

/* Settles @output, an owned reference, like @source. */
static void
tw_future_copy_outcome_cb (TwFuture *source,
                           gpointer  user_data)
{
  TwFuture *output = user_data;
  GVariant *value = tw_future_peek_value (source);

  tw_future_settle (output,
                    value ? g_variant_ref (value) : NULL,
                    value ? NULL : tw_future_dup_error (source));
  g_object_unref (output);
}

/* Makes @output settle as @source (owned) does. */
static void
tw_future_adopt (TwFuture *output,
                 TwFuture *source)
{
  tw_future_add_dependent (source, tw_future_copy_outcome_cb, g_object_ref (output));
  g_object_unref (source);
}

static gboolean
tw_continuation_run (gpointer data)
{
  TwContinuation *self = data;
  TwFuture *next = self->callback (self->input, self->user_data);

  if (next != NULL && !TW_IS_FUTURE (next))
    {
      g_critical ("A TwFutureCallback returned something that is not a TwFuture");
      next = NULL;
    }

  tw_continuation_release_callback (self);
  tw_future_adopt (self->output, next ? next : g_object_ref (self->input));

  return G_SOURCE_REMOVE;
}

static void
tw_continuation_input_settled_cb (TwFuture *input,
                                  gpointer  data)
{
  TwContinuation *self = data;
  TwRunOn outcome = tw_future_peek_value (input) ? RUN_ON_SUCCESS : RUN_ON_FAILURE;
  GSource *source;

  if (!(self->run_on & outcome))
    {
      tw_continuation_release_callback (self);
      tw_future_adopt (self->output, g_object_ref (input));
      tw_continuation_free (self);
      return;
    }

  /* Through a source even on the right thread: the callback must never
   * run on a worker thread, and never inside the caller's own call. */
  self->input = g_object_ref (input);
  source = g_idle_source_new ();
  g_source_set_static_name (source, "[tw] continuation");
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, tw_continuation_run, self, tw_continuation_free);
  g_source_attach (source, self->context);
  g_source_unref (source);
}

static TwFuture *
tw_future_continue (TwFuture         *self,
                    TwRunOn           run_on,
                    TwFutureCallback  callback,
                    gpointer          user_data,
                    GDestroyNotify    destroy)
{
  TwContinuation *continuation = g_new0 (TwContinuation, 1);
  TwFuture *output = tw_future_new ();

  continuation->callback = callback;
  continuation->user_data = user_data;
  continuation->destroy = destroy;
  continuation->context = g_main_context_ref_thread_default ();
  continuation->run_on = run_on;
  continuation->output = g_object_ref (output);

  tw_future_add_dependent (self, tw_continuation_input_settled_cb, continuation);
  g_object_unref (self);

  return output;
}

/**
 * tw_future_then: (skip)
 * @self: (transfer full): a #TwFuture
 * @callback: (scope notified) (closure user_data) (destroy destroy): called
 *   with @self once it has succeeded
 * @user_data: data for @callback
 * @destroy: (nullable): frees @user_data when @callback is done with it,
 *   before the returned future settles
 *
 * Continues @self with @callback once it succeeds. If @self fails, the
 * returned future fails with the same error and @callback is not called.
 * @callback runs in the thread-default main context of the caller.
 *
 * Bindings know this function as tw_future_and_then(): JavaScript takes
 * any object with a then() method for a promise, and `await` would call
 * it.
 *
 * Returns: (transfer full): a future for the outcome of the future that
 *   @callback returns, or of @self if it returns %NULL
 *
 * Since: 1.0
 */
TwFuture *
tw_future_then (TwFuture         *self,
                TwFutureCallback  callback,
                gpointer          user_data,
                GDestroyNotify    destroy)
{
  tw_return_error_if_fail (TW_IS_FUTURE (self));
  tw_return_error_if_fail (callback != NULL);

  return tw_future_continue (self, RUN_ON_SUCCESS, callback, user_data, destroy);
}

/**
 * tw_future_and_then:
 * @self: (transfer full): a #TwFuture
 * @callback: (scope notified) (closure user_data) (destroy destroy): called
 *   with @self once it has succeeded
 * @user_data: data for @callback
 * @destroy: (nullable): frees @user_data when @callback is done with it,
 *   before the returned future settles
 *
 * Does what tw_future_then() does, under a name that JavaScript does not
 * mistake for the then() of a promise.
 *
 * Returns: (transfer full): a future for the outcome of the future that
 *   @callback returns, or of @self if it returns %NULL
 *
 * Since: 1.0
 */
TwFuture *
tw_future_and_then (TwFuture         *self,
                    TwFutureCallback  callback,
                    gpointer          user_data,
                    GDestroyNotify    destroy)
{
  return tw_future_then (self, callback, user_data, destroy);
}

/**
 * tw_future_catch:
 * @self: (transfer full): a #TwFuture
 * @callback: (scope notified) (closure user_data) (destroy destroy): called
 *   with @self once it has failed or been cancelled
 * @user_data: data for @callback
 * @destroy: (nullable): frees @user_data when @callback is done with it,
 *   before the returned future settles
 *
 * Continues @self with @callback if it fails, to recover from the error.
 * If @self succeeds, the returned future succeeds with the same value and
 * @callback is not called.
 *
 * Returns: (transfer full): a future for the outcome of the future that
 *   @callback returns, or of @self if it returns %NULL
 *
 * Since: 1.0
 */
TwFuture *
tw_future_catch (TwFuture         *self,
                 TwFutureCallback  callback,
                 gpointer          user_data,
                 GDestroyNotify    destroy)
{
  tw_return_error_if_fail (TW_IS_FUTURE (self));
  tw_return_error_if_fail (callback != NULL);

  return tw_future_continue (self, RUN_ON_FAILURE, callback, user_data, destroy);
}

/**
 * tw_future_finally:
 * @self: (transfer full): a #TwFuture
 * @callback: (scope notified) (closure user_data) (destroy destroy): called
 *   with @self once it has settled
 * @user_data: data for @callback
 * @destroy: (nullable): frees @user_data when @callback is done with it,
 *   before the returned future settles
 *
 * Continues @self with @callback whatever its outcome.
 *
 * Returns: (transfer full): a future for the outcome of the future that
 *   @callback returns, or of @self if it returns %NULL
 *
 * Since: 1.0
 */
TwFuture *
tw_future_finally (TwFuture         *self,
                   TwFutureCallback  callback,
                   gpointer          user_data,
                   GDestroyNotify    destroy)
{
  tw_return_error_if_fail (TW_IS_FUTURE (self));
  tw_return_error_if_fail (callback != NULL);

  return tw_future_continue (self, RUN_ON_SUCCESS | RUN_ON_FAILURE,
                             callback, user_data, destroy);
}

typedef enum
{
  GATHER_ALL,
  GATHER_ANY,
  GATHER_FIRST,
} TwGatherKind;

typedef struct
{
  gatomicrefcount  ref_count;
  TwGatherKind     kind;
  TwFuture        *output;
  gint             n_left;       /* atomic: inputs not yet settled */
  guint            n_values;
  GVariant       **values;       /* for ALL: each slot written once */
  GMutex           lock;
  GError          *first_error;  /* for ANY; protected by lock */
} TwGather;

typedef struct
{
  TwGather *gather;
  guint     index;
} TwGatherSlot;

static void
tw_gather_unref (TwGather *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  for (guint i = 0; i < self->n_values; i++)
    g_clear_pointer (&self->values[i], g_variant_unref);
  g_free (self->values);
  g_clear_error (&self->first_error);
  g_mutex_clear (&self->lock);
  g_object_unref (self->output);
  g_free (self);
}

/* Settles ALL once every value is in; the last input to settle sees
 * them all, as the atomic decrement orders the writes before it. */
static void
tw_gather_all_value (TwGather *self,
                     guint     index,
                     GVariant *value)
{
  self->values[index] = g_variant_ref (value);

  if (g_atomic_int_dec_and_test (&self->n_left))
    tw_future_settle (self->output,
                      g_variant_ref_sink (g_variant_new_tuple (self->values, self->n_values)),
                      NULL);
}

/* ANY fails only when every input has failed, with the first error. */
static void
tw_gather_any_error (TwGather *self,
                     GError   *error)
{
  GError *first;

  g_mutex_lock (&self->lock);
  if (self->first_error == NULL)
    self->first_error = g_steal_pointer (&error);
  g_mutex_unlock (&self->lock);
  g_clear_error (&error);

  if (!g_atomic_int_dec_and_test (&self->n_left))
    return;

  g_mutex_lock (&self->lock);
  first = g_steal_pointer (&self->first_error);
  g_mutex_unlock (&self->lock);

  tw_future_settle (self->output, NULL, first);
}

static void
tw_gather_input_settled_cb (TwFuture *input,
                            gpointer  data)
{
  TwGatherSlot *slot = data;
  TwGather *self = slot->gather;
  GVariant *value = tw_future_peek_value (input);

  if (self->kind == GATHER_FIRST ||
      (self->kind == GATHER_ALL && value == NULL) ||
      (self->kind == GATHER_ANY && value != NULL))
    {
      /* The first such outcome wins; settling again does nothing. */
      tw_future_settle (self->output,
                        value ? g_variant_ref (value) : NULL,
                        value ? NULL : tw_future_dup_error (input));
    }
  else if (self->kind == GATHER_ALL)
    tw_gather_all_value (self, slot->index, value);
  else
    tw_gather_any_error (self, tw_future_dup_error (input));

  tw_gather_unref (self);
  g_free (slot);
}

/* Consumes the futures. */
static TwFuture *
tw_future_gather (TwGatherKind  kind,
                  TwFuture    **futures,
                  guint         n_futures)
{
  TwGather *self;
  TwFuture *output = tw_future_new ();

  if (n_futures == 0)
    {
      if (kind == GATHER_ALL)
        tw_future_settle (output, g_variant_ref_sink (g_variant_new_tuple (NULL, 0)), NULL);
      else
        tw_future_settle (output, NULL,
                          g_error_new_literal (TW_ERROR, TW_ERROR_FAILED,
                                               "No future was given"));
      return output;
    }

  self = g_new0 (TwGather, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->kind = kind;
  self->output = g_object_ref (output);
  self->n_left = n_futures;
  self->n_values = kind == GATHER_ALL ? n_futures : 0;
  self->values = g_new0 (GVariant *, self->n_values);
  g_mutex_init (&self->lock);

  for (guint i = 0; i < n_futures; i++)
    {
      TwGatherSlot *slot = g_new (TwGatherSlot, 1);

      slot->gather = self;
      slot->index = i;
      g_atomic_ref_count_inc (&self->ref_count);
      tw_future_add_dependent (futures[i], tw_gather_input_settled_cb, slot);
      g_object_unref (futures[i]);
    }

  tw_gather_unref (self);

  return output;
}

static TwFuture *
tw_future_gather_valist (TwGatherKind  kind,
                         TwFuture     *first,
                         va_list       args)
{
  g_autoptr(GPtrArray) futures = g_ptr_array_new ();

  for (TwFuture *future = first; future != NULL; future = va_arg (args, TwFuture *))
    g_ptr_array_add (futures, future);

  return tw_future_gather (kind, (TwFuture **)futures->pdata, futures->len);
}

static TwFuture *
tw_future_gather_array (TwGatherKind     kind,
                        TwFuture * const *futures,
                        guint            n_futures)
{
  g_autofree TwFuture **owned = g_new (TwFuture *, n_futures + 1);

  for (guint i = 0; i < n_futures; i++)
    owned[i] = g_object_ref (futures[i]);

  return tw_future_gather (kind, owned, n_futures);
}

/**
 * tw_future_all: (skip)
 * @first: (transfer full): the first future
 * @...: more futures (transfer full), then %NULL
 *
 * Gathers futures into one that succeeds with a tuple of their values,
 * in the order given, once all have succeeded. It fails as soon as one of
 * them fails, with its error; the others go on running.
 *
 * Returns: (transfer full): the gathering future
 *
 * Since: 1.0
 */
TwFuture *
tw_future_all (TwFuture *first,
               ...)
{
  TwFuture *ret;
  va_list args;

  va_start (args, first);
  ret = tw_future_gather_valist (GATHER_ALL, first, args);
  va_end (args);

  return ret;
}

/**
 * tw_future_allv: (rename-to tw_future_all)
 * @futures: (array length=n_futures): the futures
 * @n_futures: how many there are
 *
 * Does what tw_future_all() does, for an array. The futures are not
 * consumed.
 *
 * Returns: (transfer full): the gathering future
 *
 * Since: 1.0
 */
TwFuture *
tw_future_allv (TwFuture * const *futures,
                guint             n_futures)
{
  tw_return_error_if_fail (futures != NULL || n_futures == 0);
  tw_return_error_if_fail (tw_futures_are_valid (futures, n_futures));

  return tw_future_gather_array (GATHER_ALL, futures, n_futures);
}

/**
 * tw_future_any: (skip)
 * @first: (transfer full): the first future
 * @...: more futures (transfer full), then %NULL
 *
 * Gathers futures into one that succeeds with the value of the first of
 * them to succeed. It fails only when all of them have failed, with the
 * error of the first to fail.
 *
 * Returns: (transfer full): the gathering future
 *
 * Since: 1.0
 */
TwFuture *
tw_future_any (TwFuture *first,
               ...)
{
  TwFuture *ret;
  va_list args;

  va_start (args, first);
  ret = tw_future_gather_valist (GATHER_ANY, first, args);
  va_end (args);

  return ret;
}

/**
 * tw_future_anyv: (rename-to tw_future_any)
 * @futures: (array length=n_futures): the futures
 * @n_futures: how many there are
 *
 * Does what tw_future_any() does, for an array. The futures are not
 * consumed.
 *
 * Returns: (transfer full): the gathering future
 *
 * Since: 1.0
 */
TwFuture *
tw_future_anyv (TwFuture * const *futures,
                guint             n_futures)
{
  tw_return_error_if_fail (futures != NULL || n_futures == 0);
  tw_return_error_if_fail (tw_futures_are_valid (futures, n_futures));

  return tw_future_gather_array (GATHER_ANY, futures, n_futures);
}

/**
 * tw_future_first: (skip)
 * @first: (transfer full): the first future
 * @...: more futures (transfer full), then %NULL
 *
 * Gathers futures into one that settles like the first of them to
 * settle, whether it succeeds or fails.
 *
 * Returns: (transfer full): the gathering future
 *
 * Since: 1.0
 */
TwFuture *
tw_future_first (TwFuture *first,
                 ...)
{
  TwFuture *ret;
  va_list args;

  va_start (args, first);
  ret = tw_future_gather_valist (GATHER_FIRST, first, args);
  va_end (args);

  return ret;
}

/**
 * tw_future_firstv: (rename-to tw_future_first)
 * @futures: (array length=n_futures): the futures
 * @n_futures: how many there are
 *
 * Does what tw_future_first() does, for an array. The futures are not
 * consumed.
 *
 * Returns: (transfer full): the gathering future
 *
 * Since: 1.0
 */
TwFuture *
tw_future_firstv (TwFuture * const *futures,
                  guint             n_futures)
{
  tw_return_error_if_fail (futures != NULL || n_futures == 0);
  tw_return_error_if_fail (tw_futures_are_valid (futures, n_futures));

  return tw_future_gather_array (GATHER_FIRST, futures, n_futures);
}
