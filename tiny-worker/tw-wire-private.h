/* tw-wire-private.h
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

#include <gio/gio.h>

G_BEGIN_DECLS

/* The protocol between a troupe and its worker processes. Every frame is
 * a little-endian guint32 length followed by a GVariant of type
 * TW_WIRE_FRAME_TYPE in normal form: (kind, task id, payload). See the
 * "Process mode" page of the reference for the conversation. */
#define TW_WIRE_VERSION     1
#define TW_WIRE_FRAME_TYPE  "(utv)"
#define TW_WIRE_MAX_FRAME   ((gsize)512 * 1024 * 1024)
#define TW_WIRE_ENV         "TW_WORKER_FDS"
/* GLib reads values nested up to 128 levels deep; a frame takes two. */
#define TW_WIRE_MAX_DEPTH   126

typedef enum
{
  /* parent to child */
  TW_WIRE_HELLO = 1,       /* (uss@a{sv}): version, "func" or "worker", name, properties */
  TW_WIRE_TASK,            /* the input value */
  TW_WIRE_CHUNK,           /* an array of inputs to run one by one; answered by an array */
  TW_WIRE_CANCEL,          /* () */
  TW_WIRE_QUIT,            /* () */
  TW_WIRE_NOP,             /* (): ignored, either way; see tw_wire_nudge() */
  /* child to parent */
  TW_WIRE_READY = 16,      /* (ut): version, pid */
  TW_WIRE_SETUP_FAILED,    /* (sis): the setup error */
  TW_WIRE_RESULT,          /* the output value */
  TW_WIRE_ERROR,           /* (sis): the task's error */
  TW_WIRE_PROGRESS,        /* (ds): fraction and message ("" for none) */
  TW_WIRE_STARTED,         /* (): the task has run for a while */
} TwWireKind;

typedef struct
{
  int         fd;
  int         pid_fd;      /* a pidfd of the peer, or -1: its death ends reads */
  GPid        pid;         /* the peer, a child; without a pidfd, polled for */
  int         wake_fd;     /* an eventfd written when the cancellable fires, or -1 */
  GByteArray *buffer;      /* bytes read, after a few bytes of lead; see tw_wire_reader_read() */
  gsize       offset;      /* where the unconsumed ones start */
  gboolean    newline;     /* every frame is followed by a newline */
  gboolean    poll_first;  /* wait before reading: nothing is expected yet */
  int         nudge_fd;    /* through a relay: the peer's input, or -1; see tw_wire_nudge() */
  gboolean    unanswered;  /* bytes were read since the owner last wrote to the peer */
  gboolean    nudged;      /* a NOP went for the frame being read */
} TwWireReader;

typedef struct
{
  TwWireKind  kind;
  guint64     id;
  GVariant   *payload;     /* owned */
} TwWireFrame;

void      tw_wire_reader_init   (TwWireReader   *reader,
                                 int             fd);
void      tw_wire_reader_clear  (TwWireReader   *reader);
gboolean  tw_wire_read          (TwWireReader   *reader,
                                 GCancellable   *cancellable,
                                 gint64          deadline,
                                 TwWireFrame    *frame,
                                 GError        **error);
gboolean  tw_wire_take          (TwWireReader   *reader,
                                 TwWireFrame    *frame,
                                 GError        **error);
gssize    tw_wire_reader_read   (TwWireReader   *reader);
void      tw_wire_end_line      (GByteArray     *out);
gboolean  tw_wire_append        (GByteArray     *out,
                                 TwWireKind      kind,
                                 guint64         id,
                                 GVariant       *payload,
                                 GError        **error);
gboolean  tw_wire_flush         (int             fd,
                                 GByteArray     *out,
                                 int             pid_fd,
                                 GError        **error);
gboolean  tw_wire_write         (int             fd,
                                 TwWireKind      kind,
                                 guint64         id,
                                 GVariant       *payload,
                                 int             pid_fd,
                                 GError        **error);
void      tw_wire_nudge         (int             fd,
                                 gboolean        newline);
void      tw_wire_frame_clear   (TwWireFrame    *frame);
GVariant *tw_wire_error_to_variant   (const GError *error);
GError   *tw_wire_error_from_variant (GVariant     *variant);
gboolean  tw_wire_check_value   (GVariant       *value,
                                 GError        **error);
gboolean  tw_wire_check_depth   (GVariant       *value,
                                 GError        **error);
int       tw_wire_wake_new      (GError        **error);
void      tw_wire_wake          (int             wake_fd);

G_END_DECLS
