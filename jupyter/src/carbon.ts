/**
 * The front end's carbon settings go to our own server, never to a third
 * party: `PUT /api/metrics/v1/power_usage/carbon` with the original
 * extension's `emissions` names (docs/carbon.md, "Jupyter"). The server's
 * engine does the fetching and the integration, once per server however many
 * tabs are open. Nothing here imports JupyterLab: the PUT is passed in, so
 * the unit tests drive it with plain functions.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { IEmissionsSettings } from './settings';
import {
  CarbonPutResult,
  ICarbonAnswer,
  ICarbonRefusal,
  ICarbonSettingsBody
} from './types';

/** The schema's default for `emissions.factor` (IEA 2018 world average, the original's). */
export const DEFAULT_FACTOR = 475;

/** Where the settings live in the Settings Editor, for messages. */
export function settingName(field: string): string {
  return `emissions.${field}`;
}

/**
 * The PUT body for the `emissions` settings. Only the four fields the server
 * knows are sent (`refreshRate` is the server's business now); strings are
 * trimmed, the source lower-cased (the schema's values are), and a factor
 * that is not a number falls back to the default. The country's case is left
 * to the server, which reads the original's "fr" as FR.
 */
export function carbonBody(emissions: IEmissionsSettings): ICarbonSettingsBody {
  const factor =
    typeof emissions.factor === 'number' && Number.isFinite(emissions.factor)
      ? emissions.factor
      : DEFAULT_FACTOR;
  return {
    source: (emissions.source ?? '').trim().toLowerCase(),
    countryCode: (emissions.countryCode ?? '').trim(),
    factor,
    emapsAccessToken: (emissions.emapsAccessToken ?? '').trim()
  };
}

/** The message for a 400 or 403 answer: what was refused and what to do. */
export function refusalMessage(status: number, body: ICarbonRefusal): string {
  const why = body.error ?? body.message ?? '';
  if (status === 403) {
    return (
      'Carbon settings not applied: the administrator fixed these settings on ' +
      'the server; the figures use the server configuration' +
      (why ? ` (${why}).` : '.')
    );
  }
  if (body.field && body.field !== 'body') {
    // The server's message starts with the field's name: do not say it twice.
    const detail = why.startsWith(`${body.field}: `)
      ? why.slice(body.field.length + 2)
      : why;
    return (
      `Carbon setting ${settingName(body.field)} refused by the server: ` +
      `${detail || 'invalid value'}. Fix it in the Settings Editor ` +
      '(Power Usage Monitor); the server keeps its previous settings.'
    );
  }
  return (
    `Carbon settings refused by the server (HTTP ${status})` +
    (why ? `: ${why}` : '') +
    '; the server keeps its previous settings.'
  );
}

/** A note for the fields the administrator's settings overrode, or null. */
export function ignoredMessage(answer: ICarbonAnswer | null): string | null {
  const ignored = answer?.ignored ?? [];
  if (!ignored.length) {
    return null;
  }
  const names = ignored.map(settingName).join(', ');
  return (
    `The administrator fixed ${names} on the server: ` +
    `your ${ignored.length > 1 ? 'settings are' : 'setting is'} not used.`
  );
}

/**
 * - `idle`: nothing sent yet;
 * - `pending`: a PUT is on its way;
 * - `ok`: the server took the settings (some fields may be `ignored`);
 * - `refused`: 400 or 403; `message` says which field or that the administrator fixed them;
 * - `error`: the PUT failed otherwise (network, 5xx); it is tried again on the next change
 *   or when the server answers again.
 */
export type CarbonSyncState = 'idle' | 'pending' | 'ok' | 'refused' | 'error';

export interface ICarbonSyncOptions {
  put: (body: ICarbonSettingsBody) => Promise<CarbonPutResult>;
  /** Where problems are reported; the browser console by default. */
  log?: Pick<Console, 'warn'>;
}

/**
 * Sends the settings on load and on every change, one PUT at a time: a
 * change made while a PUT is in flight is sent after it, and only the latest
 * one. A body identical to the last one sent is not sent again unless forced.
 */
export class CarbonSettingsSync {
  constructor(options: ICarbonSyncOptions) {
    this._put = options.put;
    this._log = options.log ?? console;
  }

  /** Emitted when the state, the answer or the message changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get state(): CarbonSyncState {
    return this._state;
  }

  /** The server's last 200 answer: the settings in force (token only as "set"). */
  get answer(): ICarbonAnswer | null {
    return this._answer;
  }

  /** Why the last PUT failed, or what of it the server ignored; null when all is well. */
  get message(): string | null {
    return this._message;
  }

  /** The field the server named in its last 400, if any. */
  get field(): string | null {
    return this._field;
  }

  /**
   * Hand `emissions` to the server. Resolves when it (or a later body) has
   * been answered. `force` sends even an unchanged body (after the server
   * came back: a restarted server has forgotten the browser's settings).
   */
  send(emissions: IEmissionsSettings, force = false): Promise<void> {
    const body = carbonBody(emissions);
    const key = JSON.stringify(body);
    if (!force && key === this._lastKey && this._state !== 'error') {
      return this._flight ?? Promise.resolve();
    }
    this._lastKey = key;
    this._lastSettings = emissions;
    this._next = body;
    if (!this._flight) {
      this._flight = this._drain().finally(() => {
        this._flight = null;
      });
    }
    return this._flight;
  }

  /** Send the last settings again (the server restarted or came back). */
  resend(): Promise<void> {
    if (this._lastSettings === null) {
      return Promise.resolve();
    }
    return this.send(this._lastSettings, true);
  }

  dispose(): void {
    Signal.clearData(this);
  }

  private async _drain(): Promise<void> {
    while (this._next) {
      const body = this._next;
      this._next = null;
      this._set('pending', this._message, this._field);
      try {
        const result = await this._put(body);
        if (result.kind === 'ok') {
          this._answer = result.answer;
          this._set('ok', ignoredMessage(result.answer), null);
        } else {
          const message = refusalMessage(result.status, result.body);
          this._log.warn(`jupyter-power-usage: ${message}`);
          this._set(
            'refused',
            message,
            result.status === 400 ? (result.body.field ?? null) : null
          );
        }
      } catch (reason) {
        const why = reason instanceof Error ? reason.message : String(reason);
        const message = `Carbon settings could not be sent to the server: ${why}`;
        this._log.warn(`jupyter-power-usage: ${message}`);
        this._set('error', message, null);
      }
    }
  }

  private _set(
    state: CarbonSyncState,
    message: string | null,
    field: string | null
  ): void {
    this._state = state;
    this._message = message;
    this._field = field;
    this._changed.emit();
  }

  private _put: (body: ICarbonSettingsBody) => Promise<CarbonPutResult>;
  private _log: Pick<Console, 'warn'>;
  private _changed = new Signal<this, void>(this);
  private _state: CarbonSyncState = 'idle';
  private _answer: ICarbonAnswer | null = null;
  private _message: string | null = null;
  private _field: string | null = null;
  private _lastKey: string | null = null;
  private _lastSettings: IEmissionsSettings | null = null;
  private _next: ICarbonSettingsBody | null = null;
  private _flight: Promise<void> | null = null;
}
