// example-common.js: option parsing and output shared by the GJS examples
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import Tw from 'gi://Tw?version=1';
import System from 'system';

/**
 * Parses --mode=thread|process and --workers=N (default 4), and exits with
 * a message on bad options.
 *
 * @param {string[]} argv the arguments (ARGV)
 * @returns {{mode: Tw.TroupeMode, workers: number}} the options
 */
export function parseOptions(argv) {
    const options = {mode: Tw.TroupeMode.THREAD, workers: 4};
    const usage = message => {
        printerr(`${message}\nUsage: gjs -m ${System.programPath} ` +
            '[--mode=thread|process] [--workers=N]');
        System.exit(1);
    };

    for (let i = 0; i < argv.length; i++) {
        let [name, value] = argv[i].split(/=(.*)/s);
        if (name !== '--mode' && name !== '--workers')
            usage(`Unknown option ${argv[i]}`);
        if (value === undefined) {
            if (i + 1 >= argv.length)
                usage(`Missing argument for ${name}`);
            value = argv[++i];
        }
        if (name === '--mode') {
            if (value !== 'thread' && value !== 'process')
                usage(`Bad mode “${value}”`);
            options.mode = value === 'process' ? Tw.TroupeMode.PROCESS : Tw.TroupeMode.THREAD;
        } else {
            options.workers = Number(value);
            if (!Number.isInteger(options.workers) || options.workers < 1)
                usage(`Bad number of workers “${value}”`);
        }
    }

    return options;
}

function formatValue(variant) {
    switch (variant.get_type_string()) {
    case 's':
        return `'${variant.get_string()[0]}'`;
    case 'd': {
        const text = String(variant.get_double());
        return /[.eaIN]/.test(text) ? text : `${text}.0`;
    }
    default:
        return String(variant.unpack());
    }
}

/**
 * Awaits each future and prints the values as a Python list, so the output
 * reads the same in C, Python and JavaScript. Exits on a failed task.
 *
 * @param {Tw.Future[]} futures the futures, awaitable with wait_async()
 */
export async function printResults(futures) {
    const values = [];

    for (const [i, future] of futures.entries()) {
        try {
            values.push(formatValue(await future.wait_async(null)));
        } catch (e) {
            printerr(`Task ${i} failed: ${e.message}`);
            System.exit(1);
        }
    }

    print(`[${values.join(', ')}]`);
}
