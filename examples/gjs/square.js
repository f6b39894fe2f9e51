// square.js: square 0..9 on a troupe of workers
//
// Run as: gjs -m square.js [--mode=thread|process] [--workers=N]
//
// The workers are JavaScript, which GJS runs only on its main thread, so
// tiny-worker.js runs them as gjs worker processes in either mode.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import * as TinyWorker from '../../bindings/gjs/tiny-worker.js';
import {parseOptions, printResults} from './example-common.js';

function square(x) {
    return x * x;
}

// Functions cross to worker processes by name.
TinyWorker.registerFunc('square', square);
TinyWorker.init();
const options = parseOptions(ARGV);

const troupe = TinyWorker.troupe({func: square, nWorkers: options.workers, mode: options.mode});
const futures = [];
for (let i = 0; i < 10; i++)
    futures.push(troupe.submit(i));

await printResults(futures);
await TinyWorker.close(troupe);
