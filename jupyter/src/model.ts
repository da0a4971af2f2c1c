/**
 * The data side of the extension: a poller that respects the page's visibility
 * and backs off on errors, and the model of the latest power sample that the
 * top-bar views render. Nothing here touches the DOM beyond reading
 * `document.visibilityState`, and nothing imports JupyterLab: the server calls
 * are passed in, so the unit tests drive the model with plain functions.
 */
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

export interface IPollerOptions {
  /**
   * One poll. Resolving to `false` or rejecting counts as a failure and makes
   * the next wait longer; anything else resets the wait to `interval`.
   */
  tick: () => Promise<boolean | void>;
  /** The normal wait between polls, in ms; floored at MIN_REFRESH_MS. */
  interval?: number;
  /** The longest wait while failing, in ms. */
  maxInterval?: number;
  /** The page whose visibility is followed; null to ignore visibility. */
  document?: Document | null;
}

/**
 * Calls `tick` every `interval` ms while started and while the page is
 * visible. After n failures in a row it waits interval × 2^n, at most
 * `maxInterval`. A hidden page stops the timer; when the page shows again a
 * poll runs at once and the rhythm resumes. Only one tick runs at a time.
 */
export class Poller {
  constructor(options: IPollerOptions) {
    this._tick = options.tick;
    this._interval = floorRefreshRate(options.interval ?? DEFAULT_REFRESH_MS);
    this._maxInterval = options.maxInterval ?? MAX_BACKOFF_MS;
    this._document =
      options.document === undefined
        ? typeof document === 'undefined'
          ? null
          : document
        : options.document;
    if (this._document) {
      this._document.addEventListener(
        'visibilitychange',
        this._onVisibilityChange
      );
    }
  }

  /** The normal wait between polls, in ms. Setting it floors it and reschedules. */
  get interval(): number {
    return this._interval;
  }
  set interval(ms: number) {
    const value = floorRefreshRate(ms);
    if (value === this._interval) {
      return;
    }
    this._interval = value;
    if (this._timer !== null) {
      this._schedule();
    }
  }

  /** How many polls failed in a row. */
  get failures(): number {
    return this._failures;
  }

  /** The wait before the next poll, in ms: the interval, or more while failing. */
  get delay(): number {
    if (this._failures === 0) {
      return this._interval;
    }
    const backoff = this._interval * Math.pow(2, this._failures);
    return Math.min(Math.max(this._maxInterval, this._interval), backoff);
  }

  /** Whether the poller is started (it may still be waiting for the page to show). */
  get isStarted(): boolean {
    return this._started;
  }

  /** Whether a poll is scheduled: started, visible, not disposed. */
  get isScheduled(): boolean {
    return this._timer !== null;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Start polling: one poll now (if the page is visible), then every interval. */
  start(): void {
    if (this._disposed || this._started) {
      return;
    }
    this._started = true;
    if (this._visible()) {
      void this._run();
    }
  }

  /** Stop polling; a poll in flight completes but schedules nothing. */
  stop(): void {
    this._started = false;
    this._clear();
  }

  /** Poll now (if started and visible), then continue the rhythm from here. */
  refresh(): Promise<void> {
    if (!this._started || !this._visible()) {
      return Promise.resolve();
    }
    return this._run();
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this.stop();
    if (this._document) {
      this._document.removeEventListener(
        'visibilitychange',
        this._onVisibilityChange
      );
    }
  }

  private _visible(): boolean {
    return !this._document || this._document.visibilityState !== 'hidden';
  }

  private _run(): Promise<void> {
    if (this._inFlight) {
      return this._inFlight;
    }
    this._clear();
    this._inFlight = (async () => {
      let ok: boolean;
      try {
        ok = (await this._tick()) !== false;
      } catch (reason) {
        ok = false;
      }
      this._failures = ok ? 0 : this._failures + 1;
      this._inFlight = null;
      if (this._started && !this._disposed && this._visible()) {
        this._schedule();
      }
    })();
    return this._inFlight;
  }

  private _schedule(): void {
    this._clear();
    this._timer = setTimeout(() => {
      this._timer = null;
      void this._run();
    }, this.delay);
  }

  private _clear(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _onVisibilityChange = (): void => {
    if (!this._started || this._disposed) {
      return;
    }
    if (this._visible()) {
      // Back from hidden: show fresh numbers at once.
      void this._run();
    } else {
      this._clear();
    }
  };

  private _tick: () => Promise<boolean | void>;
  private _interval: number;
  private _maxInterval: number;
  private _document: Document | null;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _inFlight: Promise<void> | null = null;
  private _failures = 0;
  private _started = false;
  private _disposed = false;
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
  maxBackoff?: number;
  document?: Document | null;
}

/** The latest power sample and a short history of recent values. */
export class PowerUsageModel {
  constructor(options: IPowerUsageModelOptions) {
    this._fetchSample = options.fetchSample;
    this._historyLength = options.historyLength ?? SPARKLINE_LENGTH;
    this._poller = new Poller({
      tick: () => this._refresh(),
      interval: options.refreshRate,
      maxInterval: options.maxBackoff,
      document: options.document
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

  get poller(): Poller {
    return this._poller;
  }

  /** Refresh rate in ms; values below MIN_REFRESH_MS are raised to it. */
  get refreshRate(): number {
    return this._poller.interval;
  }
  set refreshRate(ms: number) {
    this._poller.interval = ms;
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
    this._poller.start();
  }

  stop(): void {
    this._poller.stop();
  }

  /** Poll now. */
  refresh(): Promise<void> {
    return this._poller.refresh();
  }

  get isDisposed(): boolean {
    return this._poller.isDisposed;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._poller.dispose();
    Signal.clearData(this);
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
  private _poller: Poller;
  private _changed = new Signal<this, void>(this);
  private _status: Status = 'loading';
  private _sample: ISample | null = null;
  private _unavailable: IUnavailable | null = null;
  private _error: string | null = null;
  private _cpuValues: number[] = [];
  private _gpuValues: number[] = [];
}
