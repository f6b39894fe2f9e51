/* twtest-worker.c: a C worker type for the Python and GJS test suites
 *
 * Copyright 2026 The tiny-worker developers
 *
 * This library is free software; you can redistribute it and/or modify it
 * under the terms of the GNU Lesser General Public License as published by
 * the Free Software Foundation; either version 2.1 of the License, or (at
 * your option) any later version.
 *
 * This library is distributed in the hope that it will be useful, but
 * WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE. See the GNU Lesser
 * General Public License for more details.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <sys/syscall.h>
#include <unistd.h>

#include "twtest-worker.h"

/**
 * TwTestCWorker:
 *
 * A worker written in C, so that the binding suites can drive one on real
 * pool threads. Its call squares an `x` input, multiplies it by
 * #TwTestCWorker:factor, and returns `(xtt)`: the product, the id of the
 * thread that ran the call and the id of its process. A negative input
 * fails with %G_IO_ERROR_INVALID_ARGUMENT. It sleeps
 * #TwTestCWorker:delay-ms first, and fails with %G_IO_ERROR_CANCELLED as
 * soon as the task is cancelled while it sleeps.
 */
struct _TwTestCWorker
{
  TwWorker  parent_instance;
  gint64    factor;    /* construct property */
  guint     delay_ms;  /* construct property */
};

enum {
  PROP_0,
  PROP_FACTOR,
  PROP_DELAY_MS,
  N_PROPS
};

static GParamSpec *properties [N_PROPS];

G_DEFINE_FINAL_TYPE (TwTestCWorker, twtest_c_worker, TW_TYPE_WORKER)

/**
 * twtest_current_thread_id:
 *
 * Returns: the kernel's id of the calling thread
 */
guint64
twtest_current_thread_id (void)
{
  return (guint64)syscall (SYS_gettid);
}

/* Sleeps @delay_ms in small steps, so that a cancel ends it early. */
static gboolean
twtest_sleep (guint          delay_ms,
              GCancellable  *cancellable,
              GError       **error)
{
  gint64 end = g_get_monotonic_time () + (gint64)delay_ms * 1000;

  while (g_get_monotonic_time () < end)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      g_usleep (1000);
    }

  return TRUE;
}

static GVariant *
twtest_c_worker_call (TwWorker      *worker,
                      GVariant      *input,
                      GCancellable  *cancellable,
                      GError       **error)
{
  TwTestCWorker *self = TWTEST_C_WORKER (worker);
  gint64 x;

  if (!g_variant_is_of_type (input, G_VARIANT_TYPE_INT64))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "Expected an int64, got %s", g_variant_get_type_string (input));
      return NULL;
    }

  x = g_variant_get_int64 (input);
  if (x < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Negative input %" G_GINT64_FORMAT, x);
      return NULL;
    }

  if (!twtest_sleep (self->delay_ms, cancellable, error))
    return NULL;

  return g_variant_new ("(xtt)", x * x * self->factor,
                        twtest_current_thread_id (), (guint64)getpid ());
}

static void
twtest_c_worker_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  TwTestCWorker *self = TWTEST_C_WORKER (object);

  switch (prop_id)
    {
    case PROP_FACTOR:
      g_value_set_int64 (value, self->factor);
      break;

    case PROP_DELAY_MS:
      g_value_set_uint (value, self->delay_ms);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
twtest_c_worker_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  TwTestCWorker *self = TWTEST_C_WORKER (object);

  switch (prop_id)
    {
    case PROP_FACTOR:
      self->factor = g_value_get_int64 (value);
      break;

    case PROP_DELAY_MS:
      self->delay_ms = g_value_get_uint (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
twtest_c_worker_class_init (TwTestCWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  TwWorkerClass *worker_class = TW_WORKER_CLASS (klass);

  object_class->get_property = twtest_c_worker_get_property;
  object_class->set_property = twtest_c_worker_set_property;
  worker_class->call = twtest_c_worker_call;

  /**
   * TwTestCWorker:factor:
   *
   * What each square is multiplied by.
   */
  properties [PROP_FACTOR] =
    g_param_spec_int64 ("factor", NULL, NULL,
                        G_MININT64, G_MAXINT64, 1,
                        (G_PARAM_READWRITE |
                         G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS));

  /**
   * TwTestCWorker:delay-ms:
   *
   * How long each call sleeps before it answers.
   */
  properties [PROP_DELAY_MS] =
    g_param_spec_uint ("delay-ms", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READWRITE |
                        G_PARAM_CONSTRUCT_ONLY |
                        G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
twtest_c_worker_init (TwTestCWorker *self)
{
  self->factor = 1;
}
