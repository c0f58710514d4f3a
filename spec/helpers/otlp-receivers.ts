/**
 * Local OTLP trace receivers for end-to-end tests, on 127.0.0.1 and a free port: one over
 * HTTP (node:http, JSON or protobuf bodies), one over gRPC (@grpc/grpc-js, the
 * `opentelemetry.proto.collector.trace.v1.TraceService/Export` method), and a black hole that
 * accepts connections and never answers, standing in for a hung collector.
 *
 * Protobuf is decoded with the minimal reader @opentelemetry/otlp-transformer ships (it has
 * no request decoder of its own); only the fields the tests read are kept.
 */
import * as grpc from '@grpc/grpc-js';
import { ProtobufReader } from '@opentelemetry/otlp-transformer/build/src/common/protobuf/protobuf-reader';
import type { IncomingMessage } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { listen } from './http-server';

/** An attribute value as the tests compare it. */
export type AttributeValue = string | number | boolean;

/** One span as a receiver got it. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  /** The attributes of the resource the span was sent under (`service.name`, …). */
  readonly resource: Readonly<Record<string, AttributeValue>>;
}

/** A running receiver. */
export interface Receiver {
  /** What to pass to `initTracing`. */
  readonly endpoint: string;
  /** Every span received so far, in arrival order. */
  readonly spans: ReceivedSpan[];
  /** Export requests received so far. */
  requests: number;
  /** The request path of each export (OTLP/HTTP only). */
  readonly paths: string[];
  close(): Promise<void>;
}

// --- protobuf ---------------------------------------------------------------------------

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Reads a length-delimited embedded message and hands its reader to `read`. */
function each(reader: ProtobufReader, read: (field: number, wireType: number, r: ProtobufReader) => void): void {
  while (!reader.isAtEnd()) {
    const { fieldNumber, wireType } = reader.readTag();
    const before = reader.pos;
    read(fieldNumber, wireType, reader);
    if (reader.pos === before) reader.skip(wireType);
  }
}

function readAnyValue(bytes: Uint8Array): AttributeValue {
  let value: AttributeValue = '';
  each(new ProtobufReader(bytes), (field, wireType, r) => {
    if (field === 1 && wireType === 2) value = r.readString();
    else if (field === 2 && wireType === 0) value = r.readVarint() !== 0;
    else if (field === 3 && wireType === 0) value = r.readVarint();
    // Doubles and nested values are skipped: no test reads them.
  });
  return value;
}

function readKeyValue(bytes: Uint8Array, into: Record<string, AttributeValue>): void {
  let key = '';
  let value: AttributeValue = '';
  each(new ProtobufReader(bytes), (field, wireType, r) => {
    if (field === 1 && wireType === 2) key = r.readString();
    else if (field === 2 && wireType === 2) value = readAnyValue(r.readBytes());
  });
  into[key] = value;
}

function readSpan(bytes: Uint8Array, resource: Record<string, AttributeValue>): ReceivedSpan {
  const span = { traceId: '', spanId: '', parentSpanId: '', name: '', statusCode: 0 };
  const attributes: Record<string, AttributeValue> = {};
  each(new ProtobufReader(bytes), (field, wireType, r) => {
    if (wireType !== 2) return;
    if (field === 1) span.traceId = hex(r.readBytes());
    else if (field === 2) span.spanId = hex(r.readBytes());
    else if (field === 4) span.parentSpanId = hex(r.readBytes());
    else if (field === 5) span.name = r.readString();
    else if (field === 9) readKeyValue(r.readBytes(), attributes);
    else if (field === 15) {
      each(new ProtobufReader(r.readBytes()), (f, w, s) => {
        if (f === 3 && w === 0) span.statusCode = s.readVarint();
      });
    }
  });
  return { ...span, attributes, resource };
}

/** Decodes an `ExportTraceServiceRequest`. */
export function decodeProtobufRequest(body: Uint8Array): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  each(new ProtobufReader(body), (field, wireType, r) => {
    if (field !== 1 || wireType !== 2) return; // resource_spans
    const resource: Record<string, AttributeValue> = {};
    const scopeSpans: Uint8Array[] = [];
    each(new ProtobufReader(r.readBytes()), (f, w, rs) => {
      if (f === 1 && w === 2) {
        each(new ProtobufReader(rs.readBytes()), (rf, rw, rr) => {
          if (rf === 1 && rw === 2) readKeyValue(rr.readBytes(), resource);
        });
      } else if (f === 2 && w === 2) scopeSpans.push(rs.readBytes());
    });
    for (const scope of scopeSpans) {
      each(new ProtobufReader(scope), (f, w, ss) => {
        if (f === 2 && w === 2) spans.push(readSpan(ss.readBytes(), resource));
      });
    }
  });
  return spans;
}

// --- JSON -------------------------------------------------------------------------------

interface JsonKeyValue {
  key: string;
  value?: { stringValue?: string; boolValue?: boolean; intValue?: number | string; doubleValue?: number };
}
interface JsonRequest {
  resourceSpans?: {
    resource?: { attributes?: JsonKeyValue[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        attributes?: JsonKeyValue[];
        status?: { code?: number };
      }[];
    }[];
  }[];
}

function jsonAttributes(list: JsonKeyValue[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const { key, value = {} } of list ?? []) {
    out[key] =
      value.stringValue ??
      value.boolValue ??
      (value.intValue !== undefined ? Number(value.intValue) : (value.doubleValue ?? ''));
  }
  return out;
}

/** Decodes an `ExportTraceServiceRequest` in OTLP/JSON. */
export function decodeJsonRequest(body: Buffer): ReceivedSpan[] {
  const request = JSON.parse(body.toString('utf8')) as JsonRequest;
  const spans: ReceivedSpan[] = [];
  for (const rs of request.resourceSpans ?? []) {
    const resource = jsonAttributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          statusCode: s.status?.code ?? 0,
          attributes: jsonAttributes(s.attributes),
          resource,
        });
      }
    }
  }
  return spans;
}

// --- receivers --------------------------------------------------------------------------

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      resolve(req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body);
    });
    req.on('error', reject);
  });
}

/** An OTLP/HTTP receiver at `http://127.0.0.1:<port><path>` (it answers on any path). */
export async function startHttpReceiver(path = '/v1/traces'): Promise<Receiver> {
  const receiver: Receiver = { endpoint: '', spans: [], requests: 0, paths: [], close: () => Promise.resolve() };
  const server = await listen((req, res) => {
    readBody(req).then(
      (body) => {
        const json = (req.headers['content-type'] ?? '').includes('json');
        receiver.spans.push(...(json ? decodeJsonRequest(body) : decodeProtobufRequest(body)));
        receiver.requests += 1;
        receiver.paths.push(req.url ?? '');
        res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
        res.end(json ? '{}' : '');
      },
      () => {
        res.writeHead(400);
        res.end();
      },
    );
  });
  return Object.assign(receiver, { endpoint: `${server.origin}${path}`, close: () => server.close() });
}

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** An OTLP/gRPC receiver (plaintext) at `127.0.0.1:<port>`. */
export function startGrpcReceiver(): Promise<Receiver> {
  const spans: ReceivedSpan[] = [];
  const server = new grpc.Server();
  const identity = (b: Buffer): Buffer => b;
  const definition: grpc.ServiceDefinition = {
    Export: {
      path: EXPORT_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
  const receiver: Receiver = {
    endpoint: '',
    spans,
    requests: 0,
    paths: [],
    close: () =>
      new Promise<void>((done) => {
        server.forceShutdown();
        done();
      }),
  };
  server.addService(definition, {
    Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      spans.push(...decodeProtobufRequest(call.request));
      receiver.requests += 1;
      callback(null, Buffer.alloc(0)); // an empty ExportTraceServiceResponse
    },
  });
  return new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err !== null) reject(err);
      else resolve(Object.assign(receiver, { endpoint: `127.0.0.1:${port}` }));
    });
  });
}

/** A TCP server on 127.0.0.1 that accepts connections and never answers: a hung collector. */
export function startBlackHole(): Promise<{
  readonly port: number;
  readonly connections: () => number;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createNetServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        port,
        connections: () => accepted,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
