/**
 * The transport reference as its own process (like the server under test): a bare grpc-js echo
 * server on loopback. Prints `echo listening on <address>`; stops on SIGTERM.
 */

import { startEchoServer } from '../lib/echo.js';
import { onTeardown, teardown } from '../lib/lifecycle.js';

const address = await startEchoServer();
process.stdout.write(`echo listening on ${address}\n`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void teardown());
onTeardown('exit', () => process.exit(0));
