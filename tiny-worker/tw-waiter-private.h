/* tw-waiter-private.h
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

#pragma once

#ifndef TW_COMPILATION
# error "This header is private to tiny-worker."
#endif

#include "tw-future.h"

G_BEGIN_DECLS

typedef struct _TwWaiter TwWaiter;

/* Takes an abandoned waiter out of its owner's list, with the owner's
 * lock held. */
typedef void (*TwWaiterRemoveFunc) (TwWaiter *waiter,
                                    gpointer  owner);

/*
 * An async wait that its owner answers once, or that its cancellable
 * abandons first: TwFuture's waits, TwAsCompleted's nexts and the submits
 * that wait for room in a pool. The owner keeps it in a list, holding
 * one reference; whichever of owner and cancellable first sets done,
 * under the owner's lock, answers the task. The creator keeps its own
 * reference until it has called tw_waiter_watch_cancellable(), as the
 * owner may answer the waiter as soon as it is in the list.
 */
struct _TwWaiter
{
  gatomicrefcount     ref_count;
  GTask              *task;        /* answered once */
  GMutex             *lock;        /* the owner's */
  TwWaiterRemoveFunc  remove;
  gpointer            owner;
  const char         *message;     /* of the error of an abandoned wait */
  gulong              handler_id;  /* protected by lock */
  gboolean            done;        /* protected by lock */
  GVariant           *input;       /* the owner's: a submit's input */
  TwFuture           *future;      /* the owner's: the future to answer with */
};

TwWaiter *tw_waiter_new                (GTask              *task,
                                        GMutex             *lock,
                                        TwWaiterRemoveFunc  remove,
                                        gpointer            owner,
                                        const char         *message);
TwWaiter *tw_waiter_ref                (TwWaiter           *self);
void      tw_waiter_unref              (gpointer            self);
void      tw_waiter_watch_cancellable  (TwWaiter           *self);
void      tw_waiter_answered           (gpointer            self);

/* Whether a blocking wait may end; called with the owner's lock held. */
typedef gboolean (*TwWaitReadyFunc) (gpointer data);

gboolean  tw_wait_blocking             (GCond              *cond,
                                        GMutex             *lock,
                                        guint              *n_blocked,
                                        TwWaitReadyFunc     ready,
                                        gpointer            data,
                                        gint64              timeout_usec,
                                        const char         *what,
                                        GError            **error);

/* How long a thread polls before it sleeps: about a cross-CPU wake-up on
 * a virtual machine, so that a short gap costs no futex wait and wake. */
#define TW_SPIN_USEC 20

void      tw_mutex_lock_polling        (GMutex             *lock);
gboolean  tw_spin_until                (TwWaitReadyFunc     ready,
                                        gpointer            data,
                                        gint64              max_usec);
void      tw_spin_for_change           (GMutex             *lock,
                                        guint              *n_spinning,
                                        const gint         *seq);

G_END_DECLS
