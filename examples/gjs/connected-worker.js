// connected-worker.js: a worker configured by a construct property, which
// it "connects" to once in its setup step and uses in every call
//
// Run as: gjs -m connected-worker.js [--mode=thread|process] [--workers=N]
//
// The worker is JavaScript, which GJS runs only on its main thread, so
// tiny-worker.js runs it as gjs worker processes in either mode.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GObject from 'gi://GObject';

import * as TinyWorker from '../../bindings/gjs/tiny-worker.js';
import {parseOptions, printResults} from './example-common.js';

// Worker types cross to worker processes by GType name.
const ConnectedWorker = GObject.registerClass({
    GTypeName: 'ExampleConnectedWorker',
    Properties: {
        'foo': GObject.ParamSpec.string('foo', '', '',
            GObject.ParamFlags.READWRITE | GObject.ParamFlags.CONSTRUCT_ONLY, null),
    },
}, class ConnectedWorker extends TinyWorker.Worker {
    vfunc_setup(_cancellable) {
        this._connection = this.foo;
        return true;
    }

    work(x) {
        return `${this._connection}:${x}`;
    }

    vfunc_teardown() {
        this._connection = null;
    }
});

TinyWorker.init();
const options = parseOptions(ARGV);

const troupe = TinyWorker.troupe({
    worker: ConnectedWorker,
    workerProperties: {foo: 'bar'},
    nWorkers: options.workers,
    mode: options.mode,
});
const futures = [];
for (let i = 0; i < 10; i++)
    futures.push(troupe.submit(i));

await printResults(futures);
await TinyWorker.close(troupe);
