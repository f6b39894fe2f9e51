// tap.js: a small TAP harness for the GJS suite
//
// Copyright 2026 The tiny-worker developers
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// A test file defines its functions and classes, calls init() from
// tiny-worker.js (process mode re-runs the file as each worker, and init()
// turns that run into a worker before any test code), adds tests with
// test() and ends with `await run()`.

import GLib from 'gi://GLib';
import System from 'system';

const tests = [];
const TIMEOUT_MS = 30000;

/**
 * Adds a test; @func may be async.
 *
 * @param {string} name the test's name
 * @param {Function} func the test
 */
export function test(name, func) {
    tests.push({name, func});
}

/**
 * Adds a test that is skipped, with the reason.
 *
 * @param {string} name the test's name
 * @param {string} reason why
 */
export function skip(name, reason) {
    tests.push({name, reason});
}

export class SkipTest extends Error {}

function format(value) {
    if (value instanceof GLib.Variant)
        return `GLib.Variant(${value.print(true)})`;
    if (value instanceof Uint8Array)
        return `Uint8Array[${Array.from(value)}]`;
    if (typeof value === 'bigint')
        return `${value}n`;
    try {
        return JSON.stringify(value, (_, v) => typeof v === 'bigint' ? `${v}n` : v);
    } catch {
        return String(value);
    }
}

/**
 * Compares plain values deeply: arrays, plain objects, Uint8Array,
 * GLib.Variant (by type and value) and scalars (NaN equals NaN).
 *
 * @param {*} a a value
 * @param {*} b a value
 * @returns {boolean} whether they are equal
 */
export function deepEqual(a, b) {
    if (a instanceof GLib.Variant || b instanceof GLib.Variant) {
        return a instanceof GLib.Variant && b instanceof GLib.Variant &&
            a.get_type_string() === b.get_type_string() && a.equal(b);
    }
    if (a instanceof Uint8Array || b instanceof Uint8Array) {
        return a instanceof Uint8Array && b instanceof Uint8Array &&
            a.length === b.length && a.every((x, i) => x === b[i]);
    }
    if (Array.isArray(a) || Array.isArray(b)) {
        return Array.isArray(a) && Array.isArray(b) && a.length === b.length &&
            a.every((x, i) => deepEqual(x, b[i]));
    }
    if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
        const keys = Object.keys(a);
        return keys.length === Object.keys(b).length &&
            keys.every(key => Object.hasOwn(b, key) && deepEqual(a[key], b[key]));
    }
    return Object.is(a, b) || a === b;
}

export function assert(condition, message = 'assertion failed') {
    if (!condition)
        throw new Error(message);
}

export function assertEqual(actual, expected, message = '') {
    if (!deepEqual(actual, expected))
        throw new Error(`${message ? `${message}: ` : ''}${format(actual)} != ${format(expected)}`);
}

/**
 * Checks that @func throws, and returns what it threw.
 *
 * @param {Function} func a function
 * @returns {*} the exception
 */
export function assertThrows(func) {
    try {
        func();
    } catch (e) {
        return e;
    }
    throw new Error(`${func} did not throw`);
}

/**
 * Checks that @promise rejects, and returns the reason.
 *
 * @param {Promise} promise a promise
 * @returns {Promise<*>} the reason
 */
export async function assertRejects(promise) {
    try {
        const value = await promise;
        throw new Error(`resolved to ${format(value)} instead of rejecting`);
    } catch (e) {
        if (e.message?.startsWith('resolved to '))
            throw e;
        return e;
    }
}

function withTimeout(promise, name) {
    let id;
    const timeout = new Promise((_, reject) => {
        id = GLib.timeout_add(GLib.PRIORITY_DEFAULT, TIMEOUT_MS, () => {
            reject(new Error(`${name} did not finish in ${TIMEOUT_MS} ms`));
            return GLib.SOURCE_REMOVE;
        });
    });
    return Promise.race([promise, timeout]).finally(() => GLib.source_remove(id));
}

/** Runs the tests in order, prints TAP and exits with the outcome. */
export async function run() {
    let failed = 0;

    print(`1..${tests.length}`);
    for (const [i, {name, func, reason}] of tests.entries()) {
        if (!func) {
            print(`ok ${i + 1} - ${name} # SKIP ${reason}`);
            continue;
        }
        try {
            // eslint-disable-next-line no-await-in-loop
            await withTimeout(Promise.resolve().then(func), name);
            print(`ok ${i + 1} - ${name}`);
        } catch (e) {
            if (e instanceof SkipTest) {
                print(`ok ${i + 1} - ${name} # SKIP ${e.message}`);
                continue;
            }
            failed++;
            print(`not ok ${i + 1} - ${name}`);
            for (const line of `${e}\n${e.stack ?? ''}`.trimEnd().split('\n'))
                print(`# ${line}`);
        }
    }

    System.exit(failed ? 1 : 0);
}
