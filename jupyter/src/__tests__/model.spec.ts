import {
  DEFAULT_REFRESH_MS,
  MIN_REFRESH_MS,
  Poller,
  PowerUsageModel,
  floorRefreshRate
} from '../model';
import { readSettings } from '../settings';
import { ISample, SampleResult } from '../types';

/** A page whose visibility the test controls. */
class FakePage extends EventTarget {
  visibilityState: DocumentVisibilityState = 'visible';
  set(state: DocumentVisibilityState): void {
    this.visibilityState = state;
    this.dispatchEvent(new Event('visibilitychange'));
  }
  asDocument(): Document {
    return this as unknown as Document;
  }
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

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

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
      refreshRate: 50,
      document: null
    });
    expect(model.refreshRate).toBe(1000);
    model.refreshRate = 10;
    expect(model.refreshRate).toBe(1000);
    model.refreshRate = 3000;
    expect(model.refreshRate).toBe(3000);
    model.dispose();
  });
});

describe('Poller', () => {
  it('polls at once, then every interval', async () => {
    const tick = jest.fn(async () => true);
    const poller = new Poller({ tick, interval: 2000, document: null });
    poller.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(tick).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1999);
    expect(tick).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(tick).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(4000);
    expect(tick).toHaveBeenCalledTimes(4);
    poller.dispose();
  });

  it('backs off exponentially on errors, capped, and recovers on success', async () => {
    let fail = true;
    const tick = jest.fn(async () => {
      if (fail) {
        throw new Error('server down');
      }
    });
    const poller = new Poller({ tick, interval: 1000, maxInterval: 8000, document: null });
    poller.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(tick).toHaveBeenCalledTimes(1);
    expect(poller.failures).toBe(1);
    expect(poller.delay).toBe(2000);
    // Waits 2 s, then 4 s, then 8 s, then stays at the 8 s cap.
    await jest.advanceTimersByTimeAsync(1999);
    expect(tick).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(tick).toHaveBeenCalledTimes(2);
    expect(poller.delay).toBe(4000);
    await jest.advanceTimersByTimeAsync(4000);
    expect(tick).toHaveBeenCalledTimes(3);
    expect(poller.delay).toBe(8000);
    await jest.advanceTimersByTimeAsync(8000);
    expect(tick).toHaveBeenCalledTimes(4);
    expect(poller.delay).toBe(8000);
    fail = false;
    await jest.advanceTimersByTimeAsync(8000);
    expect(tick).toHaveBeenCalledTimes(5);
    expect(poller.failures).toBe(0);
    expect(poller.delay).toBe(1000);
    await jest.advanceTimersByTimeAsync(1000);
    expect(tick).toHaveBeenCalledTimes(6);
    poller.dispose();
  });

  it('counts a tick resolving to false as a failure', async () => {
    const poller = new Poller({ tick: async () => false, interval: 1000, document: null });
    poller.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(poller.failures).toBe(1);
    poller.dispose();
  });

  it('stops while the page is hidden and polls at once when it shows again', async () => {
    const page = new FakePage();
    const tick = jest.fn(async () => true);
    const poller = new Poller({ tick, interval: 1000, document: page.asDocument() });
    poller.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(tick).toHaveBeenCalledTimes(1);
    page.set('hidden');
    expect(poller.isScheduled).toBe(false);
    await jest.advanceTimersByTimeAsync(60000);
    expect(tick).toHaveBeenCalledTimes(1);
    page.set('visible');
    await jest.advanceTimersByTimeAsync(0);
    expect(tick).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(1000);
    expect(tick).toHaveBeenCalledTimes(3);
    poller.dispose();
  });

  it('does not poll when started on a hidden page', async () => {
    const page = new FakePage();
    page.visibilityState = 'hidden';
    const tick = jest.fn(async () => true);
    const poller = new Poller({ tick, interval: 1000, document: page.asDocument() });
    poller.start();
    await jest.advanceTimersByTimeAsync(10000);
    expect(tick).not.toHaveBeenCalled();
    page.set('visible');
    await jest.advanceTimersByTimeAsync(0);
    expect(tick).toHaveBeenCalledTimes(1);
    poller.dispose();
  });

  it('follows the real document.visibilityState', async () => {
    let state: DocumentVisibilityState = 'visible';
    const spy = jest
      .spyOn(document, 'visibilityState', 'get')
      .mockImplementation(() => state);
    const tick = jest.fn(async () => true);
    const poller = new Poller({ tick, interval: 1000 });
    poller.start();
    await jest.advanceTimersByTimeAsync(0);
    state = 'hidden';
    document.dispatchEvent(new Event('visibilitychange'));
    await jest.advanceTimersByTimeAsync(5000);
    expect(tick).toHaveBeenCalledTimes(1);
    state = 'visible';
    document.dispatchEvent(new Event('visibilitychange'));
    await jest.advanceTimersByTimeAsync(0);
    expect(tick).toHaveBeenCalledTimes(2);
    poller.dispose();
    spy.mockRestore();
  });

  it('reschedules with a new interval and stops for good when disposed', async () => {
    const tick = jest.fn(async () => true);
    const poller = new Poller({ tick, interval: 5000, document: null });
    poller.start();
    await jest.advanceTimersByTimeAsync(0);
    poller.interval = 1000;
    await jest.advanceTimersByTimeAsync(1000);
    expect(tick).toHaveBeenCalledTimes(2);
    poller.dispose();
    await jest.advanceTimersByTimeAsync(10000);
    expect(tick).toHaveBeenCalledTimes(2);
    poller.start();
    await jest.advanceTimersByTimeAsync(10000);
    expect(tick).toHaveBeenCalledTimes(2);
  });

  it('never runs two ticks at once', async () => {
    let resolve: () => void = () => undefined;
    const tick = jest.fn(
      () => new Promise<void>(r => {
        resolve = r;
      })
    );
    const poller = new Poller({ tick, interval: 1000, document: null });
    poller.start();
    void poller.refresh();
    void poller.refresh();
    expect(tick).toHaveBeenCalledTimes(1);
    resolve();
    await jest.advanceTimersByTimeAsync(0);
    poller.dispose();
  });
});

describe('PowerUsageModel', () => {
  function makeModel(fetchSample: () => Promise<SampleResult>, historyLength = 60) {
    return new PowerUsageModel({ fetchSample, refreshRate: 1000, historyLength, document: null });
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
    expect(model.poller.delay).toBe(2000);
    await jest.advanceTimersByTimeAsync(1000);
    expect(fetch).toHaveBeenCalledTimes(1);
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
    expect(model.poller.failures).toBe(1);
    fail = false;
    await jest.advanceTimersByTimeAsync(2000);
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
});
