#!/usr/bin/env node
// pnpm loadgen --rate 50 --duration 60s [--url http://127.0.0.1:8080] [--json]
import { parseArgs } from 'node:util';
import { DEFAULT_ORDER_URL, LOCAL_PORTS } from '@self-healing-shop/contracts';
import { startLoad } from './load.ts';
import { parseDuration } from './duration.ts';
import { progressLine, summaryText } from './report-format.ts';

const USAGE = `usage: pnpm loadgen [--rate 50] [--duration 60s] [--url ${DEFAULT_ORDER_URL}] [options]

Sends POST /orders at a fixed rate (open model) to the order front and prints a summary.

  --rate <n>             orders per second (default 10)
  --duration <time>      how long: 60s, 2m, 1500ms (a unit is required; default 10s)
  --url <url>            order front or full URL (default ${DEFAULT_ORDER_URL}; local only)
  --products-url <url>   inventory front for GET /products (default: the url's host, port ${LOCAL_PORTS.inventory} when it is on ${LOCAL_PORTS.order})
  --timeout <time>       per request (default 5s)
  --max-in-flight <n>    requests in flight at most; beyond it they count as overload
  --no-trace             send no traceparent (default: a fresh sampled one per request, and the
                         trace ids of failed requests in the report)
  --json                 print the report as JSON on stdout`;

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowNegative: true,
      options: {
        rate: { type: 'string', default: '10' },
        duration: { type: 'string', default: '10s' },
        url: { type: 'string', default: DEFAULT_ORDER_URL },
        'products-url': { type: 'string' },
        timeout: { type: 'string', default: '5s' },
        'max-in-flight': { type: 'string' },
        json: { type: 'boolean', default: false },
        trace: { type: 'boolean', default: true },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  let handle;
  try {
    const maxInFlight = values['max-in-flight'] === undefined ? undefined : Number(values['max-in-flight']);
    if (maxInFlight !== undefined && !(Number.isInteger(maxInFlight) && maxInFlight > 0)) {
      throw new RangeError(`--max-in-flight must be a positive integer, got ${values['max-in-flight']}`);
    }
    handle = startLoad({
      url: values.url,
      productsUrl: values['products-url'],
      rate: Number(values.rate),
      durationMs: parseDuration(values.duration),
      timeoutMs: parseDuration(values.timeout),
      maxInFlight,
      trace: values.trace,
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const load = handle;
  process.once('SIGINT', () => load.stop());
  const tty = process.stderr.isTTY === true;
  const progress = setInterval(
    () => {
      if (tty) process.stderr.write(`\r\u001b[2K${progressLine(load.snapshot())}`);
      else console.error(progressLine(load.snapshot()));
    },
    tty ? 500 : 5_000,
  );
  const report = await load.done.finally(() => clearInterval(progress));
  if (tty) process.stderr.write('\r\u001b[2K');
  console.log(values.json ? JSON.stringify(report, null, 2) : summaryText(report));
  return 0;
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return 1;
});
