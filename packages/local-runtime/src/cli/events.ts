import { ControlClient } from '../control-plane/control-client.ts';
import { eventLine } from './format.ts';
import { controlUrl } from './paths.ts';

/** `events`: the control API's event stream, one line each (--json: as JSON lines), from the start. */
export async function events(json: boolean, port?: number): Promise<number> {
  const client = new ControlClient(controlUrl(port));
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const tty = process.stdout.isTTY === true;
  for await (const event of client.events({ after: 0, signal: abort.signal })) {
    console.log(json ? JSON.stringify(event) : eventLine(event, tty));
  }
  return 0;
}
