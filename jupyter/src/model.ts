/**
 * The data side of the extension: the model of the latest power sample that
 * the top-bar views render, polled with `@lumino/polling` (backoff on errors,
 * standby while the page is hidden). Nothing here touches the DOM beyond the
 * page's visibility, and nothing imports JupyterLab: the server calls are
 * passed in, so the unit tests drive the model with plain functions.
 */
import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import {
  IDiagnostic,
  IEmissions,
  IGpuPart,
  IPowerPart,
  ISample,
  IUnavailable,
  SampleResult
} from './types';

/** The fastest refresh the extension allows, in ms (a setting below it is raised to it). */
export const MIN_REFRESH_MS = 1000;

/** The default refresh, in ms: the `refreshRate` setting's default. */
export const DEFAULT_REFRESH_MS = 5000;

/** The longest wait between two tries while the server keeps failing, in ms. */
export const MAX_BACKOFF_MS = 60000;

/** How many recent values the sparklines keep. */
export const SPARKLINE_LENGTH = 60;

/** A refresh rate in ms from a setting: not a number gives the default, below the floor gives the floor. */
export function floorRefreshRate(ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    return DEFAULT_REFRESH_MS;
  }
  return Math.max(MIN_REFRESH_MS, Math.round(ms));
}

/** How often a poll waits, in the `frequency` form of `@lumino/polling`. */
export function pollFrequency(
  interval: unknown,
  maxBackoff = MAX_BACKOFF_MS
): IPoll.Frequency {
  const floored = floorRefreshRate(interval);
  return {
    interval: floored,
    // Lumino's growth factor 3 with its random jitter: on average each failure
    // makes the next wait 1.5 times longer, capped at `max`.
    backoff: true,
    max: Math.max(maxBackoff, floored)
  };
}

export interface IPowerPollOptions {
  /**
   * One poll. Rejecting counts as a failure and makes the next wait longer
   * (up to `maxBackoff`); resolving brings the wait back to `interval`.
   */
  factory: () => Promise<void>;
  /** The normal wait between polls, in ms; floored at MIN_REFRESH_MS. */
  interval?: number;
  /** The longest wait while failing, in ms. */
  maxBackoff?: number;
  name: string;
}

/**
 * A `Poll` of `@lumino/polling` as the extension uses it: not started until
 * `start()`, backing off on failures, on standby while the page is hidden
 * (`'when-hidden'`, no lingering tick), and polling at once when the page
 * shows again so the figures are fresh when someone looks.
 */
export class PowerPoll extends Poll<void, unknown, 'standby'> {
  constructor(options: IPowerPollOptions) {
    super({
      auto: false,
      factory: options.factory,
      frequency: pollFrequency(options.interval, options.maxBackoff),
      linger: 0,
      name: options.name,
      standby: 'when-hidden'
    });
    this._maxBackoff = options.maxBackoff ?? MAX_BACKOFF_MS;
    if (typeof document !== 'undefined') {
      document.addEventListener('visibilitychange', this._onVisibility);
    }
  }

  /** Whether the poll runs (started and not stopped or disposed). */
  get isRunning(): boolean {
    const phase = this.state.phase;
    return phase !== 'constructed' && phase !== 'stopped' && phase !== 'disposed';
  }

  /** The normal wait between polls, in ms. */
  get interval(): number {
    return this.frequency.interval;
  }

  /** A new interval (floored); a running poll polls now and keeps the new rhythm. */
  set interval(ms: number) {
    const frequency = pollFrequency(ms, this._maxBackoff);
    if (frequency.interval === this.frequency.interval) {
      return;
    }
    this.frequency = frequency;
    if (this.isRunning) {
      // Lumino keeps the tick already scheduled: replace it by one now.
      void this.refresh();
    }
  }

  /**
   * Lumino draws the wait after a failure between `interval` and the last
   * wait × growth; after an immediate tick (start, refresh) the last wait is
   * 0 and the draw lands below `interval`. A failing server is never asked
   * sooner than a working one.
   */
  schedule(
    next: Partial<
      IPoll.State<void, unknown, 'standby'> & {
        cancel: (last: IPoll.State<void, unknown, 'standby'>) => boolean;
      }
    > = {}
  ): Promise<void> {
    if (
      next.phase === 'rejected' &&
      typeof next.interval === 'number' &&
      next.interval < this.frequency.interval
    ) {
      next = { ...next, interval: this.frequency.interval };
    }
    return super.schedule(next);
  }

  dispose(): void {
    if (typeof document !== 'undefined') {
      document.removeEventListener('visibilitychange', this._onVisibility);
    }
    super.dispose();
  }

  private _onVisibility = (): void => {
    // Standby resumes at the next tick, up to one interval later; a page
    // that shows again deserves current figures at once.
    if (this.isRunning && document.visibilityState !== 'hidden') {
      void this.refresh();
    }
  };

  private _maxBackoff: number;
}

/**
 * Poll now if the poll runs, and resolve once that poll has been answered
 * (lumino's `refresh()` resolves when the tick is only scheduled). A stopped
 * poll stays stopped: lumino would start it.
 */
export async function refreshPoll(poll: PowerPoll): Promise<void> {
  if (!poll.isRunning) {
    return;
  }
  await poll.refresh();
  await poll.tick.catch(() => undefined);
}

/**
 * The state of the power figures:
 * - `loading`: no answer yet;
 * - `ok`: the last poll returned a sample;
 * - `unavailable`: the engine could not start (HTTP 503); `unavailable` says why;
 * - `error`: the last poll failed (network, other HTTP error); `error` says why,
 *   and `sample` still holds the last good sample if there was one.
 */
export type Status = 'loading' | 'ok' | 'unavailable' | 'error';

export interface IPowerUsageModelOptions {
  /** Fetch the current sample: resolves to a sample or the 503 body, rejects on other errors. */
  fetchSample: () => Promise<SampleResult>;
  /** Refresh rate in ms (floored at MIN_REFRESH_MS). */
  refreshRate?: number;
  /** How many recent values to keep for the sparklines. */
  historyLength?: number;
  /** The longest wait while the server keeps failing, in ms. */
  maxBackoff?: number;
}

/** The latest power sample and a short history of recent values. */
export class PowerUsageModel {
  constructor(options: IPowerUsageModelOptions) {
    this._fetchSample = options.fetchSample;
    this._historyLength = options.historyLength ?? SPARKLINE_LENGTH;
    this._poll = new PowerPoll({
      factory: () => this._pollOnce(),
      interval: options.refreshRate,
      maxBackoff: options.maxBackoff,
      name: 'jupyter-power-usage:sample'
    });
  }

  /** Emitted after every poll, successful or not. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get status(): Status {
    return this._status;
  }

  /** The last sample received, or null. After an error it is the last good one. */
  get sample(): ISample | null {
    return this._sample;
  }

  /** The 503 body when the engine could not start. */
  get unavailable(): IUnavailable | null {
    return this._unavailable;
  }

  /** Why the last poll failed, when status is `error`. */
  get error(): string | null {
    return this._error;
  }

  get poll(): PowerPoll {
    return this._poll;
  }

  /** Refresh rate in ms; values below MIN_REFRESH_MS are raised to it. */
  get refreshRate(): number {
    return this._poll.interval;
  }
  set refreshRate(ms: number) {
    this._poll.interval = ms;
  }

  get cpu(): IPowerPart | null {
    return this._sample?.cpu ?? null;
  }

  get gpu(): IGpuPart | null {
    return this._sample?.gpu ?? null;
  }

  get emissions(): IEmissions | null {
    return this._sample?.emissions ?? null;
  }

  /** Whether the sample has a CPU figure (the `cpu` key with a numeric usage). */
  get cpuAvailable(): boolean {
    return typeof this._sample?.cpu?.usage === 'number';
  }

  /** Whether the sample has a GPU figure. */
  get gpuAvailable(): boolean {
    return typeof this._sample?.gpu?.usage === 'number';
  }

  /**
   * Whether there is nothing to show but why: the engine refused (503), or
   * a sample came with neither a CPU nor a GPU figure.
   */
  get nothingMeasured(): boolean {
    if (this._status === 'unavailable') {
      return true;
    }
    return (
      this._sample !== null && !this.cpuAvailable && !this.gpuAvailable
    );
  }

  /** Why parts are missing and how to fix it, from the sample or the 503 body. */
  get diagnostics(): IDiagnostic[] {
    if (this._status === 'unavailable') {
      return this._unavailable?.diagnostics ?? [];
    }
    return this._sample?.diagnostics ?? [];
  }

  /** The last CPU usage values in W, oldest first. */
  get cpuValues(): readonly number[] {
    return this._cpuValues;
  }

  /** The last GPU usage values in W, oldest first. */
  get gpuValues(): readonly number[] {
    return this._gpuValues;
  }

  start(): void {
    void this._poll.start();
  }

  stop(): void {
    void this._poll.stop();
  }

  /** Poll now (when started); resolves once that poll has been answered. */
  refresh(): Promise<void> {
    return refreshPoll(this._poll);
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._disposed = true;
    this._poll.dispose();
    Signal.clearData(this);
  }

  /**
   * The poll's factory: one request at a time (a refresh while one is in
   * flight shares it), rejecting when the server failed so the poll backs off.
   */
  private _pollOnce(): Promise<void> {
    if (!this._inFlight) {
      this._inFlight = this._refresh().then(ok => {
        this._inFlight = null;
        if (!ok) {
          throw new Error(this._error ?? this._unavailable?.error ?? 'unavailable');
        }
      });
    }
    return this._inFlight;
  }

  private async _refresh(): Promise<boolean> {
    let ok = true;
    try {
      const result = await this._fetchSample();
      if (result.kind === 'sample') {
        this._accept(result.sample);
      } else {
        this._status = 'unavailable';
        this._unavailable = result.body ?? {};
        this._sample = null;
        this._error = null;
        // The engine did not start; asking again at full rate will not help.
        ok = false;
      }
    } catch (reason) {
      this._status = 'error';
      this._error =
        reason instanceof Error ? reason.message : String(reason ?? 'error');
      ok = false;
    }
    if (!this.isDisposed) {
      this._changed.emit();
    }
    return ok;
  }

  private _accept(sample: ISample): void {
    const previous = this._sample;
    this._sample = sample;
    this._status = 'ok';
    this._unavailable = null;
    this._error = null;
    // The server samples on its own clock; the same sample seen twice is one point.
    const repeated =
      previous !== null &&
      sample.time !== undefined &&
      sample.time !== null &&
      previous.time === sample.time;
    if (repeated) {
      return;
    }
    this._push(this._cpuValues, sample.cpu?.usage);
    this._push(this._gpuValues, sample.gpu?.usage);
  }

  private _push(values: number[], value: unknown): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return;
    }
    values.push(value);
    if (values.length > this._historyLength) {
      values.splice(0, values.length - this._historyLength);
    }
  }

  private _fetchSample: () => Promise<SampleResult>;
  private _historyLength: number;
  private _poll: PowerPoll;
  private _inFlight: Promise<void> | null = null;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
  private _status: Status = 'loading';
  private _sample: ISample | null = null;
  private _unavailable: IUnavailable | null = null;
  private _error: string | null = null;
  private _cpuValues: number[] = [];
  private _gpuValues: number[] = [];
}
