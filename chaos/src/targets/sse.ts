export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

export interface SseStream {
  /** Resolves once the server answered 200 (the stream is established). */
  opened: Promise<void>;
  close(): void;
}

export interface SseOptions {
  url: string;
  onMessage: (message: SseMessage) => void;
  /** Called when the stream ends or fails after it opened (not after close()). */
  onEnd: (error?: Error) => void;
  lastEventId?: string;
}

/** A small Server-Sent Events reader on fetch (Node has no EventSource in every supported version). */
export function openSse(options: SseOptions): SseStream {
  const controller = new AbortController();
  let closed = false;
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;

  const opened = (async () => {
    const response = await fetch(options.url, { headers, signal: controller.signal });
    if (!response.ok || !response.body) {
      throw new Error(`${options.url} answered ${response.status} ${response.statusText}`);
    }
    return response.body;
  })();

  const pump = async (body: ReadableStream<Uint8Array>): Promise<void> => {
    const decoder = new TextDecoder();
    let buffer = '';
    let message: SseMessage = { data: '' };
    let hasData = false;
    for await (const chunk of body) {
      buffer += decoder.decode(chunk, { stream: true });
      let newline = buffer.search(/\r\n|\r|\n/);
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        newline = buffer.search(/\r\n|\r|\n/);
        if (line === '') {
          if (hasData) options.onMessage(message);
          message = { data: '' };
          hasData = false;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') {
          message.data = hasData ? `${message.data}\n${value}` : value;
          hasData = true;
        } else if (field === 'id') message.id = value;
        else if (field === 'event') message.event = value;
      }
    }
  };

  opened
    .then((body) => pump(body))
    .then(
      () => {
        if (!closed) options.onEnd();
      },
      (error: unknown) => {
        if (!closed) options.onEnd(error as Error);
      },
    );

  const established = opened.then(() => undefined);
  // Failures after the first connection are reported through onEnd; this keeps them from being unhandled.
  established.catch(() => undefined);
  return {
    opened: established,
    close() {
      closed = true;
      controller.abort();
    },
  };
}
