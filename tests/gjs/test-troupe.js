// test-troupe.js: cancellation, draining and chaining across modes from GJS
//
// Copyright 2026 The tiny-worker developers
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import Tw from 'gi://Tw?version=1';
import TwTest from 'gi://TwTest?version=1';

import * as TinyWorker from '../../bindings/gjs/tiny-worker.js';
import {assert, assertEqual, assertRejects, assertThrows, run, test} from './tap.js';

// Runs until its task is cancelled, as long work that polls should.
Tw.register_func('tw-test-wait-for-cancel', (input, cancellable) => {
    const deadline = GLib.get_monotonic_time() + 30 * GLib.USEC_PER_SEC;
    while (GLib.get_monotonic_time() < deadline) {
        cancellable.set_error_if_cancelled();
        GLib.usleep(5000);
    }
    return new GLib.Variant('s', 'never cancelled');
});
TinyWorker.registerFunc('tw-test-first', value => value[0]);
TinyWorker.registerFunc('tw-test-halve', value => new GLib.Variant('d', value / 2));
TinyWorker.init();

function delayedCWorker(delayMs, nWorkers = 1) {
    return TinyWorker.troupe({
        worker: TwTest.CWorker,
        workerProperties: {'delay-ms': new GLib.Variant('u', delayMs)},
        nWorkers,
    });
}

async function untilRunning(future) {
    while (future.get_state() === Tw.FutureState.PENDING) {
        // eslint-disable-next-line no-await-in-loop
        await new Promise(resolve => GLib.timeout_add(GLib.PRIORITY_DEFAULT, 2, () => {
            resolve();
            return GLib.SOURCE_REMOVE;
        }));
    }
}

function isCancelled(error) {
    return error instanceof GLib.Error &&
        error.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED);
}

test('cancelling a queued task', async () => {
    const troupe = delayedCWorker(200);
    const running = troupe.submit(1);
    const queued = troupe.submit(2);
    assertEqual(queued.cancel(), true);
    assert(isCancelled(await assertRejects(queued)));
    assertEqual(queued.get_state(), Tw.FutureState.CANCELLED);
    assertEqual(queued.cancel(), true);   // already cancelled
    assertEqual((await running.result())[0], 1);
    assertEqual(running.cancel(), false);   // too late: it succeeded
    assertEqual(running.get_state(), Tw.FutureState.SUCCEEDED);
    await TinyWorker.close(troupe);
});

test('cancelling a running C task', async () => {
    const troupe = delayedCWorker(20000);
    const future = troupe.submit(1);
    await untilRunning(future);
    assertEqual(future.cancel(), false);   // running: the worker decides
    assert(isCancelled(await assertRejects(future)));
    assertEqual(future.cancel(), true);
    await TinyWorker.close(troupe);
});

test('cancelling a running JavaScript task in a worker process', async () => {
    const troupe = TinyWorker.troupe({func: 'tw-test-wait-for-cancel', nWorkers: 1});
    const future = troupe.submit(null);
    const queued = troupe.submit(null);
    await untilRunning(future);
    assertEqual(queued.cancel(), true);
    assertEqual(future.cancel(), false);
    assert(isCancelled(await assertRejects(future.result())));
    assert(isCancelled(await assertRejects(queued.result())));
    await TinyWorker.close(troupe);
});

test('cancelling a chained task that waits for its input', async () => {
    const troupe = delayedCWorker(20000);
    const input = troupe.submit(1);
    const chained = troupe.submit(input);
    assertEqual(chained.cancel(), true);
    assert(isCancelled(await assertRejects(chained.result())));
    assertEqual(input.get_state() === Tw.FutureState.CANCELLED, false);
    input.cancel();
    await TinyWorker.close(troupe);
});

function isTimedOut(error) {
    return error instanceof GLib.Error &&
        error.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.TIMED_OUT);
}

async function assertTimesOut(future, timeout) {
    const start = GLib.get_monotonic_time();
    const error = await assertRejects(future.result({timeout}));
    assert(isTimedOut(error), `${error}`);
    assertEqual(error.message, `The future did not settle within ${timeout} ms`);
    assert(GLib.get_monotonic_time() - start >= timeout * 1000, 'timed out early');
    assert(!future.is_done(), 'the future settled');
}

test('result({timeout}) rejects with TIMED_OUT, and the task goes on (C, threads)', async () => {
    const troupe = delayedCWorker(20000);
    const future = troupe.submit(1);
    await assertTimesOut(future, 50);
    await assertTimesOut(future, 1);   // waits again, and times out again
    assertEqual(future.cancel(), future.get_state() === Tw.FutureState.CANCELLED);
    assert(isCancelled(await assertRejects(future.result({timeout: 30000}))));
    await TinyWorker.close(troupe);
});

test('result({timeout}) rejects with TIMED_OUT (JavaScript, processes)', async () => {
    const troupe = TinyWorker.troupe({func: 'tw-test-wait-for-cancel', nWorkers: 1});
    const future = troupe.submit(null);
    await assertTimesOut(future, 100);
    future.cancel();
    assert(isCancelled(await assertRejects(future.result({timeout: 30000}))));
    await TinyWorker.close(troupe);
});

test('result({timeout}) gives the value when it comes in time', async () => {
    const troupe = TinyWorker.troupe({func: 'tw-test-first', nWorkers: 1});
    assertEqual(await troupe.submit([5, 6]).result({timeout: 30000}), 5);
    const done = troupe.submit([7]);
    assertEqual(await done.result(), 7);
    assertEqual(await done.result({timeout: 0}), 7);   // settled: no wait at all
    await TinyWorker.close(troupe);
});

test('result() takes a cancellable alone or with a timeout', async () => {
    const troupe = delayedCWorker(20000);
    const future = troupe.submit(1);
    const cancellable = new Gio.Cancellable();
    const waiting = [future.result(cancellable), future.result({timeout: 30000, cancellable})];
    cancellable.cancel();
    for (const promise of waiting)
        // eslint-disable-next-line no-await-in-loop
        assert(isCancelled(await assertRejects(promise)));
    assert(isCancelled(await assertRejects(future.result({timeout: 30000, cancellable}))));
    assert(!future.is_done(), 'cancelling the wait cancelled the task');
    for (const timeout of [-1, NaN, '10', Infinity]) {
        const error = assertThrows(() => future.result({timeout}));
        assert(error instanceof RangeError, `${timeout}: ${error}`);
    }
    assertThrows(() => future.result({cancellable: {}}));
    assert(assertThrows(() => future.result(500)) instanceof TypeError);
    future.cancel();
    await TinyWorker.close(troupe);
});

test('closing drains what was submitted', async () => {
    const troupe = delayedCWorker(20, 2);
    const futures = [];
    for (let i = 0; i < 6; i++)
        futures.push(troupe.submit(i));
    assert(!futures.every(future => future.is_done()));
    assertEqual(await TinyWorker.close(troupe), true);
    assert(futures.every(future => future.is_done()));
    assertEqual(futures.map(future => future.wait(0).deepUnpack()[0]), [0, 1, 4, 9, 16, 25]);
    assertEqual(troupe.n_completed, 6);
});

test('futures are thenables: await and Promise.all', async () => {
    const troupe = delayedCWorker(0, 2);
    const variant = await troupe.submit(3);
    assert(variant instanceof GLib.Variant);
    assertEqual(variant.get_type_string(), '(xtt)');
    const values = await Promise.all([1, 2].map(i => troupe.submit(i).result()));
    assertEqual(values.map(([value]) => value), [1, 4]);
    await TinyWorker.close(troupe);
});

test('chaining across modes: C threads, JavaScript processes, C threads', async () => {
    const squarer = delayedCWorker(0, 2);
    const picker = TinyWorker.troupe({func: 'tw-test-first', nWorkers: 2});
    const halver = TinyWorker.troupe({func: 'tw-test-halve', nWorkers: 1});
    assertEqual([squarer.mode, picker.mode],
        [Tw.TroupeMode.THREAD, Tw.TroupeMode.PROCESS]);

    const futures = [];
    for (let i = 0; i < 4; i++)
        futures.push(squarer.submit(picker.submit(squarer.submit(i))));
    const results = await Promise.all(futures.map(future => future.result()));
    assertEqual(results.map(([value]) => value), [0, 1, 16, 81]);

    const halves = await Promise.all([0, 1, 2].map(i =>
        halver.submit(picker.submit(squarer.submit(i))).result()));
    assertEqual(halves, [0, 0.5, 2]);

    for (const troupe of [squarer, picker, halver])
        // eslint-disable-next-line no-await-in-loop
        await TinyWorker.close(troupe);
});

test('a failed input fails the chain without calling the worker', async () => {
    const squarer = delayedCWorker(0);
    const picker = TinyWorker.troupe({func: 'tw-test-first', nWorkers: 1});
    const error = await assertRejects(picker.submit(squarer.submit(-2)));
    assert(error.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.INVALID_ARGUMENT), `${error}`);
    await TinyWorker.close(squarer);
    await TinyWorker.close(picker);
    assertEqual([picker.n_succeeded, picker.n_failed], [0, 1]);
});

await run();
