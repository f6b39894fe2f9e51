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

/* The configuration properties come first: they live in config[]. */
enum {
  PROP_0,
  PROP_MODE,
  PROP_N_WORKERS,
  PROP_WORKER_ARGV,
  PROP_CANCEL_GRACE_PERIOD,
  PROP_LAUNCHER,
  PROP_MAX_MEMORY,
  PROP_MAX_CPU_TIME,
  PROP_MAX_QUEUED,
  PROP_TASK_TIMEOUT,
  PROP_MAX_RETRIES,
  PROP_WORKER_TYPE,
  PROP_WORKER_PROPERTIES,
  PROP_FUNC_NAME,
  PROP_N_QUEUED,
  PROP_N_RUNNING,
  PROP_N_COMPLETED,
  PROP_N_SUCCEEDED,
  PROP_N_FAILED,
  PROP_N_CANCELLED,
  N_PROPS
};

#define LAST_CONFIG   PROP_MAX_RETRIES
#define FIRST_COUNTER PROP_N_QUEUED

static GParamSpec *properties [N_PROPS];

struct _TwTroupe
{
  GObject        parent_instance;

  /* Read-only after construction. */
  GMainContext  *context;            /* where counter changes are notified */
  GType          worker_type;        /* or G_TYPE_NONE for a function */
  GVariant      *worker_properties;  /* a{sv}, or NULL */
  char          *func_name;          /* for tw_troupe_new_for_func_name() */
  GError        *config_error;       /* why every task fails, or NULL */

  /* Protected by lock. The configuration is frozen once the pool exists,
   * max-queued excepted; the factory moves into a thread-mode pool. */
  GMutex         lock;
  GValue         config[LAST_CONFIG + 1];  /* by property id, of the pspec's type */
  TwWorkerFactory *factory;
  TwPool        *pool;               /* created by the first submit, then
                                      * never changes until finalize */
  gboolean       shut_down;          /* shut down before any submit */

  /* Main context only: the counter values last notified. */
  guint          notified[TW_TROUPE_N_COUNTERS];
};

#define CONFIG_UINT(self, prop_id) (g_value_get_uint (&(self)->config[prop_id]))

G_DEFINE_FINAL_TYPE (TwTroupe, tw_troupe, G_TYPE_OBJECT);

/* Fills @values in the order of TwTroupeCounter and of the counter
 * properties. */
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

guint
tw_troupe_get_counter (TwTroupe        *self,
                       TwTroupeCounter  counter)
{
  guint values[TW_TROUPE_N_COUNTERS];

  tw_troupe_get_counters (self, values);

  return values[counter];
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
  for (guint prop_id = PROP_0 + 1; prop_id <= LAST_CONFIG; prop_id++)
    g_value_unset (&self->config[prop_id]);
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

  if (prop_id <= LAST_CONFIG)
    {
      g_mutex_lock (&self->lock);
      g_value_copy (&self->config[prop_id], value);
      g_mutex_unlock (&self->lock);
      return;
    }

  if (prop_id >= FIRST_COUNTER && prop_id < N_PROPS)
    {
      g_value_set_uint (value, tw_troupe_get_counter (self, prop_id - FIRST_COUNTER));
      return;
    }

  switch (prop_id)
    {
    case PROP_WORKER_TYPE:
      g_value_set_gtype (value, self->worker_type);
      break;

    case PROP_WORKER_PROPERTIES:
      g_value_set_variant (value, self->worker_properties);
      break;

    case PROP_FUNC_NAME:
      g_value_set_string (value, self->func_name);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* The one setter of every configuration property: it normalises the
 * value, refuses a change after the first submit (max-queued may change
 * at any time), and notifies a change. */
static void
tw_troupe_set_config_internal (TwTroupe     *self,
                               GParamSpec   *pspec,
                               const GValue *value)
{
  guint prop_id = pspec->param_id;
  g_auto(GValue) normal = G_VALUE_INIT;
  TwPool *pool;
  gboolean changed;

  g_assert (prop_id > PROP_0 && prop_id <= LAST_CONFIG);

  g_value_init (&normal, pspec->value_type);
  g_value_copy (value, &normal);
  if (prop_id == PROP_N_WORKERS && g_value_get_uint (&normal) == 0)
    g_value_set_uint (&normal, g_get_num_processors ());

  g_mutex_lock (&self->lock);
  pool = self->pool;
  if (pool != NULL && prop_id != PROP_MAX_QUEUED)
    {
      g_mutex_unlock (&self->lock);
      g_critical ("TwTroupe:%s cannot change after the first submit", pspec->name);
      return;
    }
  /* Boxed values compare by address: a new string array always counts. */
  changed = g_param_values_cmp (pspec, &self->config[prop_id], &normal) != 0;
  if (changed)
    g_value_copy (&normal, g_value_reset (&self->config[prop_id]));
  g_mutex_unlock (&self->lock);

  /* Outside the lock: letting submits in may run their callbacks. The
   * pool, once set, lives as long as the troupe. */
  if (changed && pool != NULL)
    tw_pool_set_max_queued (pool, g_value_get_uint (&normal));

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), pspec);
}

static void
tw_troupe_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  TwTroupe *self = TW_TROUPE (object);

  if (prop_id <= LAST_CONFIG)
    {
      tw_troupe_set_config_internal (self, pspec, value);
      return;
    }

  switch (prop_id)
    {
    case PROP_WORKER_TYPE:
      self->worker_type = g_value_get_gtype (value);
      break;

    case PROP_WORKER_PROPERTIES:
      self->worker_properties = g_value_dup_variant (value);
      break;

    case PROP_FUNC_NAME:
      self->func_name = g_value_dup_string (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* Reads configuration property @name into @value, which it initialises. */
void
tw_troupe_get_config (TwTroupe   *self,
                      const char *name,
                      GValue     *value)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (self), name);

  g_assert (pspec != NULL && pspec->param_id <= LAST_CONFIG);

  g_value_init (value, pspec->value_type);
  tw_troupe_get_property (G_OBJECT (self), pspec->param_id, value, pspec);
}

/* Sets configuration property @name, as g_object_set() would but without
 * its range checks, which the public setters do themselves. */
void
tw_troupe_set_config (TwTroupe     *self,
                      const char   *name,
                      const GValue *value)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (self), name);

  g_assert (pspec != NULL && pspec->param_id <= LAST_CONFIG);

  tw_troupe_set_config_internal (self, pspec, value);
}

static GParamSpec *
tw_troupe_counter_param_spec (const char *name,
                              const char *nick,
                              const char *blurb)
{
  return g_param_spec_uint (name, nick, blurb, 0, G_MAXUINT, 0,
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
    g_param_spec_enum ("mode", "Mode", "Whether workers are threads or processes",
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
    g_param_spec_uint ("n-workers", "Workers", "How many workers run tasks at once",
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
    g_param_spec_gtype ("worker-type", "Worker type", "The TwWorker subclass of each worker",
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
    g_param_spec_variant ("worker-properties",
                          "Worker properties",
                          "The construct properties of each worker",
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
    g_param_spec_string ("func-name", "Function name", "The registered name of the function",
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
    g_param_spec_boxed ("worker-argv", "Worker argv", "The program each worker process runs",
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
    g_param_spec_uint ("cancel-grace-period",
                       "Cancel grace period",
                       "Milliseconds a cancelled task has to stop",
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
    g_param_spec_boxed ("launcher", "Launcher", "A command prefix that starts each worker",
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
    g_param_spec_uint64 ("max-memory", "Max memory", "Address space limit of a worker process",
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
    g_param_spec_uint ("max-cpu-time", "Max CPU time", "CPU seconds limit of a worker process",
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
    g_param_spec_uint ("max-queued", "Max queued", "The most tasks that may wait for a worker",
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
    g_param_spec_uint ("task-timeout", "Task timeout", "Milliseconds a task may run",
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
    g_param_spec_uint ("max-retries", "Max retries", "How many more times a failed task runs",
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
  properties [PROP_N_QUEUED] =
    tw_troupe_counter_param_spec ("n-queued", "Queued", "Tasks waiting for a worker");

  /**
   * TwTroupe:n-running:
   *
   * How many tasks workers are running now.
   *
   * Since: 1.0
   */
  properties [PROP_N_RUNNING] =
    tw_troupe_counter_param_spec ("n-running", "Running", "Tasks running now");

  /**
   * TwTroupe:n-completed:
   *
   * How many tasks have settled: the sum of #TwTroupe:n-succeeded,
   * #TwTroupe:n-failed and #TwTroupe:n-cancelled.
   *
   * Since: 1.0
   */
  properties [PROP_N_COMPLETED] =
    tw_troupe_counter_param_spec ("n-completed", "Completed", "Tasks that have settled");

  /**
   * TwTroupe:n-succeeded:
   *
   * How many tasks have succeeded.
   *
   * Since: 1.0
   */
  properties [PROP_N_SUCCEEDED] =
    tw_troupe_counter_param_spec ("n-succeeded", "Succeeded", "Tasks that have succeeded");

  /**
   * TwTroupe:n-failed:
   *
   * How many tasks have failed, cancellation excepted.
   *
   * Since: 1.0
   */
  properties [PROP_N_FAILED] =
    tw_troupe_counter_param_spec ("n-failed", "Failed", "Tasks that have failed");

  /**
   * TwTroupe:n-cancelled:
   *
   * How many tasks have been cancelled.
   *
   * Since: 1.0
   */
  properties [PROP_N_CANCELLED] =
    tw_troupe_counter_param_spec ("n-cancelled", "Cancelled", "Tasks that have been cancelled");

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tw_troupe_init (TwTroupe *self)
{
  g_mutex_init (&self->lock);
  self->context = g_main_context_ref_thread_default ();
  self->worker_type = G_TYPE_NONE;

  for (guint prop_id = PROP_0 + 1; prop_id <= LAST_CONFIG; prop_id++)
    {
      g_value_init (&self->config[prop_id], properties [prop_id]->value_type);
      g_param_value_set_default (properties [prop_id], &self->config[prop_id]);
    }
  g_value_set_uint (&self->config[PROP_N_WORKERS], g_get_num_processors ());
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

/* GJS marks every type it registers with this qdata (see GJS's
 * gi/object.cpp); such a worker cannot run on a pool thread. */
static gboolean
tw_type_is_javascript (GType type)
{
  GQuark gjs_custom_type = g_quark_try_string ("gjs::custom-type");

  return type != G_TYPE_NONE && gjs_custom_type != 0 &&
         g_type_get_qdata (type, gjs_custom_type) != NULL;
}

/* Called with the lock held. */
static TwPool *
tw_troupe_new_process_pool (TwTroupe  *self,
                            GError   **error)
{
  GVariant *hello = tw_process_hello_new (self->worker_type, self->func_name,
                                          self->worker_properties, error);
  TwProcessOptions options = {
    .worker_argv = g_value_get_boxed (&self->config[PROP_WORKER_ARGV]),
    .launcher = g_value_get_boxed (&self->config[PROP_LAUNCHER]),
    .cancel_grace_ms = CONFIG_UINT (self, PROP_CANCEL_GRACE_PERIOD),
    .max_memory = g_value_get_uint64 (&self->config[PROP_MAX_MEMORY]),
    .max_cpu_time = CONFIG_UINT (self, PROP_MAX_CPU_TIME),
  };

  if (hello == NULL)
    return NULL;

  return tw_pool_new (&tw_process_runner,
                      tw_process_config_new (&options, hello),
                      tw_process_config_free,
                      CONFIG_UINT (self, PROP_N_WORKERS), self->context,
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
  else if (g_value_get_enum (&self->config[PROP_MODE]) == TW_TROUPE_MODE_PROCESS)
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
                        CONFIG_UINT (self, PROP_N_WORKERS), self->context,
                        G_OBJECT (self), tw_troupe_notify_counters);

  /* Published with a barrier for the lock-free read above. */
  if (self->pool == NULL && pool != NULL)
    {
      tw_pool_set_max_queued (pool, CONFIG_UINT (self, PROP_MAX_QUEUED));
      tw_pool_set_limits (pool, (gint64)CONFIG_UINT (self, PROP_TASK_TIMEOUT) * 1000,
                          CONFIG_UINT (self, PROP_MAX_RETRIES));
      g_atomic_pointer_set (&self->pool, pool);
    }

  g_mutex_unlock (&self->lock);

  return pool;
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
 * @callback: (scope async) (nullable): called when the troupe has stopped
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
