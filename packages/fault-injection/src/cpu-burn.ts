export interface CpuBurn {
  readonly running: boolean;
  /** Milliseconds spent spinning so far. */
  readonly burnedMs: number;
  stop(): void;
}

export interface CpuBurnOptions {
  /** Wall-clock duration of the whole burn. */
  readonly durationMs: number;
  /** Length of one busy slice; the event loop runs between slices, so it bounds added latency. */
  readonly sliceMs?: number;
  /** Called once when the burn ends, by its deadline or by `stop()`. */
  readonly onEnd?: (burn: CpuBurn) => void;
}

/**
 * Keeps one core near 100% for `durationMs` with busy slices separated by `setImmediate`, so that
 * I/O (probes, /metrics, the admin API) is still served between slices.
 */
export function startCpuBurn(options: CpuBurnOptions): CpuBurn {
  const sliceMs = options.sliceMs ?? 50;
  const deadline = performance.now() + options.durationMs;
  let running = true;
  let burnedMs = 0;
  let immediate: NodeJS.Immediate | undefined;

  const burn: CpuBurn = {
    get running() {
      return running;
    },
    get burnedMs() {
      return burnedMs;
    },
    stop() {
      if (!running) return;
      running = false;
      if (immediate) clearImmediate(immediate);
      options.onEnd?.(burn);
    },
  };

  const slice = (): void => {
    immediate = undefined;
    const start = performance.now();
    const end = Math.min(start + sliceMs, deadline);
    while (performance.now() < end) {
      // spin: the point is to use the CPU
    }
    burnedMs += performance.now() - start;
    if (performance.now() >= deadline) burn.stop();
    else immediate = setImmediate(slice).unref();
  };
  // Unref'd like every fault timer: a burn never keeps the process alive on its own.
  immediate = setImmediate(slice).unref();
  return burn;
}
