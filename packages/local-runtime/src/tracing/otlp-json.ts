/**
 * Decodes an OTLP/HTTP JSON trace export (`ExportTraceServiceRequest`, OTLP specification "JSON Protobuf
 * Encoding"): trace and span ids are hex strings, times are unix nanoseconds as decimal strings (numbers
 * accepted), enums are integers (names accepted, as the protobuf JSON mapping allows), attributes are
 * `AnyValue`s. Unknown fields are ignored, as the specification requires of receivers.
 */
import type { SpanAttributeValue, SpanStatusCode } from '@self-healing-shop/contracts';

export type Attributes = Record<string, SpanAttributeValue>;

/** A span as kept: nanoseconds as bigint, ids lowercase hex. */
export interface DecodedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | null;
  readonly name: string;
  readonly kind: string;
  readonly service: string;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly status: { readonly code: SpanStatusCode; readonly message?: string };
  readonly attributes: Attributes;
  readonly resource: Attributes;
  readonly events: ReadonlyArray<{
    readonly name: string;
    readonly timeNs: bigint;
    readonly attributes: Attributes;
  }>;
  readonly links: ReadonlyArray<{
    readonly traceId: string;
    readonly spanId: string;
    readonly attributes: Attributes;
  }>;
}

export interface DecodedExport {
  readonly spans: DecodedSpan[];
  /** Spans left out, each with why (bad ids or times): the receiver answers a partial success. */
  readonly rejected: number;
  readonly firstError?: string;
}

/** The request as a whole is not an OTLP trace export (answered 400). */
export class OtlpFormatError extends Error {}

const KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const STATUS: SpanStatusCode[] = ['UNSET', 'OK', 'ERROR'];
const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
const MAX_DEPTH = 8;

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function list(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpFormatError(`${where} must be an array`);
  return value;
}

function anyValue(value: unknown, depth = 0): SpanAttributeValue {
  if (!isObject(value) || depth > MAX_DEPTH) return null;
  if ('stringValue' in value) return String(value['stringValue']);
  if ('boolValue' in value) return value['boolValue'] === true;
  if ('intValue' in value) {
    const n = Number(value['intValue']);
    // int64 beyond 2^53 stays exact as a string.
    return Number.isSafeInteger(n) ? n : String(value['intValue']);
  }
  if ('doubleValue' in value) return Number(value['doubleValue']);
  if ('bytesValue' in value) return String(value['bytesValue']);
  if (isObject(value['arrayValue']))
    return list(value['arrayValue']['values'], 'arrayValue.values').map((v) => anyValue(v, depth + 1));
  if (isObject(value['kvlistValue'])) return attributes(value['kvlistValue']['values'], depth + 1);
  return null;
}

function attributes(value: unknown, depth = 0): Attributes {
  const out: Attributes = {};
  for (const item of list(value, 'attributes'))
    if (isObject(item) && typeof item['key'] === 'string') out[item['key']] = anyValue(item['value'], depth);
  return out;
}

function nanos(value: unknown, field: string): bigint {
  if (typeof value === 'string' && /^\d{1,20}$/.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw new Error(`${field} must be unix nanoseconds as a decimal string`);
}

function id(value: unknown, pattern: RegExp, zero: string, field: string): string {
  const text = typeof value === 'string' ? value.toLowerCase() : '';
  if (!pattern.test(text) || text === zero)
    throw new Error(
      `${field} must be a non-zero hex string of ${zero.length} characters, got ${JSON.stringify(value)}`,
    );
  return text;
}

function enumIndex(value: unknown, names: readonly string[], prefix: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return names.indexOf(value.replace(prefix, ''));
  return 0;
}

function span(raw: Json, service: string, resource: Attributes): DecodedSpan {
  const traceId = id(raw['traceId'], TRACE_ID, ZERO_TRACE, 'traceId');
  const parent = raw['parentSpanId'];
  const status = isObject(raw['status']) ? raw['status'] : {};
  const statusCode = STATUS[enumIndex(status['code'], STATUS, 'STATUS_CODE_')] ?? 'UNSET';
  const message =
    typeof status['message'] === 'string' && status['message'] !== '' ? status['message'] : undefined;
  return {
    traceId,
    spanId: id(raw['spanId'], SPAN_ID, ZERO_SPAN, 'spanId'),
    parentSpanId:
      parent === undefined || parent === null || parent === ''
        ? null
        : id(parent, SPAN_ID, ZERO_SPAN, 'parentSpanId'),
    name: typeof raw['name'] === 'string' ? raw['name'] : '',
    kind: KINDS[enumIndex(raw['kind'], KINDS, 'SPAN_KIND_')] ?? 'UNSPECIFIED',
    service,
    startNs: nanos(raw['startTimeUnixNano'], 'startTimeUnixNano'),
    endNs: nanos(raw['endTimeUnixNano'], 'endTimeUnixNano'),
    status: message === undefined ? { code: statusCode } : { code: statusCode, message },
    attributes: attributes(raw['attributes']),
    resource,
    events: list(raw['events'], 'events')
      .filter(isObject)
      .map((e) => ({
        name: typeof e['name'] === 'string' ? e['name'] : '',
        timeNs: nanos(e['timeUnixNano'], 'events[].timeUnixNano'),
        attributes: attributes(e['attributes']),
      })),
    links: list(raw['links'], 'links')
      .filter(isObject)
      .map((l) => ({
        traceId: id(l['traceId'], TRACE_ID, ZERO_TRACE, 'links[].traceId'),
        spanId: id(l['spanId'], SPAN_ID, ZERO_SPAN, 'links[].spanId'),
        attributes: attributes(l['attributes']),
      })),
  };
}

/** The spans of an export request body (already parsed JSON). */
export function decodeTraceExport(body: unknown): DecodedExport {
  if (!isObject(body))
    throw new OtlpFormatError('the body must be a JSON object (ExportTraceServiceRequest)');
  const spans: DecodedSpan[] = [];
  let rejected = 0;
  let firstError: string | undefined;
  for (const resourceSpans of list(body['resourceSpans'], 'resourceSpans')) {
    if (!isObject(resourceSpans)) throw new OtlpFormatError('resourceSpans[] must be objects');
    const resource = attributes(
      isObject(resourceSpans['resource']) ? resourceSpans['resource']['attributes'] : [],
    );
    const { ['service.name']: serviceName, ...rest } = resource;
    const service = typeof serviceName === 'string' && serviceName !== '' ? serviceName : 'unknown_service';
    for (const scopeSpans of list(resourceSpans['scopeSpans'], 'scopeSpans')) {
      if (!isObject(scopeSpans)) throw new OtlpFormatError('scopeSpans[] must be objects');
      for (const raw of list(scopeSpans['spans'], 'spans')) {
        try {
          if (!isObject(raw)) throw new Error('a span must be an object');
          spans.push(span(raw, service, rest));
        } catch (error) {
          rejected += 1;
          firstError ??= (error as Error).message;
        }
      }
    }
  }
  return firstError === undefined ? { spans, rejected } : { spans, rejected, firstError };
}
