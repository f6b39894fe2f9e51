// tiny-worker.js: idiomatic tiny-worker for GJS
//
// Copyright 2026 The tiny-worker developers
//
// This library is free software; you can redistribute it and/or modify it
// under the terms of the GNU Lesser General Public License as published by
// the Free Software Foundation; either version 2.1 of the License, or (at
// your option) any later version.
//
// This library is distributed in the hope that it will be useful, but
// WITHOUT ANY WARRANTY; without even the implied warranty of
// MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE. See the GNU Lesser
// General Public License for more details.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

/**
 * An ES module on top of the `Tw` typelib, for `gjs -m`. It is installed
 * as `$datadir/tiny-worker-1/gjs/tiny-worker.js`; import it by its file URL
 * (GJS resolves neither bare names nor plain paths for ES modules):
 *
 * ```js
 * import * as TinyWorker from 'file:///usr/share/tiny-worker-1/gjs/tiny-worker.js';
 *
 * TinyWorker.registerFunc('square', x => x * x);
 * TinyWorker.init();   // after functions and classes, before the program's logic
 *
 * const troupe = TinyWorker.troupe({func: 'square', nWorkers: 4});
 * const futures = [1, 2, 3].map(x => troupe.submit(x));
 * print(await Promise.all(futures.map(f => TinyWorker.result(f))));
 * await TinyWorker.close(troupe);
 * ```
 *
 * JavaScript runs only on GJS's main thread: GJS blocks a call into
 * JavaScript from any other thread ("Attempting to run a JS callback on a
 * different thread"). So a troupe whose workers are JavaScript (a function
 * or a `Tw.Worker` subclass defined in JavaScript) always runs them in
 * PROCESS mode: each worker is a `gjs` process running the same program,
 * which calls the worker on its main thread. `troupe()` chooses that mode
 * for JavaScript workers, whatever mode is asked for, and THREAD mode,
 * with real pool threads, for workers written in C. Importing this module
 * also makes the plain API refuse JavaScript workers in THREAD mode with a
 * clear exception, instead of failing every task, and lets
 * `Tw.Troupe.submit()` take a plain value (converted by `toVariant()`) or
 * a `Tw.Future` (chaining, as `submit_future()`).
 *
 * Futures are awaitable: this module promisifies `Tw.Future.wait_async()`
 * and `Tw.Troupe.shutdown_async()` with `Gio._promisify()`, and gives
 * `Tw.Future` a `result()` method: `await future.result()` returns the
 * task's value as a plain value, `await future` (or
 * `await future.wait_async(null)`) its `GLib.Variant`. A future is a real
 * thenable, so `Promise.all(futures)` works; the C `tw_future_then()`
 * combinator, whose name would otherwise make every future a broken
 * thenable, is `Tw.Future.prototype.and_then()`.
 *
 * Values (`toVariant()`): a `GLib.Variant` is used as it is; `null` and
 * `undefined` become `mv` (nothing), a boolean `b`, a bigint or an integral
 * number `x` (a bigint from 2^63 to 2^64-1 `t`), any other number `d`, a
 * string `s`, a `Uint8Array` `ay`, an array `av` and a plain object `a{sv}`.
 * `fromVariant()` is `GLib.Variant.recursiveUnpack()`: integers beyond 2^53
 * lose precision, as everywhere in GJS. To send a float that happens to be
 * integral, such as 2.0, pass `new GLib.Variant('d', 2)`.
 *
 * Errors: a JavaScript exception thrown by a worker reaches the future as
 * a GError (GJS marshals it in its `gjs-js-error-quark` domain), and
 * awaiting or waiting on that future throws it again as the same kind of
 * JavaScript error (Error, TypeError, ...) with the same message. A
 * `GLib.Error` thrown by a worker arrives with its domain, code and
 * message unchanged.
 *
 * Composing: `await troupe.map([1, 2, 3])` runs the worker on every input
 * (in chunks) and gives the plain outputs in input order, or throws the
 * first error; `troupe.map_future(inputs)` returns that Tw.Future.
 * `troupe.map_unordered(inputs)` returns a `Tw.AsCompleted`, and any
 * Tw.AsCompleted is async-iterable: `for await (const value of done)`
 * gives the plain values in completion order (a failure throws and ends
 * the loop), `for await (const future of done.futures())` the settled
 * futures. `future.andThen(callback)`, `future.catch(callback)` and
 * `future.finally(callback)` return a new Tw.Future at once; the callback
 * gets the settled future (read it with `future.resultNow()`) on the main
 * thread, and returns a Tw.Future to adopt (such as another submit),
 * `null` or `undefined` to pass the outcome on, or a new value.
 * `all(futures)`, `any(futures)` and `first(futures)` gather futures into
 * one, with no main loop; submitting the future of all() chains a task on
 * all of them. A worker reports progress with `reportProgress(fraction,
 * message)`; the future's `progress` and `progress_message` properties
 * notify on the main thread.
 */

import Gio from 'gi://Gio';
import GIRepository from 'gi://GIRepository?version=2.0';
import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Tw from 'gi://Tw?version=1';
import System from 'system';

Gio._promisify(Tw.Future.prototype, 'wait_async', 'wait_finish');
Gio._promisify(Tw.Troupe.prototype, 'shutdown_async', 'shutdown_finish');

// tw_future_then() would make every future a "thenable" whose then()
// never calls back the way JavaScript expects, so `await future` or
// Promise.all(futures) would spin for ever. Keep it as and_then(), and
// make then() the real thing: a future resolves to its GLib.Variant.
if (typeof Tw.Future.prototype.then === 'function' && !Tw.Future.prototype.and_then)
    Tw.Future.prototype.and_then = Tw.Future.prototype.then;
Tw.Future.prototype.then = function (onFulfilled, onRejected) {
    return this.wait_async(null).catch(rethrow).then(onFulfilled, onRejected);
};

/**
 * Waits for the future without blocking the main loop: `await
 * future.result()` gives the task's value as a plain value (see
 * fromVariant()), or throws the task's error.
 *
 * @param {Gio.Cancellable} [cancellable] stops the wait, not the task
 * @returns {Promise<*>} the value
 */
Tw.Future.prototype.result = function (cancellable = null) {
    return this.wait_async(cancellable).then(fromVariant, rethrow);
};

/**
 * The value of a future that has settled, as a plain value, without
 * waiting: for the callbacks of andThen(), catch() and finally(), which
 * get a settled future. Throws the task's error, or a `G_IO_ERROR_PENDING`
 * error if the future has not settled.
 *
 * @returns {*} the value
 */
Tw.Future.prototype.resultNow = function () {
    if (!this.is_done()) {
        throw new GLib.Error(Gio.IOErrorEnum, Gio.IOErrorEnum.PENDING,
            'The future has not settled yet');
    }
    try {
        return fromVariant(this.wait(0));
    } catch (e) {
        return rethrow(e);
    }
};

/**
 * The GLib error domain of JavaScript exceptions thrown by the callbacks
 * of andThen(), catch() and finally(). Such an error has code 0 and the
 * message `"<name>: <message>"`; waiting on its future throws it again as
 * a JavaScript error of that name (Error, TypeError, ...).
 */
export const JS_ERROR_DOMAIN = 'tw-gjs-error-quark';

const jsErrorQuark = GLib.quark_from_string(JS_ERROR_DOMAIN);
const jsErrorTypes = {Error, EvalError, RangeError, ReferenceError, SyntaxError,
    TypeError, URIError, AggregateError};

function errorFromException(e) {
    if (e instanceof GLib.Error)
        return e;
    const name = e?.name ?? 'Error';
    const message = e?.message ?? String(e);
    return new GLib.Error(jsErrorQuark, 0, `${name}: ${message}`);
}

// Throws @e, turning an error of JS_ERROR_DOMAIN back into what was thrown.
function rethrow(e) {
    if (e instanceof GLib.Error && e.domain === jsErrorQuark) {
        const [, name, message] = /^([A-Za-z]*): ([\s\S]*)$/.exec(e.message) ??
            [null, 'Error', e.message];
        const ErrorType = jsErrorTypes[name] ?? Error;
        throw new ErrorType(message);
    }
    throw e;
}

// What a callback returned, as the future that the chain adopts, or null
// to pass the input's outcome on.
function asFuture(value) {
    if (value === null || value === undefined || value instanceof Tw.Future)
        return value ?? null;
    return Tw.Future.new_for_value(toVariant(value));
}

const finallyRaw = Tw.Future.prototype.finally;

function continueWith(future, callback, onSuccess, onFailure) {
    if (typeof callback !== 'function')
        throw new TypeError(`${callback} is not a function`);
    // Attached for either outcome, so a failure that then() passes on
    // keeps its exact error; the outcome not asked for passes on here.
    return finallyRaw.call(future, settled => {
        const succeeded = settled.get_state() === Tw.FutureState.SUCCEEDED;
        if (!(succeeded ? onSuccess : onFailure))
            return null;
        try {
            return asFuture(callback(settled));
        } catch (e) {
            return Tw.Future.new_for_error(errorFromException(e));
        }
    });
}

/**
 * Continues the future with @callback once it has succeeded, and returns
 * a new Tw.Future at once (the C tw_future_then(), which JavaScript must
 * not see as then()). @callback gets the settled future, whose
 * resultNow() gives its value, and runs on the main thread from the main
 * loop. What it returns decides the new future: a Tw.Future (such as
 * another troupe.submit()) gives its outcome, `null` or `undefined` passes
 * this future's outcome on, and any other value (see toVariant()) is the
 * new value; a thrown exception fails the new future (see
 * JS_ERROR_DOMAIN). If this future fails, the new one fails alike and
 * @callback is not called. The callback must not return a Promise: use
 * `await` for asynchronous steps.
 *
 * @param {function(Tw.Future): *} callback the continuation
 * @returns {Tw.Future} the new future
 */
Tw.Future.prototype.andThen = function (callback) {
    return continueWith(this, callback, true, false);
};
Tw.Future.prototype.and_then = Tw.Future.prototype.andThen;

/**
 * Like andThen(), when the future fails or is cancelled: @callback can
 * recover with a value or a future, or return `null` to pass the error on.
 *
 * @param {function(Tw.Future): *} callback the continuation
 * @returns {Tw.Future} the new future
 */
Tw.Future.prototype.catch = function (callback) {
    return continueWith(this, callback, false, true);
};

/**
 * Like andThen(), whatever the outcome; return `null` or `undefined` to
 * pass it on.
 *
 * @param {function(Tw.Future): *} callback the continuation
 * @returns {Tw.Future} the new future
 */
Tw.Future.prototype.finally = function (callback) {
    return continueWith(this, callback, true, true);
};

function futureList(futures) {
    const list = [...futures];
    for (const future of list) {
        if (!(future instanceof Tw.Future))
            throw new TypeError(`${future} is not a Tw.Future; wrap values in Tw.Future.new_for_value()`);
    }
    return list;
}

/**
 * A future for the values of @futures, in order, once all have succeeded:
 * `await all(futures).result()` gives an array. It fails as soon as one
 * fails, with its error; the others go on. Submitting it chains one task
 * on all of them (the task gets an array). It needs no main loop.
 *
 * @param {Iterable<Tw.Future>} futures the futures
 * @returns {Tw.Future} the gathering future
 */
export function all(futures) {
    return Tw.Future.all(futureList(futures));
}

/**
 * A future for the value of the first of @futures to succeed; it fails
 * only if all fail, with the first error.
 *
 * @param {Iterable<Tw.Future>} futures the futures
 * @returns {Tw.Future} the gathering future
 */
export function any(futures) {
    return Tw.Future.any(futureList(futures));
}

/**
 * A future that settles like the first of @futures to settle.
 *
 * @param {Iterable<Tw.Future>} futures the futures
 * @returns {Tw.Future} the gathering future
 */
export function first(futures) {
    return Tw.Future.first(futureList(futures));
}

/**
 * The futures of a Tw.AsCompleted, each once, in the order they settle,
 * as an async iterable: `for await (const future of done.futures())`.
 * Every future comes out settled, so its resultNow() does not wait. (An
 * async generator could not yield them: it would await each future.)
 *
 * @param {Gio.Cancellable} [cancellable] stops the iteration with
 *   `G_IO_ERROR_CANCELLED`
 * @returns {AsyncIterable<Tw.Future>} the futures
 */
Tw.AsCompleted.prototype.futures = function (cancellable = null) {
    const done = this;
    return {
        [Symbol.asyncIterator]() {
            return this;
        },
        next() {
            // The future travels inside the result object: a promise
            // resolved with a future would wait for its value instead.
            return new Promise((resolve, reject) => {
                done.next_async(cancellable, (_done, res) => {
                    try {
                        const future = done.next_finish(res);
                        resolve(future ? {value: future, done: false}
                            : {value: undefined, done: true});
                    } catch (e) {
                        reject(e);
                    }
                });
            });
        },
    };
};

/**
 * `for await (const value of done)` gives the plain values of a
 * Tw.AsCompleted's futures in the order they settle; a failed future
 * throws its error, which ends the loop. Use futures() to see failures
 * and go on.
 *
 * @yields {*} the values
 */
Tw.AsCompleted.prototype[Symbol.asyncIterator] = async function* () {
    for await (const future of this.futures())
        yield future.resultNow();
};

/**
 * Reports the progress of the task that this worker is running: call it
 * from a worker function or work(), in a worker process. The task's
 * future shows it as its `progress` and `progress_message` properties,
 * with notify on the main thread.
 *
 * @param {number} fraction from 0 to 1
 * @param {string} [message] what the worker is doing
 */
export function reportProgress(fraction, message = null) {
    Tw.report_progress(fraction, message);
}

const INT64_LIMIT = 2n ** 63n;
const UINT64_LIMIT = 2n ** 64n;

/**
 * Converts a plain JavaScript value to a GLib.Variant, as the module doc
 * says. Throws TypeError for a value it cannot convert.
 *
 * @param {*} value the value
 * @returns {GLib.Variant} the variant
 */
export function toVariant(value) {
    if (value instanceof GLib.Variant)
        return value;
    if (value === null || value === undefined)
        return GLib.Variant.new_maybe(new GLib.VariantType('v'), null);
    switch (typeof value) {
    case 'boolean':
        return GLib.Variant.new_boolean(value);
    case 'bigint':
        if (value >= -INT64_LIMIT && value < INT64_LIMIT)
            return new GLib.Variant('x', value);
        if (value >= 0n && value < UINT64_LIMIT)
            return new GLib.Variant('t', value);
        throw new RangeError(`${value} does not fit in 64 bits`);
    case 'number':
        return Number.isSafeInteger(value)
            ? new GLib.Variant('x', value) : new GLib.Variant('d', value);
    case 'string':
        return new GLib.Variant('s', value);
    }
    if (value instanceof Uint8Array)
        return new GLib.Variant('ay', value);
    if (Array.isArray(value))
        return new GLib.Variant('av', value.map(toVariant));
    if (Object.getPrototypeOf(value) === Object.prototype) {
        const entries = {};
        for (const [key, item] of Object.entries(value))
            entries[key] = toVariant(item);
        return new GLib.Variant('a{sv}', entries);
    }
    throw new TypeError(`Cannot convert ${value} to a GLib.Variant; pass a GLib.Variant`);
}

/**
 * Converts a GLib.Variant to a plain JavaScript value.
 *
 * @param {GLib.Variant} variant the variant
 * @returns {*} the value
 */
export function fromVariant(variant) {
    return variant.recursiveUnpack();
}

/**
 * Whether @gtype is a type defined in JavaScript, whose code GJS runs only
 * on its main thread. A type with no introspection data is taken to be
 * one: types written in C come with a typelib.
 *
 * @param {GObject.GType} gtype a type
 * @returns {boolean} whether the type's code is JavaScript
 */
export function isJavaScriptType(gtype) {
    return GIRepository.Repository.get_default().find_by_gtype(gtype) === null;
}

const funcNames = new Map();
const registerFuncRaw = Tw.register_func;
const javaScriptFuncNames = new Set();

/**
 * Registers @func under @name, so that troupes in this process and in
 * worker processes find it. Call it before `init()`. @func takes and
 * returns plain values (see `toVariant()`), or a GLib.Variant.
 *
 * @param {string} name a name, unique in the program
 * @param {function(*): *} func the function
 */
export function registerFunc(name, func) {
    Tw.register_func(name, input => toVariant(func(fromVariant(input))));
    funcNames.set(func, name);
}

/**
 * The exit status that tw_process_main() returns.
 *
 * @returns {number} the status
 */
function workerProcessMain() {
    return Tw.process_main();
}

/**
 * Registers the worker types of every loaded typelib that uses Tw: a
 * worker process finds its worker type by GType name, and a type written
 * in C is registered only once something asks for it. This is what
 * g_type_ensure() does in C, for each worker class the program imported.
 */
function ensureWorkerTypes() {
    const repository = GIRepository.Repository.get_default();
    for (const namespace of repository.get_loaded_namespaces()) {
        if (namespace !== 'Tw' && !repository.get_dependencies(namespace).includes('Tw-1'))
            continue;
        for (let i = 0; i < repository.get_n_infos(namespace); i++) {
            const info = repository.get_info(namespace, i);
            if (info.get_type() === GIRepository.InfoType.OBJECT)
                GIRepository.registered_type_info_get_g_type(info);
        }
    }
}

/**
 * Call once, after the program's functions and classes are defined and
 * before its own logic. In a worker process it registers the worker types
 * of the typelibs the program imported, serves tasks and then ends the
 * process with System.exit(); anywhere else it returns at once.
 */
export function init() {
    if (Tw.is_worker_process()) {
        ensureWorkerTypes();
        System.exit(workerProcessMain());
    }
    Tw.init();
}

/**
 * A base class for workers that take and return plain values: implement
 * `work(value)`. `vfunc_setup()` and `vfunc_teardown()` work as usual.
 */
export const Worker = GObject.registerClass({
    GTypeName: 'TwJsWorker',
}, class Worker extends Tw.Worker {
    vfunc_call(input, _cancellable) {
        return toVariant(this.work(fromVariant(input)));
    }

    /**
     * @param {*} _value the task's input
     * @returns {*} its output
     */
    work(_value) {
        throw new Error(`${this.constructor.name} does not implement work()`);
    }
});

function threadModeError(what) {
    return new Error(`${what} is JavaScript, and GJS runs JavaScript only on ` +
        'its main thread, never on a troupe\'s pool threads: use ' +
        'Tw.TroupeMode.PROCESS, where each worker is a gjs process that ' +
        'calls it on its main thread');
}

/**
 * Creates a troupe.
 *
 * @param {object} options the troupe
 * @param {string|Function} [options.func] a function registered with
 *   registerFunc() (by itself or by its name) or with Tw.register_func()
 * @param {GObject.Object|GObject.GType} [options.worker] a Tw.Worker
 *   subclass, written in JavaScript or in C
 * @param {object} [options.workerProperties] the worker's construct
 *   properties, as plain values or GLib.Variant
 * @param {number} [options.nWorkers] how many workers, 0 (the default)
 *   for one per processor
 * @param {Tw.TroupeMode} [options.mode] THREAD (the default) or PROCESS;
 *   JavaScript workers always run in PROCESS mode, see the module doc
 * @returns {Tw.Troupe} the troupe; its `mode` says where workers run
 */
export function troupe({func, worker, workerProperties, nWorkers = 0,
    mode = Tw.TroupeMode.THREAD} = {}) {
    let result, javaScript;

    if ((func === undefined) === (worker === undefined))
        throw new TypeError('troupe() takes either func or worker');

    if (func !== undefined) {
        const name = typeof func === 'string' ? func : funcNames.get(func);
        if (name === undefined) {
            throw new TypeError('A JavaScript function crosses to a worker ' +
                'process by name: register it with registerFunc(name, func) ' +
                'before init()');
        }
        result = Tw.Troupe.new_for_func_name(name);
        javaScript = javaScriptFuncNames.has(name);
    } else {
        const gtype = worker.$gtype ?? worker;
        const properties = {};
        for (const [key, value] of Object.entries(workerProperties ?? {}))
            properties[key] = toVariant(value);
        result = Tw.Troupe.new_for_worker(gtype, new GLib.Variant('a{sv}', properties));
        javaScript = isJavaScriptType(gtype);
    }

    result.mode = javaScript ? Tw.TroupeMode.PROCESS : mode;
    result.n_workers = nWorkers;
    return result;
}

/**
 * Waits for @future without blocking the main loop.
 *
 * @param {Tw.Future} future a future
 * @param {Gio.Cancellable} [cancellable] stops the wait, not the task
 * @returns {Promise<*>} the task's value, as a plain value; rejects with
 *   the task's error
 */
export function result(future, cancellable = null) {
    return future.result(cancellable);
}

/**
 * Shuts @troupe down without blocking the main loop.
 *
 * @param {Tw.Troupe} troupe a troupe
 * @param {Tw.ShutdownMode} [mode] DRAIN (the default) or CANCEL_PENDING
 * @returns {Promise<boolean>} true once the troupe has stopped
 */
export function close(troupe, mode = Tw.ShutdownMode.DRAIN) {
    return troupe.shutdown_async(mode, null);
}

// Guard the plain API: a JavaScript worker on pool threads would only fail
// its tasks with "returned NULL without setting an error", or worse.
const submit = Tw.Troupe.prototype.submit;
const submitFuture = Tw.Troupe.prototype.submit_future;

function checkThreadMode(troupe_) {
    if (troupe_.mode !== Tw.TroupeMode.THREAD)
        return;
    const gtype = troupe_.worker_type;
    if (gtype !== GObject.TYPE_NONE && isJavaScriptType(gtype))
        throw threadModeError(`Worker type ${GObject.type_name(gtype)}`);
    if (javaScriptFuncNames.has(troupe_.func_name))
        throw threadModeError(`Function “${troupe_.func_name}”`);
}

Tw.register_func = function (name, func) {
    // Every function registered from here is JavaScript.
    registerFuncRaw(name, func);
    javaScriptFuncNames.add(name);
};

// Accept plain values and futures, as the Python override does.
Tw.Troupe.prototype.submit = function (input) {
    checkThreadMode(this);
    if (input instanceof Tw.Future)
        return submitFuture.call(this, input);
    return submit.call(this, toVariant(input));
};

Tw.Troupe.prototype.submit_future = function (input) {
    checkThreadMode(this);
    return submitFuture.call(this, input);
};

// Lists of plain values, as arrays of inputs.
const mapRaw = Tw.Troupe.prototype.map;
const mapUnorderedRaw = Tw.Troupe.prototype.map_unordered;

function arrayVariant(inputs) {
    if (inputs instanceof GLib.Variant)
        return inputs;
    return toVariant([...inputs]);
}

/**
 * Runs the worker on every input, in chunks, and returns one future for
 * the array of outputs in input order (the C tw_troupe_map()).
 *
 * @param {Iterable<*>|GLib.Variant} inputs plain values, or an array
 *   GLib.Variant
 * @returns {Tw.Future} the future of all outputs
 */
Tw.Troupe.prototype.map_future = function (inputs) {
    checkThreadMode(this);
    return mapRaw.call(this, arrayVariant(inputs));
};

/**
 * Runs the worker on every input: `await troupe.map([1, 2, 3])` gives the
 * array of plain outputs, in input order, or throws the first error.
 * Small inputs travel in chunks. map_future() returns the Tw.Future.
 *
 * @param {Iterable<*>|GLib.Variant} inputs plain values, or an array
 *   GLib.Variant
 * @returns {Promise<Array>} the outputs
 */
Tw.Troupe.prototype.map = function (inputs) {
    return this.map_future(inputs).result();
};

/**
 * Runs the worker on every input, one task each, and returns the
 * Tw.AsCompleted of their futures: `for await (const value of
 * troupe.map_unordered(inputs))` gives the outputs as they come.
 *
 * @param {Iterable<*>|GLib.Variant} inputs plain values, or an array
 *   GLib.Variant
 * @returns {Tw.AsCompleted} the futures, in completion order
 */
Tw.Troupe.prototype.map_unordered = function (inputs) {
    checkThreadMode(this);
    return mapUnorderedRaw.call(this, arrayVariant(inputs));
};

Tw.Troupe.new_for_func = function () {
    throw new Error('A JavaScript function given by value can run neither on ' +
        'pool threads (GJS runs JavaScript only on its main thread) nor in a ' +
        'worker process (functions cross by name): register it with ' +
        'registerFunc(name, func) before init() and use troupe({func: name})');
};
