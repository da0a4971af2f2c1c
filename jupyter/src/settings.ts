/**
 * The user settings (schema/plugin.json), read into typed values with the
 * schema's defaults. Kept free of JupyterLab imports so it is unit-tested.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { DEFAULT_REFRESH_MS, floorRefreshRate } from './model';

export const DEFAULT_CPU_LABEL = 'CPU Power';
export const DEFAULT_GPU_LABEL = 'GPU Power';

export interface IEmissionsSettings {
  source: string;
  emapsAccessToken: string;
  countryCode: string;
  refreshRate: number;
  factor: number;
}

export interface IPowerUsageSettings {
  /** Poll period in ms, floored at 1000. */
  refreshRate: number;
  indicatorBarDisabled: boolean;
  cpuLabel: string;
  gpuLabel: string;
  emissions: IEmissionsSettings;
}

export const DEFAULT_SETTINGS: IPowerUsageSettings = {
  refreshRate: DEFAULT_REFRESH_MS,
  indicatorBarDisabled: false,
  cpuLabel: DEFAULT_CPU_LABEL,
  gpuLabel: DEFAULT_GPU_LABEL,
  emissions: {
    source: '',
    emapsAccessToken: '',
    countryCode: '',
    refreshRate: 1800000,
    factor: 475
  }
};

type Composite = { [key: string]: unknown };

function objectAt(composite: Composite, key: string): Composite {
  const value = composite[key];
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Composite)
    : {};
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** Typed settings from the setting registry's composite object (a partial one is fine). */
export function readSettings(
  composite: Composite | null | undefined
): IPowerUsageSettings {
  const c = composite ?? {};
  const cpu = objectAt(c, 'cpu');
  const gpu = objectAt(c, 'gpu');
  const emissions = objectAt(c, 'emissions');
  const defaults = DEFAULT_SETTINGS.emissions;
  return {
    refreshRate: floorRefreshRate(c.refreshRate),
    indicatorBarDisabled: c.indicatorBarDisabled === true,
    cpuLabel: stringOr(cpu.label, DEFAULT_CPU_LABEL),
    gpuLabel: stringOr(gpu.label, DEFAULT_GPU_LABEL),
    emissions: {
      source: stringOr(emissions.source, defaults.source),
      emapsAccessToken: stringOr(
        emissions.emapsAccessToken,
        defaults.emapsAccessToken
      ),
      countryCode: stringOr(emissions.countryCode, defaults.countryCode),
      refreshRate: numberOr(emissions.refreshRate, defaults.refreshRate),
      factor: numberOr(emissions.factor, defaults.factor)
    }
  };
}

/** The settings in force, with a signal when the user changes them. */
export class SettingsState {
  constructor(values: IPowerUsageSettings = DEFAULT_SETTINGS) {
    this._values = values;
  }

  get values(): IPowerUsageSettings {
    return this._values;
  }

  get changed(): ISignal<this, IPowerUsageSettings> {
    return this._changed;
  }

  /** Replace the values from a composite settings object and tell the views. */
  update(composite: Composite | null | undefined): void {
    this._values = readSettings(composite);
    this._changed.emit(this._values);
  }

  private _values: IPowerUsageSettings;
  private _changed = new Signal<this, IPowerUsageSettings>(this);
}
