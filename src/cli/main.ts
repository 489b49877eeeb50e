#!/usr/bin/env node
/** The `actra` executable: runs the command line (`./cli.ts`) on the process's arguments and streams. */

import { main } from './cli.js';
import { processIo } from './io.js';

process.exitCode = await main(process.argv.slice(2), processIo());
