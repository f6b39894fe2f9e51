/* self-test.h: drive the demo the way a person would, for the test suite
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "mandel-window.h"

G_BEGIN_DECLS

void mandel_self_test_start (MandelWindow *window,
                             const char   *output_dir,
                             int          *status);

G_END_DECLS
