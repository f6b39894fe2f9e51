/* test-vapi.vala
 *
 * Copyright 2026 The tiny-worker developers
 *
 * This library is free software; you can redistribute it and/or modify it
 * under the terms of the GNU Lesser General Public License as published by
 * the Free Software Foundation; either version 2.1 of the License, or (at
 * your option) any later version.
 *
 * This library is distributed in the hope that it will be useful, but
 * WITHOUT ANY WARRANTY; without even the implied warranty of MERCHANTABILITY
 * or FITNESS FOR A PARTICULAR PURPOSE. See the GNU Lesser General Public
 * License for more details.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The Vala bindings (tiny-worker-1.vapi) as a Vala program uses them: a
 * function task and a typed map, a Tw.Worker subclass with its own property, and
 * wait_async from a main loop. */

class Scaler : Tw.Worker {
    public int64 factor { get; construct; default = 1; }

    public override GLib.Variant call (GLib.Variant input, GLib.Cancellable? cancellable)
        throws GLib.Error {
        if (input.get_int64 () < 0)
            throw new GLib.IOError.INVALID_ARGUMENT ("negative input %lld", input.get_int64 ());
        return new GLib.Variant.int64 (input.get_int64 () * factor);
    }
}

void test_vapi_func () {
    var troupe = new Tw.Troupe.for_func ((input, cancellable) => {
        return new GLib.Variant.int64 (input.get_int64 () * input.get_int64 ());
    });

    try {
        var value = troupe.submit (new GLib.Variant.int64 (7)).wait (-1);
        GLib.assert_cmpstr (value.print (true), GLib.CompareOperator.EQ, "int64 49");

        GLib.Variant[] numbers = { new GLib.Variant.int64 (3), new GLib.Variant.int64 (4),
                                   new GLib.Variant.int64 (5) };
        var inputs = new GLib.Variant.array (GLib.VariantType.INT64, numbers);
        var squares = troupe.map_full (inputs, GLib.VariantType.INT64).wait (-1);
        GLib.assert_cmpstr (squares.print (true), GLib.CompareOperator.EQ, "[int64 9, 16, 25]");
    } catch (GLib.Error error) {
        GLib.assert_no_error (error);
    }
    troupe.shutdown (Tw.ShutdownMode.DRAIN);
}

async GLib.Variant scale (Tw.Troupe troupe, int64 x) throws GLib.Error {
    return yield troupe.submit (new GLib.Variant.int64 (x)).wait_async (null);
}

void test_vapi_worker_async () {
    var loop = new GLib.MainLoop ();
    var builder = new GLib.VariantBuilder (new GLib.VariantType ("a{sv}"));
    builder.add ("{sv}", "factor", new GLib.Variant.int64 (3));
    var troupe = new Tw.Troupe.for_worker (typeof (Scaler), builder.end ());
    GLib.Variant? value = null;
    GLib.Error? failure = null;

    scale.begin (troupe, 14, (obj, result) => {
        try {
            value = scale.end (result);
        } catch (GLib.Error error) {
            failure = error.copy ();
        }
        loop.quit ();
    });
    loop.run ();
    GLib.assert_no_error (failure);
    GLib.assert_cmpstr (value.print (true), GLib.CompareOperator.EQ, "int64 42");

    scale.begin (troupe, -1, (obj, result) => {
        try {
            value = scale.end (result);
        } catch (GLib.Error error) {
            failure = error.copy ();
        }
        loop.quit ();
    });
    loop.run ();
    GLib.assert_true (failure is GLib.IOError.INVALID_ARGUMENT);
    GLib.assert_cmpstr (failure.message, GLib.CompareOperator.EQ, "negative input -1");
    troupe.shutdown (Tw.ShutdownMode.DRAIN);
}

int main (string[] args) {
    GLib.Test.init (ref args);
    GLib.Test.add_func ("/vapi/func", test_vapi_func);
    GLib.Test.add_func ("/vapi/worker-async", test_vapi_worker_async);
    return GLib.Test.run ();
}
