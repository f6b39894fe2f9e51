/* tw-troupe.c
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

#include "tw-enums.h"
#include "tw-error.h"
#include "tw-future-private.h"
#include "tw-pool-private.h"
#include "tw-process-private.h"
#include "tw-thread-runner-private.h"
#include "tw-troupe-private.h"
#include "tw-wire-private.h"
#include "tw-worker-factory-private.h"

/**
 * SECTION:tw-troupe
 * @title: TwTroupe
 * @short_description: A pool of workers that runs tasks in parallel
 *
 * A #TwTroupe runs tasks on a fixed number of workers and hands back a
 * #TwFuture for each. A worker is either a plain #TwFunc or an instance
 * of a #TwWorker subclass; a task's input and output are #GVariant
 * values.
 *
 * |[<!-- language="C" -->
 * static GVariant *
 * square (GVariant *input, GCancellable *cancellable, gpointer user_data, GError **error)
 * {
 *   gint64 x = g_variant_get_int64 (input);
 *
 *   return g_variant_new_int64 (x * x);
 * }
 *
 * g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func (square, NULL, NULL);
 * g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_int64 (3));
 * g_autoptr(GVariant) nine = tw_future_wait (future, -1, NULL);
 * ]|
 *
 * Submitting a future with tw_troupe_submit_future() chains troupes
 * lazily: the task is queued only when its input succeeds, no thread
 * waits for it meanwhile, and if the input fails the task fails with the
 * same error without reaching a worker.
 *
 * The workers start with the first submit, which also freezes
 * #TwTroupe:mode and #TwTroupe:n-workers. tw_troupe_shutdown() drains or
 * cancels what is left and joins the workers; dropping the last reference
 * to a troupe drains it. In %TW_TROUPE_MODE_THREAD each worker is a
 * thread that owns its #TwWorker from setup to teardown.
 */

struct _TwTroupe
{
  GObject        parent_instance;

  /* Read-only after construction. */
  GMainContext  *context;            /* where counter changes are notified */
  GType          worker_type;        /* or G_TYPE_NONE for a function */
  GVariant      *worker_properties;  /* a{sv}, or NULL */
  char          *func_name;          /* for tw_troupe_new_for_func_name() */
  GError        *config_error;       /* why every task fails, or NULL */

  /* Protected by lock. The runner data moves into the pool when it starts. */
  GMutex         lock;
  TwTroupeMode   mode;               /* read as a guint: an enum fits */
  guint          n_workers;
  char         **worker_argv;        /* process mode: the worker program, or NULL */
  char         **launcher;           /* process mode: a command prefix, or NULL */
  guint64        max_memory;         /* process mode: RLIMIT_AS, or 0 */
  guint          max_cpu_time;       /* process mode: RLIMIT_CPU, or 0 */
  guint          cancel_grace_ms;    /* process mode */
  guint          max_queued;         /* also set on the pool */
  guint          task_timeout_ms;    /* copied to the pool when it starts */
  guint          max_retries;        /* likewise */
  TwWorkerFactory *factory;          /* moves into a thread-mode pool */
  TwPool        *pool;               /* created by the first submit, then
                                      * never changes until finalize */
  gboolean       shut_down;          /* shut down before any submit */

  /* Main context only: the counter values last notified. */
  guint          notified[6];
};

enum {
  PROP_0,
  PROP_MODE,
  PROP_N_WORKERS,
  PROP_WORKER_TYPE,
  PROP_WORKER_PROPERTIES,
  PROP_FUNC_NAME,
  PROP_WORKER_ARGV,
  PROP_CANCEL_GRACE_PERIOD,
  PROP_LAUNCHER,
  PROP_MAX_MEMORY,
  PROP_MAX_CPU_TIME,
  PROP_MAX_QUEUED,
  PROP_TASK_TIMEOUT,
  PROP_MAX_RETRIES,
  PROP_N_QUEUED,
  PROP_N_RUNNING,
  PROP_N_COMPLETED,
  PROP_N_SUCCEEDED,
  PROP_N_FAILED,
  PROP_N_CANCELLED,
  N_PROPS
};

#define FIRST_COUNTER PROP_N_QUEUED

static GParamSpec *properties [N_PROPS];

G_DEFINE_FINAL_TYPE (TwTroupe, tw_troupe, G_TYPE_OBJECT)

/* Fills @values in the order of the counter properties. */
static void
tw_troupe_get_counters (TwTroupe *self,
                        guint    *values)
{
  g_autoptr(TwPool) pool = NULL;
  guint queued = 0, running = 0, succeeded = 0, failed = 0, cancelled = 0;

  g_mutex_lock (&self->lock);
  if (self->pool != NULL)
    pool = tw_pool_ref (self->pool);
  g_mutex_unlock (&self->lock);

  if (pool != NULL)
    tw_pool_get_counters (pool, &queued, &running, &succeeded, &failed, &cancelled);

  values[0] = queued;
  values[1] = running;
  values[2] = succeeded + failed + cancelled;
  values[3] = succeeded;
  values[4] = failed;
  values[5] = cancelled;
}

static void
tw_troupe_notify_counters (GObject *object)
{
  TwTroupe *self = TW_TROUPE (object);
  guint values[G_N_ELEMENTS (self->notified)];

  tw_troupe_get_counters (self, values);

  g_object_freeze_notify (object);
  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      if (values[i] == self->notified[i])
        continue;
      self->notified[i] = values[i];
      g_object_notify_by_pspec (object, properties [FIRST_COUNTER + i]);
    }
  g_object_thaw_notify (object);
}

/* Checks the configuration once, so that a bad one fails every task
 * with the same clear error instead of failing in each worker. */
static void
tw_troupe_constructed (GObject *object)
{
  TwTroupe *self = TW_TROUPE (object);

  G_OBJECT_CLASS (tw_troupe_parent_class)->constructed (object);

  if (self->worker_type != G_TYPE_NONE)
    self->factory = tw_worker_factory_new_for_type (self->worker_type, self->worker_properties,
                                                    &self->config_error);
  else if (self->func_name != NULL)
    self->factory = tw_worker_factory_new_for_name (self->func_name, &self->config_error);
}

static void
tw_troupe_dispose (GObject *object)
{
  TwTroupe *self = TW_TROUPE (object);

  tw_troupe_shutdown (self, TW_SHUTDOWN_MODE_DRAIN);

  G_OBJECT_CLASS (tw_troupe_parent_class)->dispose (object);
}

static void
tw_troupe_finalize (GObject *object)
{
  TwTroupe *self = TW_TROUPE (object);

  if (self->pool != NULL)
    tw_pool_forget_owner (self->pool);
  g_clear_pointer (&self->pool, tw_pool_unref);
  g_clear_pointer (&self->factory, tw_worker_factory_free);
  g_clear_pointer (&self->worker_properties, g_variant_unref);
  g_clear_pointer (&self->func_name, g_free);
  g_clear_pointer (&self->worker_argv, g_strfreev);
  g_clear_pointer (&self->launcher, g_strfreev);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_error (&self->config_error);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (tw_troupe_parent_class)->finalize (object);
}

static void
tw_troupe_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  TwTroupe *self = TW_TROUPE (object);
  guint counters[G_N_ELEMENTS (self->notified)];

  switch (prop_id)
    {
    case PROP_MODE:
      g_value_set_enum (value, tw_troupe_get_mode (self));
      break;

    case PROP_N_WORKERS:
      g_value_set_uint (value, tw_troupe_get_n_workers (self));
      break;

    case PROP_WORKER_TYPE:
      g_value_set_gtype (value, self->worker_type);
      break;

    case PROP_WORKER_PROPERTIES:
      g_value_set_variant (value, self->worker_properties);
      break;

    case PROP_FUNC_NAME:
      g_value_set_string (value, self->func_name);
      break;

    case PROP_WORKER_ARGV:
      g_value_take_boxed (value, tw_troupe_dup_worker_argv (self));
      break;

    case PROP_CANCEL_GRACE_PERIOD:
      g_value_set_uint (value, tw_troupe_get_cancel_grace_period (self));
      break;

    case PROP_LAUNCHER:
      g_value_take_boxed (value, tw_troupe_dup_launcher (self));
      break;

    case PROP_MAX_MEMORY:
      g_value_set_uint64 (value, tw_troupe_get_max_memory (self));
      break;

    case PROP_MAX_CPU_TIME:
      g_value_set_uint (value, tw_troupe_get_max_cpu_time (self));
      break;

    case PROP_MAX_QUEUED:
      g_value_set_uint (value, tw_troupe_get_max_queued (self));
      break;

    case PROP_TASK_TIMEOUT:
      g_value_set_uint (value, tw_troupe_get_task_timeout (self));
      break;

    case PROP_MAX_RETRIES:
      g_value_set_uint (value, tw_troupe_get_max_retries (self));
      break;

    case PROP_N_QUEUED:
    case PROP_N_RUNNING:
    case PROP_N_COMPLETED:
    case PROP_N_SUCCEEDED:
    case PROP_N_FAILED:
    case PROP_N_CANCELLED:
      tw_troupe_get_counters (self, counters);
      g_value_set_uint (value, counters[prop_id - FIRST_COUNTER]);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tw_troupe_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  TwTroupe *self = TW_TROUPE (object);

  switch (prop_id)
    {
    case PROP_MODE:
      tw_troupe_set_mode (self, g_value_get_enum (value));
      break;

    case PROP_N_WORKERS:
      tw_troupe_set_n_workers (self, g_value_get_uint (value));
      break;

    case PROP_WORKER_TYPE:
      self->worker_type = g_value_get_gtype (value);
      break;

    case PROP_WORKER_PROPERTIES:
      self->worker_properties = g_value_dup_variant (value);
      break;

    case PROP_FUNC_NAME:
      self->func_name = g_value_dup_string (value);
      break;

    case PROP_WORKER_ARGV:
      tw_troupe_set_worker_argv (self, g_value_get_boxed (value));
      break;

    case PROP_CANCEL_GRACE_PERIOD:
      tw_troupe_set_cancel_grace_period (self, g_value_get_uint (value));
      break;

    case PROP_LAUNCHER:
      tw_troupe_set_launcher (self, g_value_get_boxed (value));
      break;

    case PROP_MAX_MEMORY:
      tw_troupe_set_max_memory (self, g_value_get_uint64 (value));
      break;

    case PROP_MAX_CPU_TIME:
      tw_troupe_set_max_cpu_time (self, g_value_get_uint (value));
      break;

    case PROP_MAX_QUEUED:
      tw_troupe_set_max_queued (self, g_value_get_uint (value));
      break;

    case PROP_TASK_TIMEOUT:
      tw_troupe_set_task_timeout (self, g_value_get_uint (value));
      break;

    case PROP_MAX_RETRIES:
      tw_troupe_set_max_retries (self, g_value_get_uint (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static GParamSpec *
counter_param_spec (const char *name)
{
  return g_param_spec_uint (name, NULL, NULL, 0, G_MAXUINT, 0,
                            (G_PARAM_READABLE |
                             G_PARAM_EXPLICIT_NOTIFY |
                             G_PARAM_STATIC_STRINGS));
}

static void
tw_troupe_class_init (TwTroupeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = tw_troupe_constructed;
  object_class->dispose = tw_troupe_dispose;
  object_class->finalize = tw_troupe_finalize;
  object_class->get_property = tw_troupe_get_property;
  object_class->set_property = tw_troupe_set_property;

  /**
   * TwTroupe:mode:
   *
   * Whether the workers are threads or child processes. Writable until
   * the first submit.
   *
   * Since: 1.0
   */
  properties [PROP_MODE] =
    g_param_spec_enum ("mode", NULL, NULL,
                       TW_TYPE_TROUPE_MODE,
                       TW_TROUPE_MODE_THREAD,
                       (G_PARAM_READWRITE |
                        G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  /**
   * TwTroupe:n-workers:
   *
   * How many workers run tasks at once. Setting 0 selects the number of
   * processors, which is also the default. Writable until the first
   * submit.
   *
   * Since: 1.0
   */
  properties [PROP_N_WORKERS] =
    g_param_spec_uint ("n-workers", NULL, NULL,
                       0, 4096, 0,
                       (G_PARAM_READWRITE |
                        G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  /**
   * TwTroupe:worker-type:
   *
   * The #TwWorker subclass each worker instantiates, or %G_TYPE_NONE for a
   * troupe that runs a function.
   *
   * Since: 1.0
   */
  properties [PROP_WORKER_TYPE] =
    g_param_spec_gtype ("worker-type", NULL, NULL,
                        G_TYPE_NONE,
                        (G_PARAM_READWRITE |
                         G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS));

  /**
   * TwTroupe:worker-properties:
   *
   * The construct properties of each worker, as an `a{sv}` dictionary
   * from property name to value, or %NULL. Values are converted to the
   * property's type when that loses nothing; enums also take their nick.
   *
   * Since: 1.0
   */
  properties [PROP_WORKER_PROPERTIES] =
    g_param_spec_variant ("worker-properties", NULL, NULL,
                          G_VARIANT_TYPE_VARDICT, NULL,
                          (G_PARAM_READWRITE |
                           G_PARAM_CONSTRUCT_ONLY |
                           G_PARAM_STATIC_STRINGS));

  /**
   * TwTroupe:func-name:
   *
   * The name under which the troupe's function was registered with
   * tw_register_func(), or %NULL.
   *
   * Since: 1.0
   */
  properties [PROP_FUNC_NAME] =
    g_param_spec_string ("func-name", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * TwTroupe:worker-argv:
   *
   * In %TW_TROUPE_MODE_PROCESS, the command line of the program to start
   * as each worker, or %NULL (the default) to run the current program
   * again with its own arguments. The program must call tw_init() early
   * in main(), with the same functions and worker types registered.
   * Writable until the first submit.
   *
   * Since: 1.0
   */
  properties [PROP_WORKER_ARGV] =
    g_param_spec_boxed ("worker-argv", NULL, NULL,
                        G_TYPE_STRV,
                        (G_PARAM_READWRITE |
                         G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS));

  /**
   * TwTroupe:cancel-grace-period:
   *
   * In %TW_TROUPE_MODE_PROCESS, how many milliseconds a cancelled running
   * task has to return before its worker process is killed and the task
   * fails with %G_IO_ERROR_CANCELLED. Writable until the first submit.
   *
   * Since: 1.0
   */
  properties [PROP_CANCEL_GRACE_PERIOD] =
    g_param_spec_uint ("cancel-grace-period", NULL, NULL,
                       0, G_MAXINT, 1000,
                       (G_PARAM_READWRITE |
                        G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  /**
   * TwTroupe:launcher:
   *
   * In %TW_TROUPE_MODE_PROCESS, a command prefix that starts each worker,
   * or %NULL (the default) to start workers directly. The worker runs as
   * `launcher… env TW_WORKER_FDS=0,1 worker-argv…`, and the protocol
   * travels over its stdin and stdout, which is all that launchers such
   * as `srun`, `ssh host` or `bwrap …` forward; its stderr is passed on,
   * and its tail is quoted when the launcher fails. See "Running workers
   * elsewhere". Writable until the first submit.
   *
   * Since: 1.0
   */
  properties [PROP_LAUNCHER] =
    g_param_spec_boxed ("launcher", NULL, NULL,
                        G_TYPE_STRV,
                        (G_PARAM_READWRITE |
                         G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS));

  /**
   * TwTroupe:max-memory:
   *
   * In %TW_TROUPE_MODE_PROCESS, the address space each worker process may
   * use, in bytes (RLIMIT_AS), or 0 (the default) for no limit. A worker
   * that goes over fails its task with %TW_ERROR_WORKER_CRASHED, whose
   * message names the limit, and is replaced. With a launcher, the limit
   * is set by `prlimit` on the command line. Writable until the first
   * submit.
   *
   * Since: 1.0
   */
  properties [PROP_MAX_MEMORY] =
    g_param_spec_uint64 ("max-memory", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         (G_PARAM_READWRITE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * TwTroupe:max-cpu-time:
   *
   * In %TW_TROUPE_MODE_PROCESS, the CPU time each worker process may use,
   * in seconds (RLIMIT_CPU), or 0 (the default) for no limit. Like
   * #TwTroupe:max-memory. Writable until the first submit.
   *
   * Since: 1.0
   */
  properties [PROP_MAX_CPU_TIME] =
    g_param_spec_uint ("max-cpu-time", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READWRITE |
                        G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  /**
   * TwTroupe:max-queued:
   *
   * The most tasks that may wait for a worker, or 0 (the default) for no
   * bound. When the queue is full, tw_troupe_submit() blocks until a
   * worker takes a task, and tw_troupe_submit_async() completes only
   * then, so a producer never queues unbounded memory. Chained tasks
   * join the queue when their input settles, whatever the bound. Do not
   * submit from a troupe's own workers to a full troupe: they would wait
   * for themselves. Writable at any time.
   *
   * Since: 1.0
   */
  properties [PROP_MAX_QUEUED] =
    g_param_spec_uint ("max-queued", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READWRITE |
                        G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  /**
   * TwTroupe:task-timeout:
   *
   * How many milliseconds a task may run, retries included, before it is
   * cancelled as tw_future_cancel() does; 0 (the default) for no limit.
   * In %TW_TROUPE_MODE_THREAD the worker must poll its cancellable to
   * stop; in %TW_TROUPE_MODE_PROCESS a worker that does not stop within
   * #TwTroupe:cancel-grace-period is killed. A task waiting for a worker
   * has not started. Writable until the first submit.
   *
   * Since: 1.0
   */
  properties [PROP_TASK_TIMEOUT] =
    g_param_spec_uint ("task-timeout", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READWRITE |
                        G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  /**
   * TwTroupe:max-retries:
   *
   * How many more times a task that fails is run before its future
   * fails, 0 (the default) for none. A cancelled task is not run again;
   * a task whose worker process crashed is. Retries happen at once, on
   * the same worker. Writable until the first submit.
   *
   * Since: 1.0
   */
  properties [PROP_MAX_RETRIES] =
    g_param_spec_uint ("max-retries", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READWRITE |
                        G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  /**
   * TwTroupe:n-queued:
   *
   * How many tasks wait for a worker. Chained tasks whose input has not
   * settled are not counted. Notified in the main context that was
   * thread-default when the troupe was created, like the other counters.
   *
   * Since: 1.0
   */
  properties [PROP_N_QUEUED] = counter_param_spec ("n-queued");

  /**
   * TwTroupe:n-running:
   *
   * How many tasks workers are running now.
   *
   * Since: 1.0
   */
  properties [PROP_N_RUNNING] = counter_param_spec ("n-running");

  /**
   * TwTroupe:n-completed:
   *
   * How many tasks have settled: the sum of #TwTroupe:n-succeeded,
   * #TwTroupe:n-failed and #TwTroupe:n-cancelled.
   *
   * Since: 1.0
   */
  properties [PROP_N_COMPLETED] = counter_param_spec ("n-completed");

  /**
   * TwTroupe:n-succeeded:
   *
   * How many tasks have succeeded.
   *
   * Since: 1.0
   */
  properties [PROP_N_SUCCEEDED] = counter_param_spec ("n-succeeded");

  /**
   * TwTroupe:n-failed:
   *
   * How many tasks have failed, cancellation excepted.
   *
   * Since: 1.0
   */
  properties [PROP_N_FAILED] = counter_param_spec ("n-failed");

  /**
   * TwTroupe:n-cancelled:
   *
   * How many tasks have been cancelled.
   *
   * Since: 1.0
   */
  properties [PROP_N_CANCELLED] = counter_param_spec ("n-cancelled");

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tw_troupe_init (TwTroupe *self)
{
  g_mutex_init (&self->lock);
  self->context = g_main_context_ref_thread_default ();
  self->worker_type = G_TYPE_NONE;
  self->mode = TW_TROUPE_MODE_THREAD;
  self->n_workers = g_get_num_processors ();
  self->cancel_grace_ms = 1000;
}

/**
 * tw_troupe_new_for_func:
 * @func: (scope notified) (closure user_data) (destroy destroy): the
 *   function that runs each task
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data once the troupe is shut down and
 *   its workers have stopped
 *
 * Creates a troupe whose workers call @func, several at once from
 * different threads. Such a troupe works in %TW_TROUPE_MODE_THREAD only: a
 * function crosses a process boundary by name, see
 * tw_troupe_new_for_func_name().
 *
 * Returns: (transfer full): a new #TwTroupe
 *
 * Since: 1.0
 */
TwTroupe *
tw_troupe_new_for_func (TwFunc         func,
                        gpointer       user_data,
                        GDestroyNotify destroy)
{
  TwTroupe *self;

  g_return_val_if_fail (func != NULL, NULL);

  self = g_object_new (TW_TYPE_TROUPE, NULL);
  self->factory = tw_worker_factory_new_for_func (func, user_data, destroy);

  return self;
}

/**
 * tw_troupe_new_for_func_name:
 * @name: the name of a function registered with tw_register_func()
 *
 * Creates a troupe whose workers call the function registered as @name.
 * If no function has that name, every task fails with
 * %TW_ERROR_UNKNOWN_FUNC.
 *
 * Returns: (transfer full): a new #TwTroupe
 *
 * Since: 1.0
 */
TwTroupe *
tw_troupe_new_for_func_name (const char *name)
{
  g_return_val_if_fail (name != NULL, NULL);

  return g_object_new (TW_TYPE_TROUPE,
                       "func-name", name,
                       NULL);
}

/**
 * tw_troupe_new_for_worker:
 * @worker_type: a #TwWorker subclass
 * @worker_properties: (nullable): its construct properties, as an `a{sv}`
 *   dictionary; a floating reference is sunk
 *
 * Creates a troupe in which each worker is an instance of @worker_type,
 * created with @worker_properties. If a property does not exist or
 * its value does not fit, every task fails with %TW_ERROR_WORKER_SETUP.
 *
 * Returns: (transfer full): a new #TwTroupe
 *
 * Since: 1.0
 */
TwTroupe *
tw_troupe_new_for_worker (GType     worker_type,
                          GVariant *worker_properties)
{
  g_autoptr(GVariant) props = NULL;

  g_return_val_if_fail (g_type_is_a (worker_type, TW_TYPE_WORKER), NULL);
  g_return_val_if_fail (worker_properties == NULL ||
                        g_variant_is_of_type (worker_properties, G_VARIANT_TYPE_VARDICT), NULL);

  if (worker_properties != NULL)
    props = g_variant_ref_sink (worker_properties);

  return g_object_new (TW_TYPE_TROUPE,
                       "worker-type", worker_type,
                       "worker-properties", props,
                       NULL);
}

/* Sets a configuration field that only counts until the first submit. */
static void
tw_troupe_set_before_start (TwTroupe *self,
                            guint    *field,
                            guint     value,
                            guint     prop_id)
{
  gboolean changed;

  g_mutex_lock (&self->lock);
  if (self->pool != NULL)
    {
      g_mutex_unlock (&self->lock);
      g_critical ("TwTroupe:%s cannot change after the first submit",
                  properties [prop_id]->name);
      return;
    }
  changed = *field != value;
  *field = value;
  g_mutex_unlock (&self->lock);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties [prop_id]);
}

static guint
tw_troupe_get_locked_uint (TwTroupe    *self,
                           const guint *field)
{
  guint value;

  g_mutex_lock (&self->lock);
  value = *field;
  g_mutex_unlock (&self->lock);

  return value;
}

/**
 * tw_troupe_get_mode:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:mode.
 *
 * Returns: where the workers run
 *
 * Since: 1.0
 */
TwTroupeMode
tw_troupe_get_mode (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), TW_TROUPE_MODE_THREAD);

  return tw_troupe_get_locked_uint (self, (guint *)&self->mode);
}

/**
 * tw_troupe_set_mode:
 * @self: a #TwTroupe
 * @mode: where the workers run
 *
 * Sets #TwTroupe:mode. Only before the first submit.
 *
 * Since: 1.0
 */
void
tw_troupe_set_mode (TwTroupe     *self,
                    TwTroupeMode  mode)
{
  g_return_if_fail (TW_IS_TROUPE (self));
  g_return_if_fail (mode == TW_TROUPE_MODE_THREAD || mode == TW_TROUPE_MODE_PROCESS);

  tw_troupe_set_before_start (self, (guint *)&self->mode, mode, PROP_MODE);
}

/**
 * tw_troupe_get_n_workers:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:n-workers.
 *
 * Returns: how many workers the troupe runs
 *
 * Since: 1.0
 */
guint
tw_troupe_get_n_workers (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_locked_uint (self, &self->n_workers);
}

/**
 * tw_troupe_set_n_workers:
 * @self: a #TwTroupe
 * @n_workers: how many workers to run, or 0 for the number of processors
 *
 * Sets #TwTroupe:n-workers. Only before the first submit.
 *
 * Since: 1.0
 */
void
tw_troupe_set_n_workers (TwTroupe *self,
                         guint     n_workers)
{
  g_return_if_fail (TW_IS_TROUPE (self));

  if (n_workers == 0)
    n_workers = g_get_num_processors ();

  tw_troupe_set_before_start (self, &self->n_workers, n_workers, PROP_N_WORKERS);
}

/**
 * tw_troupe_dup_worker_argv:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:worker-argv.
 *
 * Returns: (transfer full) (nullable) (array zero-terminated=1): the
 *   worker program's command line, or %NULL for the current program
 *
 * Since: 1.0
 */
char **
tw_troupe_dup_worker_argv (TwTroupe *self)
{
  char **argv;

  g_return_val_if_fail (TW_IS_TROUPE (self), NULL);

  g_mutex_lock (&self->lock);
  argv = g_strdupv (self->worker_argv);
  g_mutex_unlock (&self->lock);

  return argv;
}

/**
 * tw_troupe_set_worker_argv:
 * @self: a #TwTroupe
 * @argv: (nullable) (array zero-terminated=1): the worker program's
 *   command line, or %NULL for the current program
 *
 * Sets #TwTroupe:worker-argv. Only before the first submit.
 *
 * Since: 1.0
 */
void
tw_troupe_set_worker_argv (TwTroupe           *self,
                           const char * const *argv)
{
  g_return_if_fail (TW_IS_TROUPE (self));
  g_return_if_fail (argv == NULL || argv[0] != NULL);

  g_mutex_lock (&self->lock);
  if (self->pool != NULL)
    {
      g_mutex_unlock (&self->lock);
      g_critical ("TwTroupe:worker-argv cannot change after the first submit");
      return;
    }
  g_strfreev (self->worker_argv);
  self->worker_argv = g_strdupv ((char **)argv);
  g_mutex_unlock (&self->lock);

  g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_WORKER_ARGV]);
}

/**
 * tw_troupe_dup_launcher:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:launcher.
 *
 * Returns: (transfer full) (nullable) (array zero-terminated=1): the
 *   command prefix that starts workers, or %NULL
 *
 * Since: 1.0
 */
char **
tw_troupe_dup_launcher (TwTroupe *self)
{
  char **launcher;

  g_return_val_if_fail (TW_IS_TROUPE (self), NULL);

  g_mutex_lock (&self->lock);
  launcher = g_strdupv (self->launcher);
  g_mutex_unlock (&self->lock);

  return launcher;
}

/**
 * tw_troupe_set_launcher:
 * @self: a #TwTroupe
 * @launcher: (nullable) (array zero-terminated=1): a command prefix that
 *   starts workers, such as `{ "ssh", "-T", "host", NULL }`, or %NULL
 *
 * Sets #TwTroupe:launcher. Only before the first submit.
 *
 * Since: 1.0
 */
void
tw_troupe_set_launcher (TwTroupe           *self,
                        const char * const *launcher)
{
  g_return_if_fail (TW_IS_TROUPE (self));
  g_return_if_fail (launcher == NULL || launcher[0] != NULL);

  g_mutex_lock (&self->lock);
  if (self->pool != NULL)
    {
      g_mutex_unlock (&self->lock);
      g_critical ("TwTroupe:launcher cannot change after the first submit");
      return;
    }
  g_strfreev (self->launcher);
  self->launcher = g_strdupv ((char **)launcher);
  g_mutex_unlock (&self->lock);

  g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_LAUNCHER]);
}

/**
 * tw_troupe_get_max_memory:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:max-memory.
 *
 * Returns: the address space limit of a worker process in bytes, or 0
 *
 * Since: 1.0
 */
guint64
tw_troupe_get_max_memory (TwTroupe *self)
{
  guint64 max_memory;

  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  g_mutex_lock (&self->lock);
  max_memory = self->max_memory;
  g_mutex_unlock (&self->lock);

  return max_memory;
}

/**
 * tw_troupe_set_max_memory:
 * @self: a #TwTroupe
 * @max_memory: the address space limit of a worker process in bytes, or 0
 *
 * Sets #TwTroupe:max-memory. Only before the first submit.
 *
 * Since: 1.0
 */
void
tw_troupe_set_max_memory (TwTroupe *self,
                          guint64   max_memory)
{
  gboolean changed;

  g_return_if_fail (TW_IS_TROUPE (self));

  g_mutex_lock (&self->lock);
  if (self->pool != NULL)
    {
      g_mutex_unlock (&self->lock);
      g_critical ("TwTroupe:max-memory cannot change after the first submit");
      return;
    }
  changed = self->max_memory != max_memory;
  self->max_memory = max_memory;
  g_mutex_unlock (&self->lock);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_MAX_MEMORY]);
}

/**
 * tw_troupe_get_max_cpu_time:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:max-cpu-time.
 *
 * Returns: the CPU time limit of a worker process in seconds, or 0
 *
 * Since: 1.0
 */
guint
tw_troupe_get_max_cpu_time (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_locked_uint (self, &self->max_cpu_time);
}

/**
 * tw_troupe_set_max_cpu_time:
 * @self: a #TwTroupe
 * @seconds: the CPU time limit of a worker process in seconds, or 0
 *
 * Sets #TwTroupe:max-cpu-time. Only before the first submit.
 *
 * Since: 1.0
 */
void
tw_troupe_set_max_cpu_time (TwTroupe *self,
                            guint     seconds)
{
  g_return_if_fail (TW_IS_TROUPE (self));

  tw_troupe_set_before_start (self, &self->max_cpu_time, seconds, PROP_MAX_CPU_TIME);
}

/**
 * tw_troupe_get_cancel_grace_period:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:cancel-grace-period.
 *
 * Returns: the grace period in milliseconds
 *
 * Since: 1.0
 */
guint
tw_troupe_get_cancel_grace_period (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_locked_uint (self, &self->cancel_grace_ms);
}

/**
 * tw_troupe_set_cancel_grace_period:
 * @self: a #TwTroupe
 * @grace_ms: the grace period in milliseconds
 *
 * Sets #TwTroupe:cancel-grace-period. Only before the first submit.
 *
 * Since: 1.0
 */
void
tw_troupe_set_cancel_grace_period (TwTroupe *self,
                                   guint     grace_ms)
{
  g_return_if_fail (TW_IS_TROUPE (self));
  g_return_if_fail (grace_ms <= G_MAXINT);

  tw_troupe_set_before_start (self, &self->cancel_grace_ms, grace_ms, PROP_CANCEL_GRACE_PERIOD);
}

/**
 * tw_troupe_get_max_queued:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:max-queued.
 *
 * Returns: the bound on queued tasks, or 0 for none
 *
 * Since: 1.0
 */
guint
tw_troupe_get_max_queued (TwTroupe *self)
{
  guint max_queued;

  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  g_mutex_lock (&self->lock);
  max_queued = self->max_queued;
  g_mutex_unlock (&self->lock);

  return max_queued;
}

/**
 * tw_troupe_set_max_queued:
 * @self: a #TwTroupe
 * @max_queued: the bound on queued tasks, or 0 for none
 *
 * Sets #TwTroupe:max-queued. A larger bound lets waiting submits in.
 *
 * Since: 1.0
 */
void
tw_troupe_set_max_queued (TwTroupe *self,
                          guint     max_queued)
{
  TwPool *pool;
  gboolean changed;

  g_return_if_fail (TW_IS_TROUPE (self));

  g_mutex_lock (&self->lock);
  changed = self->max_queued != max_queued;
  self->max_queued = max_queued;
  pool = self->pool;
  g_mutex_unlock (&self->lock);

  /* Outside the lock: letting submits in may run their callbacks. The
   * pool, once set, lives as long as the troupe. */
  if (changed && pool != NULL)
    tw_pool_set_max_queued (pool, max_queued);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_MAX_QUEUED]);
}

/**
 * tw_troupe_get_task_timeout:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:task-timeout.
 *
 * Returns: the timeout of a task in milliseconds, or 0 for none
 *
 * Since: 1.0
 */
guint
tw_troupe_get_task_timeout (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_locked_uint (self, &self->task_timeout_ms);
}

/**
 * tw_troupe_set_task_timeout:
 * @self: a #TwTroupe
 * @timeout_ms: the timeout of a task in milliseconds, or 0 for none
 *
 * Sets #TwTroupe:task-timeout. Only before the first submit.
 *
 * Since: 1.0
 */
void
tw_troupe_set_task_timeout (TwTroupe *self,
                            guint     timeout_ms)
{
  g_return_if_fail (TW_IS_TROUPE (self));

  tw_troupe_set_before_start (self, &self->task_timeout_ms, timeout_ms, PROP_TASK_TIMEOUT);
}

/**
 * tw_troupe_get_max_retries:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:max-retries.
 *
 * Returns: how many more times a failed task is run
 *
 * Since: 1.0
 */
guint
tw_troupe_get_max_retries (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_locked_uint (self, &self->max_retries);
}

/**
 * tw_troupe_set_max_retries:
 * @self: a #TwTroupe
 * @max_retries: how many more times a failed task is run
 *
 * Sets #TwTroupe:max-retries. Only before the first submit.
 *
 * Since: 1.0
 */
void
tw_troupe_set_max_retries (TwTroupe *self,
                           guint     max_retries)
{
  g_return_if_fail (TW_IS_TROUPE (self));

  tw_troupe_set_before_start (self, &self->max_retries, max_retries, PROP_MAX_RETRIES);
}

static guint
tw_troupe_get_counter (TwTroupe *self,
                       guint     prop_id)
{
  guint counters[G_N_ELEMENTS (self->notified)];

  tw_troupe_get_counters (self, counters);

  return counters[prop_id - FIRST_COUNTER];
}

/**
 * tw_troupe_get_n_queued:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:n-queued.
 *
 * Returns: how many tasks wait for a worker
 *
 * Since: 1.0
 */
guint
tw_troupe_get_n_queued (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_counter (self, PROP_N_QUEUED);
}

/**
 * tw_troupe_get_n_running:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:n-running.
 *
 * Returns: how many tasks are running
 *
 * Since: 1.0
 */
guint
tw_troupe_get_n_running (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_counter (self, PROP_N_RUNNING);
}

/**
 * tw_troupe_get_n_completed:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:n-completed.
 *
 * Returns: how many tasks have settled
 *
 * Since: 1.0
 */
guint
tw_troupe_get_n_completed (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_counter (self, PROP_N_COMPLETED);
}

/**
 * tw_troupe_get_n_succeeded:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:n-succeeded.
 *
 * Returns: how many tasks have succeeded
 *
 * Since: 1.0
 */
guint
tw_troupe_get_n_succeeded (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_counter (self, PROP_N_SUCCEEDED);
}

/**
 * tw_troupe_get_n_failed:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:n-failed.
 *
 * Returns: how many tasks have failed
 *
 * Since: 1.0
 */
guint
tw_troupe_get_n_failed (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_counter (self, PROP_N_FAILED);
}

/**
 * tw_troupe_get_n_cancelled:
 * @self: a #TwTroupe
 *
 * Gets #TwTroupe:n-cancelled.
 *
 * Returns: how many tasks have been cancelled
 *
 * Since: 1.0
 */
guint
tw_troupe_get_n_cancelled (TwTroupe *self)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), 0);

  return tw_troupe_get_counter (self, PROP_N_CANCELLED);
}

/* GJS marks every type it registers with this qdata (see GJS's
 * gi/object.cpp); such a worker cannot run on a pool thread. */
static gboolean
tw_type_is_javascript (GType type)
{
  GQuark gjs_custom_type = g_quark_try_string ("gjs::custom-type");

  return type != G_TYPE_NONE && gjs_custom_type != 0 &&
         g_type_get_qdata (type, gjs_custom_type) != NULL;
}

/* The HELLO that tells each worker process what to run. */
static GVariant *
tw_troupe_new_hello (TwTroupe  *self,
                     GError   **error)
{
  GVariant *props = self->worker_properties;

  if (props == NULL)
    props = g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0);

  if (self->worker_type != G_TYPE_NONE)
    return g_variant_new ("(uss@a{sv})", TW_WIRE_VERSION, "worker",
                          g_type_name (self->worker_type), props);

  if (self->func_name != NULL)
    return g_variant_new ("(uss@a{sv})", TW_WIRE_VERSION, "func",
                          self->func_name, props);

  g_variant_unref (g_variant_ref_sink (props));
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "A function given by pointer cannot run in another process; "
                       "register it with tw_register_func() and use "
                       "tw_troupe_new_for_func_name()");

  return NULL;
}

/* Called with the lock held. */
static TwPool *
tw_troupe_new_process_pool (TwTroupe  *self,
                            GError   **error)
{
  GVariant *hello = tw_troupe_new_hello (self, error);
  TwProcessOptions options = {
    .worker_argv = (const char * const *)self->worker_argv,
    .launcher = (const char * const *)self->launcher,
    .cancel_grace_ms = self->cancel_grace_ms,
    .max_memory = self->max_memory,
    .max_cpu_time = self->max_cpu_time,
  };

  if (hello == NULL)
    return NULL;

  return tw_pool_new (&tw_process_runner,
                      tw_process_config_new (&options, hello),
                      tw_process_config_free,
                      self->n_workers, self->context,
                      G_OBJECT (self), tw_troupe_notify_counters);
}

/* Starts the workers on the first submit. Returns the pool, valid as
 * long as the caller holds a reference to @self, or NULL with @error set
 * when no task can run. */
TwPool *
tw_troupe_ensure_pool (TwTroupe  *self,
                       GError   **error)
{
  TwPool *pool = g_atomic_pointer_get (&self->pool);

  /* The common case takes no lock: the pool never changes once set. */
  if (pool != NULL)
    return pool;

  g_mutex_lock (&self->lock);

  pool = self->pool;

  if (pool != NULL)
    ;
  else if (self->config_error != NULL)
    g_propagate_error (error, g_error_copy (self->config_error));
  else if (self->shut_down)
    g_set_error_literal (error, TW_ERROR, TW_ERROR_SHUT_DOWN,
                         "The troupe has been shut down");
  else if (self->mode == TW_TROUPE_MODE_PROCESS)
    pool = tw_troupe_new_process_pool (self, error);
  else if (tw_type_is_javascript (self->worker_type))
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                 "Worker type “%s” is written in JavaScript, and GJS runs JavaScript "
                 "only on its main thread: use TW_TROUPE_MODE_PROCESS",
                 g_type_name (self->worker_type));
  else
    pool = tw_pool_new (&tw_thread_runner,
                        g_steal_pointer (&self->factory),
                        (GDestroyNotify)tw_worker_factory_free,
                        self->n_workers, self->context,
                        G_OBJECT (self), tw_troupe_notify_counters);

  /* Published with a barrier for the lock-free read above. */
  if (self->pool == NULL && pool != NULL)
    {
      tw_pool_set_max_queued (pool, self->max_queued);
      tw_pool_set_limits (pool, (gint64)self->task_timeout_ms * 1000, self->max_retries);
      g_atomic_pointer_set (&self->pool, pool);
    }

  g_mutex_unlock (&self->lock);

  return pool;
}

/**
 * tw_troupe_submit:
 * @self: a #TwTroupe
 * @input: the task's input; a floating reference is sunk
 *
 * Queues a task that runs the troupe's worker on @input. The first submit
 * starts the workers. When #TwTroupe:max-queued tasks are already
 * waiting, it blocks until a worker takes one.
 *
 * Returns: (transfer full): the task's #TwFuture. It has already failed
 *   with %TW_ERROR_SHUT_DOWN if the troupe was shut down, or with the
 *   configuration error if the troupe cannot run tasks (for example
 *   %TW_ERROR_WORKER_SETUP or %TW_ERROR_UNKNOWN_FUNC).
 *
 * Since: 1.0
 */
TwFuture *
tw_troupe_submit (TwTroupe *self,
                  GVariant *input)
{
  TwPool *pool;
  GError *error = NULL;

  tw_return_error_if_fail (TW_IS_TROUPE (self));
  tw_return_error_if_fail (input != NULL);

  g_variant_ref_sink (input);

  pool = tw_troupe_ensure_pool (self, &error);
  if (pool == NULL)
    {
      g_variant_unref (input);
      return tw_future_new_for_error (error);
    }

  return tw_pool_submit (pool, input, FALSE);
}

/**
 * tw_troupe_submit_async:
 * @self: a #TwTroupe
 * @input: the task's input; a floating reference is sunk
 * @cancellable: (nullable): a #GCancellable to give up waiting for room
 * @callback: (scope async): called once the task is queued
 * @user_data: (closure): data for @callback
 *
 * Queues a task like tw_troupe_submit(), but when #TwTroupe:max-queued
 * tasks are already waiting, it waits for room without blocking: the
 * task is queued, and @callback called in the thread-default main
 * context of the caller, once a worker has taken another task. Submits
 * that wait are queued in order.
 *
 * Since: 1.0
 */
void
tw_troupe_submit_async (TwTroupe            *self,
                        GVariant            *input,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  TwPool *pool;
  GError *error = NULL;

  g_return_if_fail (TW_IS_TROUPE (self));
  g_return_if_fail (input != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tw_troupe_submit_async);
  g_task_set_name (task, "[tw] submit");
  g_variant_ref_sink (input);

  pool = tw_troupe_ensure_pool (self, &error);
  if (pool == NULL)
    {
      g_variant_unref (input);
      g_task_return_pointer (task, tw_future_new_for_error (error), g_object_unref);
      return;
    }

  tw_pool_submit_async (pool, input, task);
}

/**
 * tw_troupe_submit_finish:
 * @self: a #TwTroupe
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Completes tw_troupe_submit_async().
 *
 * Returns: (transfer full): the task's #TwFuture, which may have failed
 *   at once as tw_troupe_submit() describes, or %NULL with @error set to
 *   %G_IO_ERROR_CANCELLED if the wait for room was cancelled (the task
 *   was then not queued)
 *
 * Since: 1.0
 */
TwFuture *
tw_troupe_submit_finish (TwTroupe      *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tw_troupe_submit_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * tw_troupe_submit_future:
 * @self: a #TwTroupe
 * @input: the future whose value is the task's input
 *
 * Chains a task to @input, lazily: nothing is queued and no thread waits
 * while @input is pending. When @input succeeds, its value is queued on
 * this troupe; when it fails or is cancelled, the new task fails with the
 * same error and no worker is called. @input may belong to any troupe,
 * this one included, and be chained any number of times.
 *
 * Returns: (transfer full): the new task's #TwFuture, failed at once as
 *   tw_troupe_submit() describes if no task can run
 *
 * Since: 1.0
 */
TwFuture *
tw_troupe_submit_future (TwTroupe *self,
                         TwFuture *input)
{
  TwPool *pool;
  GError *error = NULL;

  tw_return_error_if_fail (TW_IS_TROUPE (self));
  tw_return_error_if_fail (TW_IS_FUTURE (input));

  pool = tw_troupe_ensure_pool (self, &error);
  if (pool == NULL)
    return tw_future_new_for_error (error);

  return tw_pool_submit_future (pool, input);
}

/**
 * tw_troupe_shutdown:
 * @self: a #TwTroupe
 * @mode: what to do with tasks that have not started
 *
 * Shuts the troupe down and blocks until it has stopped: later submits
 * fail with %TW_ERROR_SHUT_DOWN, the tasks that have not started are run
 * (%TW_SHUTDOWN_MODE_DRAIN) or cancelled
 * (%TW_SHUTDOWN_MODE_CANCEL_PENDING), running tasks finish, and every
 * worker is torn down and its thread joined.
 *
 * Shutting down again does nothing more, except that
 * %TW_SHUTDOWN_MODE_CANCEL_PENDING still cancels what is pending. Called
 * from one of the troupe's own workers, it cannot wait for itself: it
 * closes the troupe and returns, and the workers stop once the last task
 * settles.
 *
 * Since: 1.0
 */
void
tw_troupe_shutdown (TwTroupe       *self,
                    TwShutdownMode  mode)
{
  g_autoptr(TwPool) pool = NULL;

  g_return_if_fail (TW_IS_TROUPE (self));
  g_return_if_fail (mode == TW_SHUTDOWN_MODE_DRAIN || mode == TW_SHUTDOWN_MODE_CANCEL_PENDING);

  g_mutex_lock (&self->lock);
  self->shut_down = TRUE;
  if (self->pool != NULL)
    pool = tw_pool_ref (self->pool);
  g_mutex_unlock (&self->lock);

  if (pool != NULL)
    tw_pool_shutdown (pool, mode);
}

static void
tw_troupe_shutdown_thread (GTask        *task,
                           gpointer      source_object,
                           gpointer      task_data,
                           GCancellable *cancellable)
{
  tw_troupe_shutdown (source_object, GPOINTER_TO_INT (task_data));
  g_task_return_boolean (task, TRUE);
}

/**
 * tw_troupe_shutdown_async:
 * @self: a #TwTroupe
 * @mode: what to do with tasks that have not started
 * @cancellable: (nullable): a #GCancellable to stop waiting; the shutdown
 *   itself goes on
 * @callback: (scope async): called when the troupe has stopped
 * @user_data: (closure): data for @callback
 *
 * Does what tw_troupe_shutdown() does without blocking. @callback runs in
 * the thread-default main context of the caller.
 *
 * Since: 1.0
 */
void
tw_troupe_shutdown_async (TwTroupe            *self,
                          TwShutdownMode       mode,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TW_IS_TROUPE (self));
  g_return_if_fail (mode == TW_SHUTDOWN_MODE_DRAIN || mode == TW_SHUTDOWN_MODE_CANCEL_PENDING);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tw_troupe_shutdown_async);
  g_task_set_task_data (task, GINT_TO_POINTER (mode), NULL);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, tw_troupe_shutdown_thread);
}

/**
 * tw_troupe_shutdown_finish:
 * @self: a #TwTroupe
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Completes tw_troupe_shutdown_async().
 *
 * Returns: %TRUE once the troupe has stopped, or %FALSE with @error set
 *   to %G_IO_ERROR_CANCELLED if the wait was cancelled
 *
 * Since: 1.0
 */
gboolean
tw_troupe_shutdown_finish (TwTroupe      *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
