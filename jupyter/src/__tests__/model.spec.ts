import {
  DEFAULT_REFRESH_MS,
  MAX_BACKOFF_MS,
  MIN_REFRESH_MS,
  PowerPoll,
  PowerUsageModel,
  floorRefreshRate
} from '../model';
import { readSettings } from '../settings';
import { ISample, SampleResult } from '../types';

/** Make the real document hidden or visible, as a browser does when a tab is switched. */
let pageState: DocumentVisibilityState = 'visible';
function setPage(state: DocumentVisibilityState): void {
  pageState = state;
  document.dispatchEvent(new Event('visibilitychange'));
}

function sample(cpu: number | null, extra: Partial<ISample> = {}, time?: string): SampleResult {
  const s: ISample = {
    time: time ?? new Date().toISOString() + Math.random(),
    interval_s: 1,
    scope: 'process',
    ...extra
  };
  if (cpu !== null) {
    s.cpu = { usage: cpu, limit: 100, total: 2 * cpu, idle: 1, share: 0.5, source: 'rapl' };
  }
  return { kind: 'sample', sample: s };
}

let visibilitySpy: jest.SpyInstance;

beforeEach(() => {
  jest.useFakeTimers();
  visibilitySpy = jest
    .spyOn(document, 'visibilityState', 'get')
    .mockImplementation(() => pageState);
  setPage('visible');
});

afterEach(() => {
  setPage('visible');
  visibilitySpy.mockRestore();
  jest.restoreAllMocks();
  jest.useRealTimers();
});

/** The fake time of every call of a mock, in ms. */
function callTimes(start: number, times: number[]): number[] {
  return times.map(t => t - start);
}

describe('floorRefreshRate', () => {
  it('raises values below one second to one second', () => {
    expect(MIN_REFRESH_MS).toBe(1000);
    expect(floorRefreshRate(10)).toBe(1000);
    expect(floorRefreshRate(0)).toBe(1000);
    expect(floorRefreshRate(-5000)).toBe(1000);
    expect(floorRefreshRate(2500)).toBe(2500);
  });

  it('falls back to the default for values that are not numbers', () => {
    expect(floorRefreshRate(undefined)).toBe(DEFAULT_REFRESH_MS);
    expect(floorRefreshRate('fast')).toBe(DEFAULT_REFRESH_MS);
    expect(floorRefreshRate(NaN)).toBe(DEFAULT_REFRESH_MS);
  });

  it('is applied to the settings and to the model', () => {
    expect(readSettings({ refreshRate: 200 }).refreshRate).toBe(1000);
    const model = new PowerUsageModel({
      fetchSample: async () => sample(1),
      refreshRate: 50
    });
    expect(model.refreshRate).toBe(1000);
    model.refreshRate = 10;
    expect(model.refreshRate).toBe(1000);
    model.refreshRate = 3000;
    expect(model.refreshRate).toBe(3000);
    model.dispose();
  });
});

describe('PowerPoll', () => {
  it('polls at once when started, then every interval', async () => {
    const factory = jest.fn(async () => undefined);
    const poll = new PowerPoll({ factory, interval: 2000, name: 'test' });
    await jest.advanceTimersByTimeAsync(5000);
    expect(factory).not.toHaveBeenCalled();
    void poll.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(factory).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1999);
    expect(factory).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(factory).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(4000);
    expect(factory).toHaveBeenCalledTimes(4);
    poll.dispose();
  });

  it('backs off while the factory fails, capped, and recovers on success', async () => {
    // Lumino draws each wait at random between the interval and the last
    // wait times 3; the middle of that range makes the test repeatable.
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    let fail = true;
    const calls: number[] = [];
    const factory = jest.fn(async () => {
      calls.push(Date.now());
      if (fail) {
        throw new Error('server down');
      }
    });
    const poll = new PowerPoll({ factory, interval: 1000, name: 'test' });
    const t0 = Date.now();
    void poll.start();
    // Ten minutes of a server that does not answer.
    await jest.advanceTimersByTimeAsync(10 * 60 * 1000);
    const gaps = callTimes(t0, calls).map((t, i, all) => (i ? t - all[i - 1] : t));
    gaps.shift(); // the first call is at once
    // At the 1 s rate that would be 600 requests.
    expect(calls.length).toBeLessThan(25);
    // Never sooner than the interval, growing, then held at the cap.
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000);
    for (let i = 1; i < gaps.length; i++) {
      expect(gaps[i]).toBeGreaterThanOrEqual(gaps[i - 1]);
    }
    expect(Math.max(...gaps)).toBe(MAX_BACKOFF_MS);
    expect(gaps[gaps.length - 1]).toBe(MAX_BACKOFF_MS);

    // The server is back: the next try succeeds and the rhythm is the interval again.
    fail = false;
    const before = factory.mock.calls.length;
    await jest.advanceTimersByTimeAsync(calls[calls.length - 1] + MAX_BACKOFF_MS - Date.now());
    expect(factory).toHaveBeenCalledTimes(before + 1);
    expect(poll.state.phase).toBe('reconnected');
    await jest.advanceTimersByTimeAsync(999);
    expect(factory).toHaveBeenCalledTimes(before + 1);
    await jest.advanceTimersByTimeAsync(1);
    expect(factory).toHaveBeenCalledTimes(before + 2);
    poll.dispose();
  });

  it('stands by while the page is hidden and polls at once when it shows again', async () => {
    const factory = jest.fn(async () => undefined);
    const poll = new PowerPoll({ factory, interval: 1000, name: 'test' });
    void poll.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(factory).toHaveBeenCalledTimes(1);
    setPage('hidden');
    await jest.advanceTimersByTimeAsync(60000);
    expect(factory).toHaveBeenCalledTimes(1);
    expect(poll.isRunning).toBe(true);
    setPage('visible');
    await jest.advanceTimersByTimeAsync(0);
    expect(factory).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(1000);
    expect(factory).toHaveBeenCalledTimes(3);
    poll.dispose();
  });

  it('does not poll when started on a hidden page', async () => {
    setPage('hidden');
    const factory = jest.fn(async () => undefined);
    const poll = new PowerPoll({ factory, interval: 1000, name: 'test' });
    void poll.start();
    await jest.advanceTimersByTimeAsync(10000);
    expect(factory).not.toHaveBeenCalled();
    setPage('visible');
    await jest.advanceTimersByTimeAsync(0);
    expect(factory).toHaveBeenCalledTimes(1);
    poll.dispose();
  });

  it('takes a new interval at once and stops for good when disposed', async () => {
    const factory = jest.fn(async () => undefined);
    const poll = new PowerPoll({ factory, interval: 5000, name: 'test' });
    void poll.start();
    await jest.advanceTimersByTimeAsync(0);
    poll.interval = 1000;
    expect(poll.interval).toBe(1000);
    await jest.advanceTimersByTimeAsync(0);
    expect(factory).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(1000);
    expect(factory).toHaveBeenCalledTimes(3);
    poll.interval = 200;
    expect(poll.interval).toBe(MIN_REFRESH_MS);
    poll.dispose();
    await jest.advanceTimersByTimeAsync(10000);
    expect(factory).toHaveBeenCalledTimes(3);
    void poll.start();
    setPage('visible');
    await jest.advanceTimersByTimeAsync(10000);
    expect(factory).toHaveBeenCalledTimes(3);
  });

  it('stays stopped when stopped, whatever the page or the interval does', async () => {
    const factory = jest.fn(async () => undefined);
    const poll = new PowerPoll({ factory, interval: 1000, name: 'test' });
    void poll.start();
    await jest.advanceTimersByTimeAsync(0);
    void poll.stop();
    poll.interval = 2000;
    setPage('hidden');
    setPage('visible');
    await jest.advanceTimersByTimeAsync(10000);
    expect(factory).toHaveBeenCalledTimes(1);
    void poll.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(factory).toHaveBeenCalledTimes(2);
    poll.dispose();
  });
});

describe('PowerUsageModel', () => {
  function makeModel(fetchSample: () => Promise<SampleResult>, historyLength = 60) {
    return new PowerUsageModel({ fetchSample, refreshRate: 1000, historyLength });
  }

  it('holds the sample and emits changed', async () => {
    const model = makeModel(async () => sample(12.5));
    const changed = jest.fn();
    model.changed.connect(changed);
    expect(model.status).toBe('loading');
    model.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(changed).toHaveBeenCalledTimes(1);
    expect(model.status).toBe('ok');
    expect(model.cpuAvailable).toBe(true);
    expect(model.cpu?.usage).toBe(12.5);
    expect(model.gpuAvailable).toBe(false);
    expect(model.gpu).toBeNull();
    expect(model.emissions).toBeNull();
    expect(model.nothingMeasured).toBe(false);
    model.dispose();
  });

  it('treats a missing cpu key as not available, not as 0 W', async () => {
    const model = makeModel(async () =>
      sample(null, {
        diagnostics: [{ sensor: 'rapl', reason: 'absent', message: 'no powercap' }]
      })
    );
    model.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(model.status).toBe('ok');
    expect(model.cpuAvailable).toBe(false);
    expect(model.nothingMeasured).toBe(true);
    expect(model.cpuValues).toEqual([]);
    expect(model.diagnostics).toEqual([
      { sensor: 'rapl', reason: 'absent', message: 'no powercap' }
    ]);
    model.dispose();
  });

  it('is measurable with a GPU but no CPU figure', async () => {
    const model = makeModel(async () =>
      sample(null, { gpu: { usage: 80, limit: 300, source: 'nvml' } })
    );
    model.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(model.cpuAvailable).toBe(false);
    expect(model.gpuAvailable).toBe(true);
    expect(model.nothingMeasured).toBe(false);
    expect(model.gpuValues).toEqual([80]);
    model.dispose();
  });

  it('reports a 503 as unavailable with its diagnostics, and backs off', async () => {
    const fetch = jest.fn(async (): Promise<SampleResult> => ({
      kind: 'unavailable',
      body: {
        error: 'no sensor',
        diagnostics: [{ sensor: 'rapl', reason: 'permission', message: 'chmod' }]
      }
    }));
    const model = makeModel(fetch);
    model.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(model.status).toBe('unavailable');
    expect(model.nothingMeasured).toBe(true);
    expect(model.unavailable?.error).toBe('no sensor');
    expect(model.diagnostics[0].reason).toBe('permission');
    // Asking again at the normal rate will not help: the poll backs off.
    expect(model.poll.state.phase).toBe('rejected');
    await jest.advanceTimersByTimeAsync(60000);
    expect(fetch.mock.calls.length).toBeLessThan(20);
    model.dispose();
  });

  it('keeps the last good sample on a network error and says so', async () => {
    let fail = false;
    const model = makeModel(async () => {
      if (fail) {
        throw new Error('Failed to fetch');
      }
      return sample(5);
    });
    model.start();
    await jest.advanceTimersByTimeAsync(0);
    fail = true;
    await jest.advanceTimersByTimeAsync(1000);
    expect(model.status).toBe('error');
    expect(model.error).toBe('Failed to fetch');
    expect(model.sample?.cpu?.usage).toBe(5);
    expect(model.poll.state.phase).toBe('rejected');
    fail = false;
    await jest.advanceTimersByTimeAsync(MAX_BACKOFF_MS);
    expect(model.status).toBe('ok');
    expect(model.error).toBeNull();
    model.dispose();
  });

  it('keeps only the last N values and skips a sample seen twice', async () => {
    let n = 0;
    let repeat = false;
    const model = makeModel(async () => {
      if (!repeat) {
        n += 1;
      }
      return sample(n, {}, `t${n}`);
    }, 5);
    model.start();
    await jest.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 7; i++) {
      await jest.advanceTimersByTimeAsync(1000);
    }
    expect(model.cpuValues).toEqual([4, 5, 6, 7, 8]);
    repeat = true;
    await jest.advanceTimersByTimeAsync(1000);
    expect(model.cpuValues).toEqual([4, 5, 6, 7, 8]);
    model.dispose();
  });

  it('stops polling when stopped', async () => {
    const fetch = jest.fn(async () => sample(1));
    const model = makeModel(fetch);
    model.start();
    await jest.advanceTimersByTimeAsync(0);
    model.stop();
    await jest.advanceTimersByTimeAsync(10000);
    expect(fetch).toHaveBeenCalledTimes(1);
    model.dispose();
  });

  it('never runs two requests at once: a refresh shares the one in flight', async () => {
    let resolve: (r: SampleResult) => void = () => undefined;
    const fetch = jest.fn(
      () =>
        new Promise<SampleResult>(r => {
          resolve = r;
        })
    );
    const model = makeModel(fetch);
    model.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(fetch).toHaveBeenCalledTimes(1);
    const refreshed = model.refresh();
    await jest.advanceTimersByTimeAsync(0);
    expect(fetch).toHaveBeenCalledTimes(1);
    resolve(sample(3));
    await jest.advanceTimersByTimeAsync(0);
    await refreshed;
    expect(model.cpu?.usage).toBe(3);
    expect(fetch).toHaveBeenCalledTimes(1);
    model.dispose();
  });

  it('does not start polling on a refresh before start', async () => {
    const fetch = jest.fn(async () => sample(1));
    const model = makeModel(fetch);
    await model.refresh();
    await jest.advanceTimersByTimeAsync(10000);
    expect(fetch).not.toHaveBeenCalled();
    model.dispose();
  });
});
