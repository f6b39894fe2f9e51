// chaining.js: a squaring troupe chained into a halving troupe
//
// Run as: gjs -m chaining.js [--mode=thread|process] [--workers=N]
//
// The workers are JavaScript, which GJS runs only on its main thread, so
// tiny-worker.js runs them as gjs worker processes in either mode.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';

import * as TinyWorker from '../../bindings/gjs/tiny-worker.js';
import {parseOptions, printResults} from './example-common.js';

function square(x) {
    return x * x;
}

function halve(x) {
    // A double even when the half is whole, as in the other languages.
    return new GLib.Variant('d', x / 2);
}

TinyWorker.registerFunc('square', square);
TinyWorker.registerFunc('halve', halve);
TinyWorker.init();
const options = parseOptions(ARGV);

const squarer = TinyWorker.troupe({func: square, nWorkers: options.workers, mode: options.mode});
const halver = TinyWorker.troupe({func: halve, nWorkers: options.workers, mode: options.mode});

// Each halving task is queued only once its square is known.
const futures = [];
for (let i = 0; i < 10; i++)
    futures.push(halver.submit(squarer.submit(i)));

await printResults(futures);
await TinyWorker.close(squarer);
await TinyWorker.close(halver);
