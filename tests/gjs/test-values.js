// test-values.js: values between JavaScript and workers, and a C worker on
// real pool threads
//
// Copyright 2026 The tiny-worker developers
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Tw from 'gi://Tw?version=1';
import TwTest from 'gi://TwTest?version=1';

import * as TinyWorker from '../../bindings/gjs/tiny-worker.js';
import {assert, assertEqual, assertThrows, run, test} from './tap.js';

const EchoWorker = GObject.registerClass({
    GTypeName: 'TwTestGjsEchoWorker',
}, class EchoWorker extends Tw.Worker {
    vfunc_call(input, _cancellable) {
        return input;
    }
});

TinyWorker.registerFunc('tw-test-identity', value => value);
TinyWorker.registerFunc('tw-test-pid', () => new Gio.Credentials().get_unix_pid());
TinyWorker.init();

const VALUES = [
    0, -1, 2 ** 53 - 1, -(2 ** 53 - 1), 1.5, -0.25, 1e300, '', 'héllo wörld ✓',
    true, false, null, [], [1, 'a', [null, true], {b: 2.5}], {},
    {a: 1, b: [true, 'x'], c: {d: null}}, new Uint8Array([0, 1, 254, 255]),
];

test('toVariant picks the documented types', () => {
    const cases = [
        [0, 'x'], [-(2 ** 53 - 1), 'x'], [1.5, 'd'], [2 ** 60, 'd'], [5n, 'x'],
        [2n ** 63n, 't'], ['s', 's'], [true, 'b'], [null, 'mv'], [undefined, 'mv'],
        [new Uint8Array([1]), 'ay'], [[1, 'a'], 'av'], [{a: 1}, 'a{sv}'],
        [new GLib.Variant('u', 7), 'u'],
    ];
    for (const [value, type] of cases)
        assertEqual(TinyWorker.toVariant(value).get_type_string(), type, String(value));
});

test('toVariant refuses what it cannot convert', () => {
    assert(assertThrows(() => TinyWorker.toVariant(() => 1)) instanceof TypeError);
    assert(assertThrows(() => TinyWorker.toVariant(new Map())) instanceof TypeError);
    assert(assertThrows(() => TinyWorker.toVariant(2n ** 64n)) instanceof RangeError);
});

test('big integers keep every bit as bigint', () => {
    assertEqual(TinyWorker.toVariant(2n ** 62n + 1n).print(true), 'int64 4611686018427387905');
    assertEqual(TinyWorker.toVariant(2n ** 64n - 1n).print(true),
        'uint64 18446744073709551615');
});

test('every value round-trips through a JavaScript worker process', async () => {
    const troupe = TinyWorker.troupe({func: 'tw-test-identity', nWorkers: 2});
    assertEqual(troupe.mode, Tw.TroupeMode.PROCESS);
    const futures = VALUES.map(value => troupe.submit(value));
    for (const [i, future] of futures.entries())
        // eslint-disable-next-line no-await-in-loop
        assertEqual(await future.result(), VALUES[i], `value ${i}`);
    await TinyWorker.close(troupe);
});

test('exact variants cross a process unchanged', async () => {
    const troupe = TinyWorker.troupe({worker: EchoWorker, nWorkers: 1});
    const variants = [
        new GLib.Variant('u', 7), new GLib.Variant('(yqn)', [1, 2, -3]),
        new GLib.Variant('a{ub}', {1: true}), new GLib.Variant('mi', null),
        new GLib.Variant('t', 2n ** 64n - 1n), new GLib.Variant('ao', ['/a', '/b']),
    ];
    for (const variant of variants)
        // eslint-disable-next-line no-await-in-loop
        assertEqual(await troupe.submit(variant), variant);
    await TinyWorker.close(troupe);
});

test('a JavaScript worker runs in another process', async () => {
    const troupe = TinyWorker.troupe({func: 'tw-test-pid', nWorkers: 1});
    const pid = await troupe.submit(null).result();
    assert(pid !== new Gio.Credentials().get_unix_pid(), `worker pid ${pid}`);
    await TinyWorker.close(troupe);
});

test('a C worker runs on real pool threads', async () => {
    const troupe = TinyWorker.troupe({
        worker: TwTest.CWorker,
        workerProperties: {factor: 3, 'delay-ms': new GLib.Variant('u', 50)},
        nWorkers: 3,
    });
    assertEqual(troupe.mode, Tw.TroupeMode.THREAD);
    const futures = [];
    for (let i = 0; i < 6; i++)
        futures.push(troupe.submit(i));
    const results = await Promise.all(futures.map(future => future.result()));
    assertEqual(results.map(([value]) => value), [0, 3, 12, 27, 48, 75]);

    const mainThread = TwTest.current_thread_id();
    const threads = new Set(results.map(([, thread]) => thread));
    assert(!threads.has(mainThread), 'a task ran on the main thread');
    assert(threads.size >= 2, `tasks ran on ${threads.size} thread(s)`);
    assert(results.every(([, , pid]) => pid === new Gio.Credentials().get_unix_pid()));
    await TinyWorker.close(troupe);
});

test('a C worker in process mode', async () => {
    const troupe = TinyWorker.troupe({worker: TwTest.CWorker, nWorkers: 1,
        mode: Tw.TroupeMode.PROCESS});
    const [value, , pid] = await troupe.submit(9).result();
    assertEqual(value, 81);
    assert(pid !== new Gio.Credentials().get_unix_pid(), 'ran in this process');
    await TinyWorker.close(troupe);
});

await run();
