# example_common.py: option parsing shared by the Python examples
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse

import gi

gi.require_version('Tw', '1')
from gi.repository import Tw  # noqa: E402


def parse_options():
    """Parses --mode=thread|process and --workers=N, as the C examples do."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--mode', choices=('thread', 'process'), default='thread',
                        help='thread (default) or process')
    parser.add_argument('--workers', type=int, default=4, metavar='N',
                        help='number of workers (default 4)')
    options = parser.parse_args()
    if options.workers < 1:
        parser.error('--workers must be at least 1')
    options.mode = {'thread': Tw.TroupeMode.THREAD,
                    'process': Tw.TroupeMode.PROCESS}[options.mode]
    return options
