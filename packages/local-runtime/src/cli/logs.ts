import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ControlClient } from '../control-plane/control-client.ts';
import { belongsTo } from '../supervision/names.ts';
import { colour, colourFor, lineTime, prettyLine } from './format.ts';
import { controlUrl, runtimePaths } from './paths.ts';

const POLL_MS = 250;

interface Tail {
  readonly replica: string;
  readonly file: string;
  offset: number;
  rest: string;
}

async function readFrom(file: string, offset: number): Promise<{ text: string; size: number }> {
  const size = (await stat(file).catch(() => ({ size: 0 }))).size;
  if (size <= offset) return { text: '', size: Math.min(size, offset) };
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(size - offset);
    await handle.read(buffer, 0, buffer.length, offset);
    return { text: buffer.toString('utf8'), size };
  } finally {
    await handle.close();
  }
}

/**
 * `logs [deployment]`: the last lines of every current replica's log (merged by time), then follows them
 * and the logs of replicas that start later (.data/logs/<replica>.log).
 */
export async function logs(options: {
  deployment?: string;
  follow: boolean;
  lines: number;
  dataDir?: string;
  controlPort?: number;
}): Promise<number> {
  const client = new ControlClient(controlUrl(options.controlPort));
  const deployments = await client.workloads();
  const { deployment } = options;
  if (deployment && !deployments.some((d) => d.name === deployment)) {
    console.error(`no workload named ${deployment}; there are: ${deployments.map((d) => d.name).join(', ')}`);
    return 2;
  }
  const wanted = (replica: string) =>
    deployment ? belongsTo(replica, deployment) : deployments.some((d) => belongsTo(replica, d.name));
  const { logsDir } = runtimePaths(options.dataDir);
  const tty = process.stdout.isTTY === true;
  const width = Math.max(...(await client.replicas()).map((r) => r.name.length), 20);
  const print = (replica: string, line: string) =>
    console.log(`${colour(replica.padEnd(width), colourFor(replica), tty)} ${prettyLine(line, tty)}`);

  const tails = new Map<string, Tail>();
  const initial: Array<{ replica: string; line: string; time: number }> = [];
  for (const replica of await client.replicas()) {
    if (!wanted(replica.name)) continue;
    const file = path.join(logsDir, `${replica.name}.log`);
    const { text, size } = await readFrom(file, 0);
    const lines = text.split('\n').filter(Boolean).slice(-options.lines);
    lines.forEach((line, i) => initial.push({ replica: replica.name, line, time: lineTime(line) ?? i }));
    tails.set(replica.name, { replica: replica.name, file, offset: size, rest: '' });
  }
  initial.sort((a, b) => a.time - b.time);
  for (const { replica, line } of initial) print(replica, line);
  if (!options.follow) return 0;

  // New replicas (replacements, scale-ups, rollouts) join as their log files appear.
  let stopped = false;
  process.once('SIGINT', () => (stopped = true));
  while (!stopped) {
    for (const name of await readdir(logsDir).catch(() => [] as string[])) {
      const replica = name.replace(/\.log$/, '');
      if (name.endsWith('.log') && !tails.has(replica) && wanted(replica)) {
        tails.set(replica, { replica, file: path.join(logsDir, name), offset: 0, rest: '' });
      }
    }
    for (const tail of tails.values()) {
      const { text, size } = await readFrom(tail.file, tail.offset);
      tail.offset = size;
      if (!text) continue;
      const lines = (tail.rest + text).split('\n');
      tail.rest = lines.pop() ?? '';
      for (const line of lines) if (line) print(tail.replica, line);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return 0;
}
