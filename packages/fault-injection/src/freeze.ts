/**
 * Blocks this thread's event loop for `durationMs`, as SIGSTOP does seen from outside: the kernel
 * still accepts connections into the listen backlog, but nothing is read or answered (probes time
 * out) until it ends. `Atomics.wait` sleeps without spinning, so a frozen replica uses no CPU, like a
 * stopped process. This is how a pod is frozen on Kubernetes, where a container's PID 1 cannot be
 * stopped from inside its namespace.
 */
export function freezeEventLoop(durationMs: number): void {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const deadline = performance.now() + durationMs;
  // A spurious wake-up (none is expected: nobody notifies this cell) only sleeps again.
  for (let left = durationMs; left > 0; left = deadline - performance.now()) {
    Atomics.wait(cell, 0, 0, left);
  }
}
