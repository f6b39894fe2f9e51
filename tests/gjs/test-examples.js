// test-examples.js: the GJS examples print the same line as the C ones
//
// Copyright 2026 The tiny-worker developers
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import {assert, assertEqual, run, test} from './tap.js';

Gio._promisify(Gio.Subprocess.prototype, 'communicate_utf8_async', 'communicate_utf8_finish');

const EXPECTED = {
    'square': '[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]',
    'connected-worker': "['bar:0', 'bar:1', 'bar:2', 'bar:3', 'bar:4', " +
        "'bar:5', 'bar:6', 'bar:7', 'bar:8', 'bar:9']",
    'chaining': '[0.0, 0.5, 2.0, 4.5, 8.0, 12.5, 18.0, 24.5, 32.0, 40.5]',
};

const EXAMPLES = `${GLib.getenv('TW_SOURCE_ROOT')}/examples/gjs`;

async function runExample(name, ...options) {
    const process = Gio.Subprocess.new(['gjs', '-m', `${EXAMPLES}/${name}.js`, ...options],
        Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_PIPE);
    const [stdout, stderr] = await process.communicate_utf8_async(null, null);
    return {status: process.get_if_exited() ? process.get_exit_status() : -1, stdout, stderr};
}

for (const name of Object.keys(EXPECTED)) {
    for (const options of [['--mode=thread'], ['--mode=process'], ['--mode', 'process', '--workers=1']]) {
        test(`${name} ${options.join(' ')}`, async () => {
            const {status, stdout, stderr} = await runExample(name, ...options);
            assertEqual(status, 0, stderr);
            assertEqual(stdout, `${EXPECTED[name]}\n`);
        });
    }
}

test('bad options', async () => {
    for (const options of [['--mode=fibre'], ['--workers=0'], ['--bogus'], ['--mode']]) {
        // eslint-disable-next-line no-await-in-loop
        const {status, stdout, stderr} = await runExample('square', ...options);
        assertEqual(status, 1, options.join(' '));
        assertEqual(stdout, '');
        assert(stderr.includes('Usage:'), stderr);
    }
});

await run();
