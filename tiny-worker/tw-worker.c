/* tw-worker.c
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
#include "tw-pool-private.h"
#include "tw-troupe-private.h"
#include "tw-worker-private.h"

/**
 * SECTION:tw-worker
 * @title: TwWorker
 * @short_description: A worker with its own resources, one per thread or process
 *
 * #TwWorker is the base class of workers that need state: a connection, a
 * model, a cache. A troupe made with tw_troupe_new_for_worker() creates
 * one instance per worker thread (or process), in that thread, from the
 * construct properties given to the troupe, calls #TwWorkerClass.setup
 * once, then #TwWorkerClass.call for every task that worker takes, and
 * #TwWorkerClass.teardown when the troupe shuts down. An instance is
 * never shared between threads, so its fields need no locking.
 *
 * |[<!-- language="C" -->
 * struct _MyWorker { TwWorker parent_instance; char *foo; char *connection; };
 *
 * static gboolean
 * my_worker_setup (TwWorker *worker, GCancellable *cancellable, GError **error)
 * {
 *   MyWorker *self = MY_WORKER (worker);
 *
 *   self->connection = g_strdup (self->foo);  // connect once
 *   return TRUE;
 * }
 *
 * static GVariant *
 * my_worker_call (TwWorker *worker, GVariant *input, GCancellable *cancellable, GError **error)
 * {
 *   MyWorker *self = MY_WORKER (worker);
 *
 *   return g_variant_new_take_string (g_strdup_printf ("%s:%d", self->connection,
 *                                                      g_variant_get_int32 (input)));
 * }
 * ]|
 */

G_DEFINE_ABSTRACT_TYPE (TwWorker, tw_worker, G_TYPE_OBJECT)

static gboolean
tw_worker_real_setup (TwWorker      *self,
                      GCancellable  *cancellable,
                      GError       **error)
{
  return TRUE;
}

static void
tw_worker_real_teardown (TwWorker *self)
{
}

static void
tw_worker_class_init (TwWorkerClass *klass)
{
  klass->setup = tw_worker_real_setup;
  klass->teardown = tw_worker_real_teardown;
}

static void
tw_worker_init (TwWorker *self)
{
}

/**
 * tw_worker_setup:
 * @self: a #TwWorker
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Calls the #TwWorkerClass.setup virtual method. Troupes call it; call it
 * yourself only to use a worker directly.
 *
 * Returns: %TRUE if the worker is ready, %FALSE with @error set otherwise
 *
 * Since: 1.0
 */
gboolean
tw_worker_setup (TwWorker      *self,
                 GCancellable  *cancellable,
                 GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  gboolean ret;

  g_return_val_if_fail (TW_IS_WORKER (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  ret = TW_WORKER_GET_CLASS (self)->setup (self, cancellable, &local_error);

  if (!ret && local_error == NULL)
    {
      g_set_error (error, TW_ERROR, TW_ERROR_INVALID_RESULT,
                   "%s.setup() failed without setting an error",
                   G_OBJECT_TYPE_NAME (self));
      return FALSE;
    }

  if (ret && local_error != NULL)
    g_warning ("%s.setup() succeeded but also set an error: %s",
               G_OBJECT_TYPE_NAME (self), local_error->message);
  else if (!ret)
    g_propagate_error (error, g_steal_pointer (&local_error));

  return ret;
}

/**
 * tw_worker_call:
 * @self: a #TwWorker
 * @input: the input value
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Calls the #TwWorkerClass.call virtual method, and checks that it keeps
 * its contract: a worker that returns %NULL without an error, or a value
 * together with an error, fails with %TW_ERROR_INVALID_RESULT.
 *
 * Returns: (transfer full): the output value, or %NULL with @error set
 *
 * Since: 1.0
 */
GVariant *
tw_worker_call (TwWorker      *self,
                GVariant      *input,
                GCancellable  *cancellable,
                GError       **error)
{
  TwWorkerClass *klass;
  GError *local_error = NULL;
  GVariant *result;

  g_return_val_if_fail (TW_IS_WORKER (self), NULL);
  g_return_val_if_fail (input != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  klass = TW_WORKER_GET_CLASS (self);
  if (klass->call == NULL)
    {
      g_set_error (error, TW_ERROR, TW_ERROR_INVALID_RESULT,
                   "%s does not override TwWorker.call()",
                   G_OBJECT_TYPE_NAME (self));
      return NULL;
    }

  result = klass->call (self, input, cancellable, &local_error);

  return tw_check_result (result, local_error, G_OBJECT_TYPE_NAME (self), error);
}

/**
 * tw_worker_teardown:
 * @self: a #TwWorker
 *
 * Calls the #TwWorkerClass.teardown virtual method.
 *
 * Since: 1.0
 */
void
tw_worker_teardown (TwWorker *self)
{
  g_return_if_fail (TW_IS_WORKER (self));

  TW_WORKER_GET_CLASS (self)->teardown (self);
}

/**
 * tw_report_progress:
 * @fraction: how far the task has come, from 0 to 1
 * @message: (nullable): what it is doing, or %NULL
 *
 * Reports the progress of the task that the calling worker is running:
 * call it from #TwWorkerClass.call or a #TwFunc, in either mode. The
 * task's #TwFuture shows it as #TwFuture:progress and
 * #TwFuture:progress-message, notified in the future's main context.
 * Called anywhere else, it does nothing.
 *
 * Since: 1.0
 */
void
tw_report_progress (gdouble     fraction,
                    const char *message)
{
  TwFuture *future;

  if (tw_process_report_progress (fraction, message))
    return;

  future = tw_pool_get_current_task ();
  if (future != NULL)
    _tw_future_set_progress (future, fraction, message);
}

/*
 * tw_check_result:
 * @result: (transfer full) (nullable): what a worker returned
 * @local_error: (transfer full) (nullable): the error it set
 * @who: names the worker in messages
 *
 * Enforces the contract of a worker call: exactly one of a value and an
 * error. Bindings produce the other two cases: PyGObject turns a Python
 * exception other than GLib.Error into NULL without an error.
 *
 * Returns: (transfer full): the value, or %NULL with @error set
 */
GVariant *
tw_check_result (GVariant    *result,
                 GError      *local_error,
                 const char  *who,
                 GError     **error)
{
  if (result != NULL)
    result = g_variant_take_ref (result);

  if (result != NULL && local_error == NULL)
    return result;

  if (result == NULL && local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return NULL;
    }

  /* Bindings do this when they cannot run the code at all: GJS runs no
   * JavaScript off its main thread. */
  if (result == NULL)
    g_set_error (error, TW_ERROR, TW_ERROR_INVALID_RESULT,
                 "%s returned NULL without setting an error (a function written in "
                 "JavaScript cannot run on a worker thread: use TW_TROUPE_MODE_PROCESS)", who);
  else
    g_set_error (error, TW_ERROR, TW_ERROR_INVALID_RESULT,
                 "%s returned a value and also set an error: %s",
                 who, local_error->message);

  g_clear_pointer (&result, g_variant_unref);
  g_clear_error (&local_error);

  return NULL;
}

struct _TwWorkerSpec
{
  GType        type;
  guint        n_properties;
  const char **names;   /* interned property names */
  GValue      *values;
};

void
tw_worker_spec_free (TwWorkerSpec *spec)
{
  for (guint i = 0; i < spec->n_properties; i++)
    g_value_unset (&spec->values[i]);

  g_free (spec->names);
  g_free (spec->values);
  g_free (spec);
}

/* Transforms between fundamental types only when nothing is lost, so
 * 2^40 does not silently become a different gint. */
static gboolean
tw_value_transform_exact (const GValue *src,
                          GValue       *dest)
{
  g_auto(GValue) back = G_VALUE_INIT;
  g_autofree char *src_text = NULL;
  g_autofree char *back_text = NULL;

  if (!g_value_type_transformable (G_VALUE_TYPE (src), G_VALUE_TYPE (dest)) ||
      !g_value_transform (src, dest))
    return FALSE;

  g_value_init (&back, G_VALUE_TYPE (src));
  if (!g_value_transform (dest, &back))
    return FALSE;

  src_text = g_strdup_value_contents (src);
  back_text = g_strdup_value_contents (&back);

  return g_str_equal (src_text, back_text);
}

static gboolean
tw_enum_from_string (GValue     *value,
                     const char *name)
{
  g_autoptr(GEnumClass) enum_class = g_type_class_ref (G_VALUE_TYPE (value));
  GEnumValue *enum_value = g_enum_get_value_by_nick (enum_class, name);

  if (enum_value == NULL)
    enum_value = g_enum_get_value_by_name (enum_class, name);
  if (enum_value == NULL)
    return FALSE;

  g_value_set_enum (value, enum_value->value);

  return TRUE;
}

/* Converts @variant to the type of @pspec. Enums also take their nick. */
static gboolean
tw_value_from_variant (GParamSpec  *pspec,
                       GVariant    *variant,
                       GValue      *value,
                       GError     **error)
{
  GType type = G_PARAM_SPEC_VALUE_TYPE (pspec);
  g_auto(GValue) natural = G_VALUE_INIT;
  g_autofree char *printed = NULL;
  gboolean converted;

  g_value_init (value, type);

  if (type == G_TYPE_VARIANT)
    {
      g_value_set_variant (value, variant);
      return TRUE;
    }

  if (G_TYPE_IS_ENUM (type) && g_variant_is_of_type (variant, G_VARIANT_TYPE_STRING))
    converted = tw_enum_from_string (value, g_variant_get_string (variant, NULL));
  else
    {
      g_dbus_gvariant_to_gvalue (variant, &natural);

      converted = g_value_type_compatible (G_VALUE_TYPE (&natural), type);
      if (converted)
        g_value_copy (&natural, value);
      else
        converted = tw_value_transform_exact (&natural, value);
    }

  /* g_param_value_validate() returns TRUE when it had to change the value. */
  if (converted && !g_param_value_validate (pspec, value))
    return TRUE;

  printed = g_variant_print (variant, TRUE);
  g_set_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP,
               "Value %s does not fit property “%s” of type %s",
               printed, pspec->name, g_type_name (type));
  g_value_unset (value);

  return FALSE;
}

/*
 * tw_worker_spec_new:
 * @properties: (nullable): an a{sv} of construct properties
 *
 * Checks that @worker_type is a TwWorker that can be instantiated and that
 * every property exists, is writable and takes its value.
 */
TwWorkerSpec *
tw_worker_spec_new (GType      worker_type,
                    GVariant  *properties,
                    GError   **error)
{
  g_autoptr(GTypeClass) klass = NULL;
  TwWorkerSpec *spec;
  GVariantIter iter;
  const char *name;
  GVariant *variant;
  guint i = 0;

  if (!g_type_is_a (worker_type, TW_TYPE_WORKER) || G_TYPE_IS_ABSTRACT (worker_type))
    {
      g_set_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP,
                   "Type “%s” is not an instantiable subclass of TwWorker",
                   g_type_name (worker_type));
      return NULL;
    }

  klass = g_type_class_ref (worker_type);
  spec = g_new0 (TwWorkerSpec, 1);
  spec->type = worker_type;

  if (properties == NULL)
    return spec;

  spec->names = g_new0 (const char *, g_variant_n_children (properties));
  spec->values = g_new0 (GValue, g_variant_n_children (properties));

  g_variant_iter_init (&iter, properties);
  while (g_variant_iter_loop (&iter, "{&sv}", &name, &variant))
    {
      GParamSpec *pspec = g_object_class_find_property (G_OBJECT_CLASS (klass), name);

      if (pspec == NULL || !(pspec->flags & G_PARAM_WRITABLE))
        {
          g_set_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP,
                       "Worker type “%s” has no writable property “%s”",
                       g_type_name (worker_type), name);
        }
      else if (tw_value_from_variant (pspec, variant, &spec->values[i], error))
        {
          spec->names[i++] = pspec->name;
          spec->n_properties = i;
          continue;
        }

      g_variant_unref (variant);
      tw_worker_spec_free (spec);
      return NULL;
    }

  return spec;
}

/* Creates and sets up one worker, in the calling thread. */
TwWorker *
tw_worker_spec_instantiate (const TwWorkerSpec  *spec,
                            GCancellable        *cancellable,
                            GError             **error)
{
  g_autoptr(TwWorker) worker = NULL;

  worker = (TwWorker *)g_object_new_with_properties (spec->type,
                                                     spec->n_properties,
                                                     spec->names,
                                                     spec->values);

  /* GJS refuses to construct JavaScript objects off its main thread. */
  if (worker == NULL)
    {
      g_set_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP,
                   "Could not create a %s in this thread: its constructor returned NULL "
                   "(a worker written in JavaScript runs only in TW_TROUPE_MODE_PROCESS)",
                   g_type_name (spec->type));
      return NULL;
    }

  if (!tw_worker_setup (worker, cancellable, error))
    return NULL;

  return g_steal_pointer (&worker);
}
