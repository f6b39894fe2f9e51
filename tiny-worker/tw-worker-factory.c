/* tw-worker-factory.c
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
#include "tw-registry-private.h"
#include "tw-av-private.h"
#include "tw-worker-factory-private.h"
#include "tw-worker-private.h"

typedef struct
{
  GType        type;
  guint        n_properties;
  const char **names;   /* interned property names */
  GValue      *values;
} TwWorkerSpec;

struct _TwWorkerFactory
{
  /* All read-only after creation. */
  TwFunc             func;       /* or NULL for a worker type or chunk function */
  TwChunkFunc        chunk_func; /* or NULL */
  gpointer           user_data;
  GDestroyNotify     destroy;    /* of user_data, with the factory */
  TwWorkerSpec      *spec;       /* or NULL for a function */
  TwWorkerCheckFunc  check;      /* of each output, or NULL */
};

struct _TwWorkerSpec
{
  GType        type;
  guint        n_properties;
  const char **names;   /* interned property names */
  GValue      *values;
};

static void
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
static TwWorkerSpec *
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
static TwWorker *
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

/* Runs a plain function: it has no per-worker state, so its worker is the
 * factory itself. */
TwWorkerFactory *
tw_worker_factory_new_for_func (TwFunc         func,
                                gpointer       user_data,
                                GDestroyNotify destroy)
{
  TwWorkerFactory *self = g_new0 (TwWorkerFactory, 1);

  self->func = func;
  self->user_data = user_data;
  self->destroy = destroy;

  return self;
}

/* Runs the function registered as @name, which it borrows. */
TwWorkerFactory *
tw_worker_factory_new_for_name (const char  *name,
                                GError     **error)
{
  TwWorkerFactory *self;
  TwFunc func;
  TwChunkFunc chunk_func;
  gpointer user_data;

  if (!tw_registry_lookup (name, &func, &chunk_func, &user_data))
    {
      g_set_error (error, TW_ERROR, TW_ERROR_UNKNOWN_FUNC,
                   "No function is registered under the name “%s”; "
                   "call tw_register_func" "() first", name);
      return NULL;
    }

  self = tw_worker_factory_new_for_func (func, user_data, NULL);
  self->chunk_func = chunk_func;

  return self;
}

/* Checks that @worker_type can be instantiated with @properties. */
TwWorkerFactory *
tw_worker_factory_new_for_type (GType      worker_type,
                                GVariant  *properties,
                                GError   **error)
{
  TwWorkerSpec *spec = tw_worker_spec_new (worker_type, properties, error);
  TwWorkerFactory *self;

  if (spec == NULL)
    return NULL;

  self = g_new0 (TwWorkerFactory, 1);
  self->spec = spec;

  return self;
}

void
tw_worker_factory_free (TwWorkerFactory *self)
{
  if (self->destroy != NULL)
    self->destroy (self->user_data);
  g_clear_pointer (&self->spec, tw_worker_spec_free);
  g_free (self);
}

void
tw_worker_factory_set_check (TwWorkerFactory   *self,
                             TwWorkerCheckFunc  check)
{
  self->check = check;
}

/* Makes and sets up one worker for the calling thread. */
gpointer
tw_worker_factory_new_worker (const TwWorkerFactory  *self,
                              GCancellable           *cancellable,
                              GError                **error)
{
  if (self->spec == NULL)
    return (gpointer)self;

  return tw_worker_spec_instantiate (self->spec, cancellable, error);
}

/* Whether @output needs the check: a value of a basic fixed-size type
 * other than a handle is a few bytes and holds no file descriptor, so
 * tw_wire_check_value() has nothing to find in it (and would take the
 * value's lock to size it, for each output of a map). */
static gboolean
tw_worker_factory_needs_check (GVariant *output)
{
  const GVariantType *type = g_variant_get_type (output);

  return tw_av_fixed_element_size (type) == 0 || g_variant_type_peek_string (type)[0] == 'h';
}

static GVariant *
tw_worker_factory_call_one (const TwWorkerFactory  *self,
                            gpointer                worker,
                            GVariant               *input,
                            GCancellable           *cancellable,
                            GError                **error)
{
  GError *local_error = NULL;
  GVariant *result;

  if (self->spec != NULL)
    result = tw_worker_call (worker, input, cancellable, error);
  else
    {
      result = self->func (input, cancellable, self->user_data, &local_error);
      result = tw_check_result (result, local_error, "The task function", error);
    }

  if (result != NULL && self->check != NULL && tw_worker_factory_needs_check (result) &&
      !self->check (result, error))
    g_clear_pointer (&result, g_variant_unref);

  return result;
}

/* The inputs of a chunk, one GVariant each. An element of a basic
 * fixed-size type shares the chunk's bytes directly, without the checks
 * GLib makes for each child it extracts. */
typedef struct
{
  GVariantIter        iter;          /* other arrays */
  GBytes             *bytes;         /* the elements, if of a fixed size */
  const GVariantType *type;
  gboolean            trusted;       /* every value of the type is normal */
  gsize               element_size;
  gsize               n;
  gsize               i;
} TwChunkInputs;

static void
tw_chunk_inputs_init (TwChunkInputs *self,
                      GVariant      *inputs)
{
  self->type = g_variant_type_element (g_variant_get_type (inputs));
  self->element_size = tw_av_fixed_element_size (self->type);
  self->trusted = tw_av_fixed_type_is_always_normal (self->type);
  self->bytes = NULL;
  self->i = 0;

  if (self->element_size > 0)
    {
      self->bytes = g_variant_get_data_as_bytes (inputs);
      self->n = g_bytes_get_size (self->bytes) / self->element_size;
    }
  else
    g_variant_iter_init (&self->iter, inputs);
}

/* The next input, unboxed if it is a `v`, or %NULL after the last. */
static GVariant *
tw_chunk_inputs_next (TwChunkInputs *self)
{
  GVariant *input;

  if (self->bytes != NULL)
    {
      g_autoptr(GBytes) element = NULL;

      if (self->i == self->n)
        return NULL;
      element = g_bytes_new_from_bytes (self->bytes, self->i++ * self->element_size,
                                        self->element_size);
      /* Not g_variant_ref_sink(), which takes the value's lock. */
      return g_variant_take_ref (g_variant_new_from_bytes (self->type, element, self->trusted));
    }

  input = g_variant_iter_next_value (&self->iter);
  if (input != NULL && g_variant_is_of_type (input, G_VARIANT_TYPE_VARIANT))
    {
      GVariant *boxed = input;

      input = g_variant_get_variant (boxed);
      g_variant_unref (boxed);
    }

  return input;
}

/* Runs the worker on each input of a chunk, in order; the elements of an
 * av are unboxed first. The value is an array of the outputs: of their
 * own type while they share a basic fixed-size one, else an av (see
 * #TwChunkBuilder). The first failure, or @cancellable firing, stops the
 * chunk with that error, as a map fails on its first error anyway. */
static GVariant *
tw_worker_factory_call_chunk (const TwWorkerFactory  *self,
                              gpointer                worker,
                              GVariant               *inputs,
                              GCancellable           *cancellable,
                              GError                **error)
{
  TwChunkInputs chunk_inputs;
  TwChunkBuilder builder;
  GVariant *input;
  GVariant *result = NULL;
  gboolean failed = FALSE;

  tw_chunk_builder_init (&builder, g_variant_n_children (inputs));
  tw_chunk_inputs_init (&chunk_inputs, inputs);

  while (!failed && (input = tw_chunk_inputs_next (&chunk_inputs)) != NULL)
    {
      GVariant *output = NULL;

      if (!g_cancellable_set_error_if_cancelled (cancellable, error))
        output = tw_worker_factory_call_one (self, worker, input, cancellable, error);
      g_variant_unref (input);

      failed = output == NULL;
      if (failed)
        continue;

      /* Serialised straight into the array: no GVariant to box it. */
      tw_chunk_builder_add (&builder, output);
      g_variant_unref (output);
    }

  if (!failed)
    result = g_variant_ref_sink (tw_chunk_builder_end (&builder));
  else
    tw_chunk_builder_clear (&builder);
  g_clear_pointer (&chunk_inputs.bytes, g_bytes_unref);

  return result;
}

/* Checks that a chunk function returned (owned) an array of one output
 * per input. */
static GVariant *
tw_chunk_outputs_check (GVariant  *outputs,
                        gsize      n_inputs,
                        GError   **error)
{
  if (g_variant_type_is_array (g_variant_get_type (outputs)) &&
      g_variant_n_children (outputs) == n_inputs)
    return outputs;

  g_set_error (error, TW_ERROR, TW_ERROR_INVALID_RESULT,
               "The chunk function returned a value of type “%s” for %" G_GSIZE_FORMAT
               " inputs: it must return an array of one output per input",
               g_variant_get_type_string (outputs), n_inputs);
  g_variant_unref (outputs);

  return NULL;
}

/* Runs a chunk function on the inputs of a chunk. */
static GVariant *
tw_worker_factory_call_chunk_func (const TwWorkerFactory  *self,
                                   GVariant               *inputs,
                                   GCancellable           *cancellable,
                                   GError                **error)
{
  GError *local_error = NULL;
  GVariant *outputs;

  outputs = self->chunk_func (inputs, cancellable, self->user_data, &local_error);
  outputs = tw_check_result (outputs, local_error, "The chunk function", error);
  if (outputs == NULL)
    return NULL;

  outputs = tw_chunk_outputs_check (outputs, g_variant_n_children (inputs), error);
  if (outputs != NULL && self->check != NULL && !self->check (outputs, error))
    g_clear_pointer (&outputs, g_variant_unref);

  return outputs;
}

/* Runs a chunk function on one input, as a chunk of one. */
static GVariant *
tw_worker_factory_call_chunk_func_once (const TwWorkerFactory  *self,
                                        GVariant               *input,
                                        GCancellable           *cancellable,
                                        GError                **error)
{
  g_autoptr(GVariant) inputs = g_variant_ref_sink (g_variant_new_array (NULL, &input, 1));
  g_autoptr(GVariant) outputs = NULL;
  GVariant *output;

  outputs = tw_worker_factory_call_chunk_func (self, inputs, cancellable, error);
  if (outputs == NULL)
    return NULL;

  output = g_variant_get_child_value (outputs, 0);
  if (g_variant_is_of_type (output, G_VARIANT_TYPE_VARIANT))
    {
      GVariant *boxed = output;

      output = g_variant_get_variant (boxed);
      g_variant_unref (boxed);
    }

  return output;
}

/*
 * tw_worker_factory_call:
 * @worker: made by tw_worker_factory_new_worker() on this thread
 * @chunk: whether @input is an array of inputs to run one by one
 *
 * Runs one task, checking that the worker keeps its contract.
 *
 * Returns: (transfer full): the output, or %NULL with @error set
 */
GVariant *
tw_worker_factory_call (const TwWorkerFactory  *self,
                        gpointer                worker,
                        GVariant               *input,
                        gboolean                chunk,
                        GCancellable           *cancellable,
                        GError                **error)
{
  if (self->chunk_func != NULL && chunk)
    return tw_worker_factory_call_chunk_func (self, input, cancellable, error);
  if (self->chunk_func != NULL)
    return tw_worker_factory_call_chunk_func_once (self, input, cancellable, error);
  if (chunk)
    return tw_worker_factory_call_chunk (self, worker, input, cancellable, error);

  return tw_worker_factory_call_one (self, worker, input, cancellable, error);
}

/* Tears down and frees a worker, on the thread that made it. */
void
tw_worker_factory_free_worker (const TwWorkerFactory *self,
                               gpointer               worker)
{
  if (self->spec == NULL)
    return;

  tw_worker_teardown (worker);
  g_object_unref (worker);
}
