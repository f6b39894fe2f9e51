// test-compose.js: composing work from GJS: andThen/catch/finally, all,
// any and first, as-completed order, map in both modes and progress
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

const TEST_DOMAIN = GLib.quark_from_string('tw-test-gjs-domain');

TinyWorker.registerFunc('tw-compose-square', x => {
    if (x < 0)
        throw new RangeError(`negative input ${x}`);
    return x * x;
});
TinyWorker.registerFunc('tw-compose-sum', values => values.reduce((a, b) => a + b, 0));
// Sleeps @ms milliseconds and returns them; for 'pid', returns the
// worker's process id after 100 ms.
TinyWorker.registerFunc('tw-compose-nap', ms => {
    if (ms === 'pid') {
        GLib.usleep(100000);
        return new Gio.Credentials().get_unix_pid();
    }
    GLib.usleep(ms * 1000);
    return ms;
});
// Reports progress once @gate exists, which the test makes after it has
// connected to notify::progress.
TinyWorker.registerFunc('tw-compose-report-half', ([message, gate]) => {
    while (!GLib.file_test(gate, GLib.FileTest.EXISTS))
        GLib.usleep(1000);
    TinyWorker.reportProgress(0.5, message);
    return 'done';
});
TinyWorker.init();

function cTroupe(nWorkers = 2) {
    return TinyWorker.troupe({worker: TwTest.CWorker, nWorkers});
}

function squareOf(future) {
    return future.resultNow()[0];
}

async function collect(asyncIterable) {
    const values = [];
    for await (const value of asyncIterable)
        values.push(value);
    return values;
}

// Worker processes start one by one: make sure all are up, so that the
// tasks of a test start together.
async function startAllWorkers(troupe, nWorkers) {
    const pids = new Set();
    const deadline = GLib.get_monotonic_time() + 30 * GLib.USEC_PER_SEC;
    while (pids.size < nWorkers && GLib.get_monotonic_time() < deadline) {
        // eslint-disable-next-line no-await-in-loop
        for (const pid of await collect(troupe.map_unordered(Array(nWorkers).fill('pid'))))
            pids.add(pid);
    }
    return pids.size;
}

test('andThen runs on the main loop and chains a submit', async () => {
    const troupe = cTroupe();
    let calls = 0;
    const future = troupe.submit(3).andThen(squared => {
        calls++;
        return troupe.submit(squareOf(squared));
    });
    assertEqual(calls, 0);
    assert(future instanceof Tw.Future);
    await future.wait_async(null);
    assertEqual(squareOf(future), 81);
    assertEqual(calls, 1);
    await TinyWorker.close(troupe);
});

test('what andThen callbacks return', async () => {
    const troupe = cTroupe();
    assertEqual(await troupe.submit(2).andThen(f => squareOf(f) + 0.5).result(), 4.5);
    assertEqual((await troupe.submit(2).andThen(() => null).result())[0], 4);
    assertEqual((await troupe.submit(2).andThen(() => undefined).result())[0], 4);
    assertEqual(await troupe.submit(2).andThen(() => ({a: [1, 'b']})).result(), {a: [1, 'b']});
    assertEqual(await troupe.submit(2).and_then(() => 'same').result(), 'same');
    const variant = await troupe.submit(2).andThen(() => new GLib.Variant('u', 7));
    assertEqual(variant, new GLib.Variant('u', 7));
    await TinyWorker.close(troupe);
});

test('andThen passes failures on and turns exceptions into errors', async () => {
    const troupe = cTroupe();
    let calls = 0;
    const failed = await assertRejects(troupe.submit(-1).andThen(() => calls++).result());
    assert(failed.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.INVALID_ARGUMENT), `${failed}`);
    assertEqual(calls, 0);

    const thrown = await assertRejects(troupe.submit(2).andThen(() => {
        throw new TypeError('bad step');
    }).result());
    assert(thrown instanceof TypeError, `${thrown}`);
    assertEqual(thrown.message, 'bad step');
    const awaited = await assertRejects(troupe.submit(2).andThen(() => {
        throw new RangeError('far');
    }));
    assert(awaited instanceof RangeError, `${awaited}`);

    const own = await assertRejects(troupe.submit(2).andThen(() => {
        throw new GLib.Error(TEST_DOMAIN, 7, 'own');
    }).result());
    assert(own.matches(TEST_DOMAIN, 7), `${own}`);
    assertEqual(own.message, 'own');

    assertThrows(() => troupe.submit(2).andThen(42));
    await TinyWorker.close(troupe);
});

test('catch and finally', async () => {
    const troupe = cTroupe();
    const recovered = troupe.submit(-1).catch(failed => {
        assertEqual(failed.get_state(), Tw.FutureState.FAILED);
        return troupe.submit(5);
    });
    assertEqual((await recovered.result())[0], 25);
    assertEqual((await troupe.submit(3).catch(() => 'unused').result())[0], 9);
    await assertRejects(troupe.submit(-1).catch(() => null).result());

    const states = [];
    const ok = troupe.submit(3).finally(f => {
        states.push(f.get_state());
    });
    const failed = troupe.submit(-3).finally(f => {
        states.push(f.get_state());
    });
    assertEqual((await ok.result())[0], 9);
    await assertRejects(failed.result());
    assertEqual(states.sort(), [Tw.FutureState.SUCCEEDED, Tw.FutureState.FAILED].sort());
    assertEqual(await troupe.submit(-3).finally(() => 'over').result(), 'over');
    await TinyWorker.close(troupe);
});

test('resultNow needs a settled future', async () => {
    const troupe = cTroupe();
    const future = troupe.submit(4);
    await future.result();
    assertEqual(future.resultNow()[0], 16);
    const slow = TinyWorker.troupe({
        worker: TwTest.CWorker,
        workerProperties: {'delay-ms': new GLib.Variant('u', 300)},
    });
    const pending = slow.submit(1);
    const error = assertThrows(() => pending.resultNow());
    assert(error.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.PENDING), `${error}`);
    await Promise.all([troupe, slow].map(t => TinyWorker.close(t)));
});

test('all, any and first', async () => {
    const troupe = cTroupe(3);
    const squares = await TinyWorker.all([0, 1, 2, 3].map(i => troupe.submit(i))).result();
    assertEqual(squares.map(value => value[0]), [0, 1, 4, 9]);
    assertEqual(await TinyWorker.all([]).result(), []);
    await assertRejects(TinyWorker.all([troupe.submit(1), troupe.submit(-1)]).result());
    assertThrows(() => TinyWorker.all([1, 2]));

    const failed = Tw.Future.new_for_error(new GLib.Error(TEST_DOMAIN, 1, 'no'));
    const now = Tw.Future.new_for_value(new GLib.Variant('s', 'now'));
    assertEqual((await TinyWorker.any([failed, troupe.submit(2)]).result())[0], 4);
    await assertRejects(TinyWorker.any([failed]).result());
    assertEqual(await TinyWorker.first([now, troupe.submit(2)]).result(), 'now');
    await TinyWorker.close(troupe);
});

test('submitting all chains a task on them', async () => {
    const squarer = TinyWorker.troupe({func: 'tw-compose-square', nWorkers: 2});
    const adder = TinyWorker.troupe({func: 'tw-compose-sum', nWorkers: 1});
    const squares = TinyWorker.all([1, 2, 3].map(i => squarer.submit(i)));
    assertEqual(await adder.submit(squares).result(), 14);
    await Promise.all([squarer, adder].map(troupe => TinyWorker.close(troupe)));
});

test('map_unordered gives values in completion order', async () => {
    const troupe = TinyWorker.troupe({func: 'tw-compose-nap', nWorkers: 3});
    assertEqual(troupe.mode, Tw.TroupeMode.PROCESS);
    assertEqual(await startAllWorkers(troupe, 3), 3);
    const results = troupe.map_unordered([600, 0, 300]);
    assert(results instanceof Tw.AsCompleted);
    assertEqual(await collect(results), [0, 300, 600]);
    await TinyWorker.close(troupe);
});

test('a Tw.AsCompleted gives its futures in completion order', async () => {
    const troupe = TinyWorker.troupe({func: 'tw-compose-nap', nWorkers: 3});
    assertEqual(await startAllWorkers(troupe, 3), 3);
    const futures = [600, 0, 300].map(ms => troupe.submit(ms));
    const done = await collect(Tw.AsCompleted.new(futures).futures());
    assertEqual(done.length, 3);
    assert(done.every(future => futures.includes(future)));
    assertEqual(done.map(future => future.resultNow()), [0, 300, 600]);
    await TinyWorker.close(troupe);
});

test('iterating values stops at an error; futures() goes on', async () => {
    const troupe = cTroupe();
    const error = await assertRejects(collect(troupe.map_unordered([1, -1, 2])));
    assert(error.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.INVALID_ARGUMENT), `${error}`);
    const futures = await collect(troupe.map_unordered([1, -1, 2]).futures());
    assertEqual(futures.map(f => f.get_state()).sort(),
        [Tw.FutureState.SUCCEEDED, Tw.FutureState.SUCCEEDED, Tw.FutureState.FAILED].sort());
    await TinyWorker.close(troupe);
});

test('map of a C worker on threads', async () => {
    const troupe = cTroupe();
    assertEqual(troupe.mode, Tw.TroupeMode.THREAD);
    assertEqual((await troupe.map([0, 1, 2, 3, 4])).map(value => value[0]), [0, 1, 4, 9, 16]);
    assertEqual(await troupe.map([]), []);
    const error = await assertRejects(troupe.map([1, 2, -7, 4]));
    assert(error.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.INVALID_ARGUMENT), `${error}`);
    assertEqual(error.message, 'Negative input -7');
    const future = troupe.map_future([1, 2]);
    assert(future instanceof Tw.Future);
    assertEqual((await future.result()).map(value => value[0]), [1, 4]);
    await TinyWorker.close(troupe);
});

test('map of a JavaScript function in worker processes', async () => {
    const troupe = TinyWorker.troupe({func: 'tw-compose-square', nWorkers: 2});
    assertEqual(troupe.mode, Tw.TroupeMode.PROCESS);
    const inputs = [...Array(50).keys()];
    assertEqual(await troupe.map(inputs), inputs.map(i => i * i));
    const error = await assertRejects(troupe.map([1, 2, -7, 4]));
    assert(error instanceof RangeError, `${error}`);
    assertEqual(error.message, 'negative input -7');
    await TinyWorker.close(troupe);
});

test('progress reported by a JavaScript worker process', async () => {
    const troupe = TinyWorker.troupe({func: 'tw-compose-report-half', nWorkers: 1});
    const directory = GLib.dir_make_tmp('tw-gjs-progress-XXXXXX');
    const gate = GLib.build_filenamev([directory, 'connected']);
    const future = troupe.submit(['halfway', gate]);
    const seen = [];
    future.connect('notify::progress', f => seen.push([f.progress, f.progress_message]));
    GLib.file_set_contents(gate, '');
    assertEqual(await future.result(), 'done');
    GLib.unlink(gate);
    GLib.rmdir(directory);
    assert(seen.some(([p, m]) => p === 0.5 && m === 'halfway'), JSON.stringify(seen));
    assertEqual([future.progress, future.progress_message], [0.5, 'halfway']);
    await TinyWorker.close(troupe);
});

await run();
