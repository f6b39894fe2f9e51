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
 * as `$datadir/tiny-worker-1/gjs/tiny-worker.js`, which is
 * `/usr/local/share/…` with meson's default prefix (and `/usr/share/…` for
 * the prefix `/usr`); import it by its file URL (GJS resolves neither bare
 * names nor plain paths for ES modules):
 *
 * ```js
 * import * as TinyWorker from 'file:///usr/local/share/tiny-worker-1/gjs/tiny-worker.js';
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
 * Errors: what a worker throws is thrown again where its future is
 * awaited. An Error, or a subclass with its own fields (`class
 * InsufficientFunds extends Error`), arrives with its class name, `name`,
 * `message`, the worker's `stack`, its JSON-serialisable own fields and
 * its `cause`; it is an instance of its class when the program registered
 * the class with registerError(), else a plain Error named by the class
 * (JS_ERROR_DOMAIN says how it crosses the C level). A `GLib.Error`
 * thrown by a worker, and every error of a C worker, arrives with its
 * domain, code and message unchanged. `future.result({timeout: ms})`
 * rejects with a `GLib.Error` `Gio.IOErrorEnum.TIMED_OUT` when the time
 * runs out, and `future.cancel()` says whether the future is cancelled.
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
 * fromVariant()), or throws the task's error (see JS_ERROR_DOMAIN for
 * JavaScript exceptions). With a timeout, `await future.result({timeout:
 * 500})` throws a `GLib.Error` `Gio.IOErrorEnum.TIMED_OUT` if the future
 * has not settled within 500 ms, as tw_future_wait() does; the task goes
 * on, and can be waited for again.
 *
 * @param {object|Gio.Cancellable} [options] the wait, or just its
 *   cancellable
 * @param {number} [options.timeout] how many milliseconds to wait at
 *   most; `null` or `undefined` (the default) waits for ever
 * @param {Gio.Cancellable} [options.cancellable] stops the wait (with
 *   `G_IO_ERROR_CANCELLED`), not the task
 * @returns {Promise<*>} the value
 */
Tw.Future.prototype.result = function (options = null) {
    return waitVariant(this, waitOptions(options)).then(fromVariant, rethrow);
};

function waitOptions(options) {
    if (options === null || options instanceof Gio.Cancellable)
        return {timeout: null, cancellable: options};
    if (typeof options !== 'object')
        throw new TypeError(`result() takes {timeout, cancellable}, not ${options}`);
    const {timeout = null, cancellable = null} = options;
    if (timeout !== null && !(Number.isFinite(timeout) && timeout >= 0))
        throw new RangeError(`timeout must be a number of milliseconds >= 0, not ${timeout}`);
    if (cancellable !== null && !(cancellable instanceof Gio.Cancellable))
        throw new TypeError(`${cancellable} is not a Gio.Cancellable`);
    return {timeout, cancellable};
}

// What GLib.timeout_add() takes; a longer timeout waits for ever.
const MAX_TIMEOUT_MS = 0xffffffff;

function timedOutError(timeout) {
    return new GLib.Error(Gio.IOErrorEnum, Gio.IOErrorEnum.TIMED_OUT,
        `The future did not settle within ${timeout} ms`);
}

// wait_async() with a timeout: on time out, the promise rejects at once
// and the wait underneath is cancelled, so nothing of it is left behind.
function waitVariant(future, {timeout, cancellable}) {
    if (timeout === null || timeout > MAX_TIMEOUT_MS || future.is_done())
        return future.wait_async(cancellable);

    const waitCancellable = new Gio.Cancellable();
    // g_cancellable_connect(): at once if it is cancelled already.
    const handler = cancellable?.connect(() => waitCancellable.cancel());
    return new Promise((resolve, reject) => {
        let timer = GLib.timeout_add(GLib.PRIORITY_DEFAULT, Math.ceil(timeout), () => {
            timer = 0;
            reject(timedOutError(timeout));
            waitCancellable.cancel();
            return GLib.SOURCE_REMOVE;
        });
        future.wait_async(waitCancellable).then(resolve, reject).finally(() => {
            if (timer)
                GLib.source_remove(timer);
            cancellable?.disconnect(handler);
        });
    });
}

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

const cancelRaw = Tw.Future.prototype.cancel;

/**
 * Cancels the task, as tw_future_cancel() does, and says whether the
 * future is now cancelled. `true`: it was waiting (in its troupe's queue,
 * or for the future it is chained to) and is now cancelled with
 * `G_IO_ERROR_CANCELLED`, or it was cancelled already. `false`: it had
 * already succeeded or failed, or its task is running; a running task is
 * still told to stop through its #GCancellable (and in process mode its
 * worker is killed after the troupe's grace period), and the future
 * settles with whatever the worker does.
 *
 * @returns {boolean} whether the future is cancelled
 */
Tw.Future.prototype.cancel = function () {
    cancelRaw.call(this);
    return this.get_state() === Tw.FutureState.CANCELLED;
};

/**
 * The GLib error domain in which a JavaScript exception crosses the C
 * level, which carries only a GError from a worker to its future. A
 * worker function (registerFunc() or Tw.register_func()), the work() of a
 * Worker and the callbacks of andThen(), catch() and finally() turn what
 * they throw into such an error, with code JS_ERROR_THROWN, unless it is a
 * `GLib.Error`, which travels as it is. The error's message is a summary
 * line, `"<name>: <message>"`, then a newline and one line of JSON (the
 * last line, since JSON.stringify() escapes newlines):
 *
 * ```json
 * {"type": "InsufficientFunds", "name": "Error", "message": "...",
 *  "stack": "<the worker's stack>", "fields": {"balance": 10},
 *  "cause": {...}}
 * ```
 *
 * `type` is the class name (`constructor.name`), `fields` the error's own
 * enumerable properties as JSON.stringify() gives them (a property that
 * it cannot convert, such as a bigint, is left out), and `cause` the same
 * form of an Error in `error.cause`. A thrown value that is not an Error
 * travels as `{"value": <its JSON>}`.
 *
 * Awaiting the future (result(), `await future`, resultNow(), map(), `for
 * await`) throws it again: an instance of the class registered under
 * `type` with registerError() (the standard Error classes are registered),
 * with the worker's `name`, `message`, `stack` and fields, or else a plain
 * Error with those, whose `name` is the class name when the thrown one was
 * just "Error". A thrown non-Error value is thrown again as that value.
 */
export const JS_ERROR_DOMAIN = 'tw-gjs-error-quark';

/** The code of a JavaScript exception in JS_ERROR_DOMAIN, see there. */
export const JS_ERROR_THROWN = 1;

const jsErrorQuark = GLib.quark_from_string(JS_ERROR_DOMAIN);
const errorClasses = new Map();

/**
 * Registers an Error subclass, so that an error of that class thrown by a
 * worker is thrown again in this program as an instance of it (see
 * JS_ERROR_DOMAIN). Its constructor is not called: the instance gets the
 * worker error's message, stack and fields as they are.
 *
 * @param {Function} errorClass a subclass of Error
 * @param {string} [name] the name it crosses by; its class name by default
 */
export function registerError(errorClass, name = errorClass?.name) {
    if (typeof errorClass !== 'function' ||
        !(errorClass === Error || errorClass.prototype instanceof Error))
        throw new TypeError(`${errorClass} is not a subclass of Error`);
    errorClasses.set(name, errorClass);
}

for (const errorClass of [Error, EvalError, RangeError, ReferenceError, SyntaxError,
    TypeError, URIError, AggregateError])
    registerError(errorClass);

const ERROR_OWN_KEYS = new Set(['name', 'message', 'stack', 'cause',
    'fileName', 'lineNumber', 'columnNumber']);

function jsonFields(error) {
    const fields = {};
    for (const key of Object.keys(error)) {
        if (ERROR_OWN_KEYS.has(key))
            continue;
        try {
            const json = JSON.stringify(error[key]);
            if (json !== undefined)
                fields[key] = JSON.parse(json);
        } catch {
            // Not JSON-serialisable (a bigint, a cycle): left out.
        }
    }
    return fields;
}

function errorPayload(e, depth = 0) {
    if (!(e instanceof Error)) {
        try {
            const json = JSON.stringify(e);
            if (json !== undefined)
                return {value: JSON.parse(json)};
        } catch {}
        return {type: 'Error', name: 'Error', message: String(e), fields: {}};
    }
    const payload = {
        type: e.constructor?.name || 'Error',
        name: String(e.name),
        message: String(e.message),
        stack: typeof e.stack === 'string' ? e.stack : '',
        fields: jsonFields(e),
    };
    if (e.cause !== undefined && depth < 8)
        payload.cause = errorPayload(e.cause, depth + 1);
    return payload;
}

// An Error whose class does not set a name is still called by its class.
function displayName(payload, registered) {
    return registered || payload.name !== 'Error' ? payload.name : payload.type;
}

/**
 * What a worker threw, as the GError that carries it across the C level
 * (see JS_ERROR_DOMAIN); a `GLib.Error` is returned as it is. Functions
 * given to registerFunc() and the work() of a Worker need not call it,
 * but a class that implements `vfunc_call()` (or `vfunc_setup()`) itself
 * does, as `catch (e) { throw TinyWorker.encodeError(e); }`: GJS's own
 * conversion keeps only the standard error type and the message.
 *
 * @param {*} e what was thrown
 * @returns {GLib.Error} the error
 */
export function encodeError(e) {
    if (e instanceof GLib.Error)
        return e;
    const payload = errorPayload(e);
    const summary = 'value' in payload ? `Uncaught value: ${JSON.stringify(payload.value)}`
        : `${displayName(payload, false)}: ${payload.message}`;
    return new GLib.Error(jsErrorQuark, JS_ERROR_THROWN, `${summary}\n${JSON.stringify(payload)}`);
}

function errorFromPayload(payload) {
    if ('value' in payload)
        return payload.value;
    const errorClass = errorClasses.get(payload.type);
    const error = new Error(payload.message);
    if (errorClass)
        Object.setPrototypeOf(error, errorClass.prototype);
    const name = displayName(payload, Boolean(errorClass));
    const own = {name, stack: payload.stack ?? '', ...payload.fields};
    if (payload.cause !== undefined)
        own.cause = errorFromPayload(payload.cause);
    for (const [key, value] of Object.entries(own)) {
        if (key === 'name' && name === error.name)
            continue;
        Object.defineProperty(error, key, {value, writable: true, configurable: true,
            enumerable: key in payload.fields});
    }
    return error;
}

/**
 * Turns a GError of JS_ERROR_DOMAIN back into what the worker threw (see
 * there); any other error is returned as it is.
 *
 * @param {*} error an error, such as the one a future failed with
 * @returns {*} the error to throw
 */
export function decodeError(error) {
    if (!(error instanceof GLib.Error) || !error.matches(jsErrorQuark, JS_ERROR_THROWN))
        return error;
    try {
        return errorFromPayload(JSON.parse(error.message.slice(error.message.lastIndexOf('\n') + 1)));
    } catch {
        return error;
    }
}

// Throws @e, turning an error of JS_ERROR_DOMAIN back into what was thrown.
function rethrow(e) {
    throw decodeError(e);
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
            return Tw.Future.new_for_error(encodeError(e));
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
        try {
            return toVariant(this.work(fromVariant(input)));
        } catch (e) {
            throw encodeError(e);
        }
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
 * @param {object|Gio.Cancellable} [options] `{timeout, cancellable}`, or
 *   just the cancellable, as for Tw.Future.prototype.result()
 * @returns {Promise<*>} the task's value, as a plain value; rejects with
 *   the task's error, or `Gio.IOErrorEnum.TIMED_OUT`
 */
export function result(future, options = null) {
    return future.result(options);
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
    // Every function registered from here is JavaScript, and what it
    // throws crosses as JS_ERROR_DOMAIN says.
    registerFuncRaw(name, (input, cancellable) => {
        try {
            return func(input, cancellable);
        } catch (e) {
            throw encodeError(e);
        }
    });
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
