// misuse-raw.js: a JavaScript worker on pool threads through the plain
// typelib, without tiny-worker.js. Run by test-errors.js as
// `gjs -m misuse-raw.js func|class`; prints the task's error as
// "<domain> <code> <message>" and exits 0, whatever the error.
//
// Copyright 2026 The tiny-worker developers
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Tw from 'gi://Tw?version=1';

const JsWorker = GObject.registerClass({
    GTypeName: 'TwTestGjsMisusedWorker',
}, class JsWorker extends Tw.Worker {
    vfunc_call(input, _cancellable) {
        return input;
    }
});

const troupe = ARGV[0] === 'class'
    ? Tw.Troupe.new_for_worker(JsWorker.$gtype, null)
    : Tw.Troupe.new_for_func(input => input);
troupe.mode = Tw.TroupeMode.THREAD;
troupe.n_workers = 1;

try {
    const value = troupe.submit(new GLib.Variant('x', 1)).wait(10 * GLib.USEC_PER_SEC);
    print(`value ${value.print(true)}`);
} catch (e) {
    print(`${GLib.quark_to_string(e.domain)} ${e.code} ${e.message}`);
}
troupe.shutdown(Tw.ShutdownMode.DRAIN);
