# ldconfig.py: refreshes the dynamic linker's cache after meson install
#
# Copyright 2026 The tiny-worker developers
#
# SPDX-License-Identifier: LGPL-2.1-or-later

"""PyGObject opens libtiny-worker-1.so.0 by name, which under a prefix
like /usr/local only the linker's cache finds: refresh it, as root,
unless this is a staged (DESTDIR) install."""

import os
import shutil
import subprocess

if not os.environ.get('DESTDIR') and os.geteuid() == 0:
    ldconfig = shutil.which('ldconfig') or shutil.which('ldconfig', path='/sbin:/usr/sbin')
    if ldconfig is not None:
        subprocess.run([ldconfig], check=False)
