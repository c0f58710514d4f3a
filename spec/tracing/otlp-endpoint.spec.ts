import { parseOtlpEndpoint, type OtlpEndpoint } from '../../lib/tracing/otlp-endpoint';

describe('parseOtlpEndpoint: the Go endpoint rules', () => {
  const cases: readonly [string, OtlpEndpoint][] = [
    // Bare host:port speaks gRPC (Go's otlptracegrpc.WithEndpoint): plaintext on localhost…
    ['localhost:4317', { protocol: 'grpc', url: 'http://localhost:4317', insecure: true }],
    ['127.0.0.1:4317', { protocol: 'grpc', url: 'http://127.0.0.1:4317', insecure: true }],
    // … as prefixes, exactly as the Go server tests them.
    ['localhost.localdomain:4317', { protocol: 'grpc', url: 'http://localhost.localdomain:4317', insecure: true }],
    // … and TLS for every other host.
    ['collector:4317', { protocol: 'grpc', url: 'https://collector:4317', insecure: false }],
    ['otel.example.com:443', { protocol: 'grpc', url: 'https://otel.example.com:443', insecure: false }],
    ['10.0.0.7:4317', { protocol: 'grpc', url: 'https://10.0.0.7:4317', insecure: false }],
    ['[::1]:4317', { protocol: 'grpc', url: 'https://[::1]:4317', insecure: false }],
    // A URL without a path is gRPC too; its scheme picks plaintext or TLS.
    ['http://collector:4317', { protocol: 'grpc', url: 'http://collector:4317', insecure: true }],
    ['http://collector:4317/', { protocol: 'grpc', url: 'http://collector:4317', insecure: true }],
    ['https://collector:4317', { protocol: 'grpc', url: 'https://collector:4317', insecure: false }],
    ['https://localhost:4317', { protocol: 'grpc', url: 'https://localhost:4317', insecure: false }],
    ['https://otel.example.com', { protocol: 'grpc', url: 'https://otel.example.com:443', insecure: false }],
    ['http://[::1]:4317', { protocol: 'grpc', url: 'http://[::1]:4317', insecure: true }],
    // A URL with a path is OTLP/HTTP, to exactly that URL.
    ['http://collector:4318/v1/traces', { protocol: 'http', url: 'http://collector:4318/v1/traces', insecure: true }],
    [
      'https://otel.example.com/otlp/v1/traces',
      { protocol: 'http', url: 'https://otel.example.com/otlp/v1/traces', insecure: false },
    ],
    [
      'http://127.0.0.1:4318/custom/path?tenant=a',
      { protocol: 'http', url: 'http://127.0.0.1:4318/custom/path?tenant=a', insecure: true },
    ],
  ];

  it.each(cases)('%s', (endpoint, expected) => {
    expect(parseOtlpEndpoint(endpoint)).toEqual(expected);
  });

  const invalid: readonly [string, RegExp][] = [
    ['collector', /expected host:port/],
    ['localhost:4318/v1/traces', /expected host:port/],
    [':4317', /expected host:port/],
    ['collector:', /expected host:port/],
    ['collector:http', /expected host:port/],
    ['collector:0', /port 0 is outside/],
    ['collector:70000', /port 70000 is outside/],
    ['bad_host!:4317', /is not a host name/],
    ['[not-ipv6]:4317', /is not a host name/],
    ['grpc://collector:4317', /scheme must be http or https, not grpc/],
    ['ftp://collector/v1/traces', /scheme must be http or https/],
    ['http://', /not a URL/],
    ['http://collector:99999/v1/traces', /not a URL/],
    ['http://collector:4317/?x=1', /takes no query or fragment/],
    ['http://collector:4318/v1/traces#frag', /takes no fragment/],
    ['collector :4317', /white space/],
    [' localhost:4317', /white space/],
    ['localhost:4317\n', /white space/],
  ];

  it.each(invalid)('rejects %j, quoting it', (endpoint, why) => {
    let error: unknown;
    try {
      parseOtlpEndpoint(endpoint);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain(`invalid endpoint ${JSON.stringify(endpoint)}`);
    expect(message).toMatch(why);
  });

  it('rejects credentials in the URL without printing the password', () => {
    expect(() => parseOtlpEndpoint('https://user:s3cret@collector/v1/traces')).toThrow(
      'invalid endpoint "https://user:***@collector/v1/traces": credentials in the URL are not supported',
    );
  });

  it('quotes a long endpoint in full (up to 256 characters), not cut at 64', () => {
    const endpoint = `https://${'a'.repeat(70)}.example.com:4317/bad path`;
    expect(() => parseOtlpEndpoint(endpoint)).toThrow(JSON.stringify(endpoint));
  });

  it('names the empty string as the way to disable export', () => {
    expect(() => parseOtlpEndpoint('')).toThrow('pass "" to initTracing to disable export');
  });

  it('rejects a non-string with a TypeError', () => {
    expect(() => parseOtlpEndpoint(4317 as unknown as string)).toThrow(
      new TypeError('initTracing: endpoint must be a string, got number 4317'),
    );
  });
});
