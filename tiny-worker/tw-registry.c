/* tw-registry.c
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

#include "tw-registry-private.h"

/*
 * The functions registered by name, which process mode starts in its
 * children by that name. Registrations are never removed, so a looked-up
 * function and its data stay valid for the life of the program.
 */

typedef struct
{
  TwFunc          func;        /* or NULL for a chunk function */
  TwChunkFunc     chunk_func;  /* or NULL for a plain function */
  gpointer        user_data;
} TwRegistration;

G_LOCK_DEFINE_STATIC (registry);
/* Protected by the registry lock; never freed. */
static GHashTable *registry;  /* name -> TwRegistration */

/* Looks up a registered function: sets exactly one of @func and
 * @chunk_func. */
gboolean
tw_registry_lookup (const char  *name,
                    TwFunc      *func,
                    TwChunkFunc *chunk_func,
                    gpointer    *user_data)
{
  TwRegistration *registration = NULL;

  G_LOCK (registry);
  if (registry != NULL)
    registration = g_hash_table_lookup (registry, name);
  G_UNLOCK (registry);

  if (registration == NULL)
    return FALSE;

  *func = registration->func;
  *chunk_func = registration->chunk_func;
  *user_data = registration->user_data;

  return TRUE;
}

static void
tw_registry_add (const char     *name,
                 TwFunc          func,
                 TwChunkFunc     chunk_func,
                 gpointer        user_data,
                 GDestroyNotify  destroy)
{
  TwRegistration *registration;
  gboolean taken;

  G_LOCK (registry);
  if (registry == NULL)
    registry = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  taken = g_hash_table_contains (registry, name);
  if (!taken)
    {
      registration = g_new0 (TwRegistration, 1);
      registration->func = func;
      registration->chunk_func = chunk_func;
      registration->user_data = user_data;
      g_hash_table_insert (registry, g_strdup (name), registration);
    }
  G_UNLOCK (registry);

  /* Outside the lock: the destroy notify is user code. */
  if (taken)
    {
      g_critical ("A function is already registered under the name “%s”", name);
      if (destroy != NULL)
        destroy (user_data);
    }
}

/**
 * tw_register_func:
 * @name: a name, unique in the program
 * @func: (scope notified) (closure user_data) (destroy destroy): the function
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data; called at once, with a
 *   critical warning, if @name is registered already, and otherwise
 *   never: registrations last as long as the program
 *
 * Registers @func under @name, so that tw_troupe_new_for_func_name() can
 * find it in this process and, in %TW_TROUPE_MODE_PROCESS, in the worker
 * processes, which run the same program. Register every function before
 * calling tw_init(). Registering a name twice is a programmer error.
 *
 * Since: 1.0
 */
void
tw_register_func (const char     *name,
                  TwFunc          func,
                  gpointer        user_data,
                  GDestroyNotify  destroy)
{
  g_return_if_fail (name != NULL);
  g_return_if_fail (func != NULL);

  tw_registry_add (name, func, NULL, user_data, destroy);
}

/**
 * tw_register_chunk_func:
 * @name: a name, unique in the program, shared with tw_register_func()
 * @func: (scope notified) (closure user_data) (destroy destroy): the function
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data, as tw_register_func() does
 *
 * Registers @func under @name, like tw_register_func(), for a function
 * that takes a whole chunk of inputs at once. A troupe made with
 * tw_troupe_new_for_func_name() then hands each chunk of tw_troupe_map()
 * to one call of @func, and each task of tw_troupe_submit() to a call
 * with a one-element array. The value of tw_troupe_map() is the same
 * `av` of the outputs as for a #TwFunc.
 *
 * Since: 1.0
 */
void
tw_register_chunk_func (const char     *name,
                        TwChunkFunc     func,
                        gpointer        user_data,
                        GDestroyNotify  destroy)
{
  g_return_if_fail (name != NULL);
  g_return_if_fail (func != NULL);

  tw_registry_add (name, NULL, func, user_data, destroy);
}
