/* tw-notifier.c
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

#include "tw-notifier-private.h"

struct _TwNotifier
{
  gatomicrefcount  ref_count;  /* the owner's, and the pending source's */

  /* Read-only after tw_notifier_new(). */
  GMainContext    *context;
  GWeakRef         owner;      /* never reffed off its context */
  TwNotifierFunc   func;

  /* Protected by lock. */
  GMutex           lock;
  GSource         *source;     /* the pending call, or NULL */

  /* Atomic. */
  gint             scheduled;  /* a call is pending */
};

TwNotifier *
tw_notifier_new (GMainContext   *context,
                 GObject        *owner,
                 TwNotifierFunc  func)
{
  TwNotifier *self = g_new0 (TwNotifier, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->context = g_main_context_ref (context);
  g_weak_ref_init (&self->owner, owner);
  self->func = func;
  g_mutex_init (&self->lock);

  return self;
}

void
tw_notifier_unref (TwNotifier *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_assert (self->source == NULL);
  g_weak_ref_clear (&self->owner);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->lock);
  g_free (self);
}

static gboolean
tw_notifier_cb (gpointer user_data)
{
  TwNotifier *self = user_data;
  GObject *owner;

  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->source, g_source_unref);
  g_mutex_unlock (&self->lock);
  g_atomic_int_set (&self->scheduled, FALSE);

  owner = g_weak_ref_get (&self->owner);
  if (owner != NULL)
    {
      self->func (owner);
      g_object_unref (owner);
    }

  return G_SOURCE_REMOVE;
}

void
tw_notifier_schedule (TwNotifier *self)
{
  GSource *source;

  /* Read first: a plain read keeps the cache line shared between threads. */
  if (g_atomic_int_get (&self->scheduled) ||
      !g_atomic_int_compare_and_exchange (&self->scheduled, FALSE, TRUE))
    return;

  g_atomic_ref_count_inc (&self->ref_count);
  source = g_idle_source_new ();
  g_source_set_static_name (source, "[tw] troupe notify");
  g_source_set_priority (source, G_PRIORITY_DEFAULT_IDLE);
  g_source_set_callback (source, tw_notifier_cb, self, (GDestroyNotify)tw_notifier_unref);

  g_mutex_lock (&self->lock);
  g_assert (self->source == NULL);
  self->source = source;
  g_mutex_unlock (&self->lock);

  g_source_attach (source, self->context);
}

/* Called when the owner goes: nobody is left to notify, so a pending call
 * would only keep the notifier alive in a context that may never run. */
void
tw_notifier_forget_owner (TwNotifier *self)
{
  GSource *source;

  g_mutex_lock (&self->lock);
  source = g_steal_pointer (&self->source);
  g_mutex_unlock (&self->lock);

  if (source != NULL)
    {
      g_source_destroy (source);
      g_source_unref (source);
    }
}
