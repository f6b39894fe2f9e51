/* tw-waiter.c
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

#include "tw-waiter-private.h"

TwWaiter *
tw_waiter_new (GTask              *task,
               GMutex             *lock,
               TwWaiterRemoveFunc  remove,
               gpointer            owner,
               const char         *message)
{
  TwWaiter *self = g_new0 (TwWaiter, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->task = g_object_ref (task);
  self->lock = lock;
  self->remove = remove;
  self->owner = owner;
  self->message = message;

  return self;
}

TwWaiter *
tw_waiter_ref (TwWaiter *self)
{
  g_atomic_ref_count_inc (&self->ref_count);

  return self;
}

void
tw_waiter_unref (gpointer data)
{
  TwWaiter *self = data;

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_clear_pointer (&self->input, g_variant_unref);
  g_clear_object (&self->future);
  g_object_unref (self->task);
  g_free (self);
}

static void
tw_waiter_cancelled_cb (GCancellable *cancellable,
                        gpointer      user_data)
{
  TwWaiter *self = user_data;
  gboolean abandon;

  g_mutex_lock (self->lock);
  abandon = !self->done;
  if (abandon)
    {
      self->done = TRUE;
      self->remove (self, self->owner);
    }
  g_mutex_unlock (self->lock);

  if (!abandon)
    return;

  g_task_return_new_error (self->task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s", self->message);
  tw_waiter_unref (self);  /* the owner's list's reference */
}

/*
 * tw_waiter_watch_cancellable:
 *
 * Abandons the wait when the task's cancellable fires. Call it once the
 * waiter is in its owner's list, without the owner's lock, holding a
 * reference of one's own.
 */
void
tw_waiter_watch_cancellable (TwWaiter *self)
{
  GCancellable *cancellable = g_task_get_cancellable (self->task);
  gulong handler_id;
  gboolean done;

  if (cancellable == NULL)
    return;

  /* The handler may run at once, or after the owner answered: it checks
   * done under the lock. */
  handler_id = g_cancellable_connect (cancellable, G_CALLBACK (tw_waiter_cancelled_cb),
                                      tw_waiter_ref (self), tw_waiter_unref);

  g_mutex_lock (self->lock);
  done = self->done;
  if (!done)
    self->handler_id = handler_id;
  g_mutex_unlock (self->lock);

  if (done && handler_id != 0)
    g_cancellable_disconnect (cancellable, handler_id);
}

/*
 * tw_waiter_answered:
 *
 * Called by the owner once it has set done under its lock and returned
 * the task: stops watching the cancellable and drops the list's
 * reference. Not with the lock held: disconnecting waits for a handler
 * that is running, and the handler takes the lock.
 */
void
tw_waiter_answered (gpointer data)
{
  TwWaiter *self = data;

  if (self->handler_id != 0)
    g_cancellable_disconnect (g_task_get_cancellable (self->task), self->handler_id);
  tw_waiter_unref (self);
}

/* How many times a thread tries a taken lock before it sleeps on it. */
#define TW_LOCK_POLLS 64

static gsize
tw_n_cpus (void)
{
  static gsize n_cpus;

  if (g_once_init_enter (&n_cpus))
    g_once_init_leave (&n_cpus, MAX (g_get_num_processors (), 1));

  return n_cpus;
}

static inline void
tw_cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#elif defined(__aarch64__)
  __asm__ __volatile__ ("yield");
#endif
}

/*
 * tw_mutex_lock_polling:
 *
 * Takes @lock, trying it for a moment first if another thread holds it,
 * as an adaptive mutex does: the locks this is for are held for a few
 * dozen instructions, and a contended GMutex costs the thread that waits
 * a futex wait and the one that unlocks a futex wake. With one CPU, the
 * holder runs only once we sleep.
 */
void
tw_mutex_lock_polling (GMutex *lock)
{
  guint n_polls = tw_n_cpus () > 1 ? TW_LOCK_POLLS : 0;

  for (guint i = 0; i < n_polls; i++)
    {
      if (g_mutex_trylock (lock))
        return;
      tw_cpu_relax ();
    }

  g_mutex_lock (lock);
}

/*
 * tw_spin_until:
 * @ready: checked without any lock, so it may only read atomically
 *
 * Polls @ready for up to @max_usec, and says whether it became true. A
 * thread that is about to sleep until another one acts calls it first:
 * when the other acts within microseconds, nobody pays for a futex wait
 * and wake, which on a virtual machine takes tens of microseconds. The
 * poll yields the CPU every microsecond or two, in case the thread we wait
 * for shares it, and at most one thread per CPU polls; the others, and
 * all of them in a process that may run on one CPU only, check once.
 */
gboolean
tw_spin_until (TwWaitReadyFunc ready,
               gpointer        data,
               gint64          max_usec)
{
  static gint n_spinning;
  gsize n_cpus = tw_n_cpus ();
  gint64 deadline = 0;
  gboolean done;

  done = ready (data);
  if (done || max_usec <= 0)
    return done;

  /* On one CPU, the thread we wait for runs only once we stop. */
  if (n_cpus < 2 || (gsize)g_atomic_int_add (&n_spinning, 1) >= n_cpus)
    {
      if (n_cpus >= 2)
        g_atomic_int_add (&n_spinning, -1);
      return FALSE;
    }

  for (guint i = 1; !done; i++)
    {
      tw_cpu_relax ();
      done = ready (data);

      /* Reading the clock every time would slow the polling down. The
       * thread we wait for may share our CPU: let it run. */
      if (!done && i % 64 == 0)
        {
          gint64 now = g_get_monotonic_time ();

          if (deadline == 0)
            deadline = now + max_usec;
          else if (now >= deadline)
            break;
          g_thread_yield ();
        }
    }

  g_atomic_int_add (&n_spinning, -1);

  return done;
}

typedef struct
{
  const gint *seq;
  gint        seen;
} TwSpinSeq;

static gboolean
tw_spin_seq_changed (gpointer data)
{
  TwSpinSeq *spin = data;

  return g_atomic_int_get (spin->seq) != spin->seen;
}

/*
 * tw_spin_for_change:
 * @lock: the owner's lock, held by the caller
 * @n_spinning: the owner's count of threads in here, protected by @lock
 * @seq: changed atomically, with or without @lock, when the caller should
 *   look again
 *
 * For a thread about to sleep until another changes @seq: unless one of
 * the owner's threads polls already, polls @seq with @lock released, for
 * up to %TW_SPIN_USEC. Returns with @lock held; the caller looks again.
 */
void
tw_spin_for_change (GMutex     *lock,
                    guint      *n_spinning,
                    const gint *seq)
{
  TwSpinSeq spin = { seq, g_atomic_int_get (seq) };

  if (*n_spinning > 0)
    return;

  (*n_spinning)++;
  g_mutex_unlock (lock);
  tw_spin_until (tw_spin_seq_changed, &spin, TW_SPIN_USEC);
  tw_mutex_lock_polling (lock);
  (*n_spinning)--;
}

/*
 * tw_wait_blocking:
 * @lock: the owner's lock, held by the caller
 * @n_blocked: the owner's count of blocked threads, so that it broadcasts
 *   @cond only when somebody waits
 * @timeout_usec: how long to wait at most, or -1 to wait forever
 * @what: what did not happen, for the error of a wait that timed out
 *
 * The blocking twin of #TwWaiter: waits on @cond until @ready says so.
 * Returns %FALSE with @error set to %G_IO_ERROR_TIMED_OUT if the timeout
 * passed first; the lock is held either way.
 */
gboolean
tw_wait_blocking (GCond           *cond,
                  GMutex          *lock,
                  guint           *n_blocked,
                  TwWaitReadyFunc  ready,
                  gpointer         data,
                  gint64           timeout_usec,
                  const char      *what,
                  GError         **error)
{
  gint64 end_time = timeout_usec < 0 ? -1 : g_get_monotonic_time () + timeout_usec;

  while (!ready (data))
    {
      gboolean woken = TRUE;

      (*n_blocked)++;
      if (end_time < 0)
        g_cond_wait (cond, lock);
      else
        woken = g_cond_wait_until (cond, lock, end_time);
      (*n_blocked)--;

      if (!woken && !ready (data))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "%s within %" G_GINT64_FORMAT " µs", what, timeout_usec);
          return FALSE;
        }
    }

  return TRUE;
}
