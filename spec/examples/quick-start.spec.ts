import { runTsFile } from '../helpers/run-ts-child';

describe('examples/quick-start.ts', () => {
  it('runs as the README shows and prints the counts and the scrape it narrates', async () => {
    const { code, stdout, stderr } = await runTsFile('examples/quick-start.ts', ['--ticks', '3'], {
      timeoutMs: 60_000,
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        'busy=1 idle=2 draining=0 sessions=1',
        'busy=1 idle=1 draining=1 sessions=2',
        'busy=1 idle=1 draining=1 sessions=3',
        'blockyard_workers_active 3',
        'blockyard_workers{state="busy"} 1',
        'blockyard_workers{state="idle"} 1',
        'blockyard_workers{state="draining"} 1',
        'blockyard_sessions_active 3',
        'blockyard_workers_spawned_total 3',
        'blockyard_proxy_requests_total{app="sales-dashboard",status="2xx"} 3',
        'blockyard_proxy_requests_total{app="unknown",status="4xx"} 3',
        '',
      ].join('\n'),
    );
  }, 60_000); // a child process compiles and starts in seconds on a busy machine, more than jest's 5 s
});
