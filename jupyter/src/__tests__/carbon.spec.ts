import { Widget } from '@lumino/widgets';

import {
  CarbonSettingsSync,
  carbonBody,
  ignoredMessage,
  refusalMessage
} from '../carbon';
import { PowerUsageModel } from '../model';
import {
  DEFAULT_SETTINGS,
  IEmissionsSettings,
  SettingsState,
  readSettings
} from '../settings';
import { EmissionsIndicator, emissionsTooltip } from '../topbar';
import { CarbonPutResult, ICarbonSettingsBody, ISample } from '../types';

const defaults = DEFAULT_SETTINGS.emissions;

function emissions(over: Partial<IEmissionsSettings>): IEmissionsSettings {
  return { ...defaults, ...over };
}

/** A PUT that records its bodies and answers what the test queued (200 by default). */
function fakeServer() {
  const bodies: ICarbonSettingsBody[] = [];
  const answers: (CarbonPutResult | Error)[] = [];
  const put = jest.fn(async (body: ICarbonSettingsBody) => {
    bodies.push(body);
    const next = answers.shift();
    if (next instanceof Error) {
      throw next;
    }
    return (
      next ?? {
        kind: 'ok' as const,
        answer: { source: body.source || 'auto', countryCode: body.countryCode, ignored: [] }
      }
    );
  });
  const warn = jest.fn();
  const sync = new CarbonSettingsSync({ put, log: { warn } });
  return { bodies, answers, put, warn, sync };
}

describe('settings to server mapping', () => {
  it('sends the original names of the emissions settings and nothing else', () => {
    const settings = readSettings({
      emissions: {
        source: 'rte',
        countryCode: 'fr',
        factor: 300,
        emapsAccessToken: 'tok',
        refreshRate: 60000
      }
    });
    expect(carbonBody(settings.emissions)).toEqual({
      source: 'rte',
      countryCode: 'fr',
      factor: 300,
      emapsAccessToken: 'tok'
    });
  });

  it('sends the defaults as "the server settings" with the 475 factor', () => {
    expect(carbonBody(readSettings({}).emissions)).toEqual({
      source: '',
      countryCode: '',
      factor: 475,
      emapsAccessToken: ''
    });
  });

  it('trims, lower-cases the source and replaces a factor that is not a number', () => {
    const body = carbonBody(
      emissions({
        source: ' Table ',
        countryCode: ' DE ',
        factor: NaN,
        emapsAccessToken: ' abc '
      })
    );
    expect(body).toEqual({
      source: 'table',
      countryCode: 'DE',
      factor: 475,
      emapsAccessToken: 'abc'
    });
  });
});

describe('refusal messages', () => {
  it('names the setting of a 400 and does not repeat the field', () => {
    const text = refusalMessage(400, {
      error: "countryCode: 'DEU' is not an ISO 3166-1 alpha-2 country code",
      field: 'countryCode'
    });
    expect(text).toContain('emissions.countryCode');
    expect(text).toContain("'DEU' is not an ISO 3166-1");
    expect(text).not.toContain('countryCode: ');
  });

  it('says the administrator fixed the settings on a 403', () => {
    const text = refusalMessage(403, { error: 'not from the browser', field: null });
    expect(text).toContain('administrator fixed these settings');
    expect(text).toContain('not from the browser');
  });

  it('reads a 400 without a field as the whole body', () => {
    expect(refusalMessage(400, { error: 'body: not JSON', field: 'body' })).toContain(
      'HTTP 400'
    );
  });

  it('lists the fields the administrator overrode', () => {
    expect(ignoredMessage({ ignored: [] })).toBeNull();
    expect(ignoredMessage(null)).toBeNull();
    const one = ignoredMessage({ ignored: ['countryCode'] });
    expect(one).toContain('emissions.countryCode');
    expect(one).toContain('setting is not used');
    expect(ignoredMessage({ ignored: ['source', 'factor'] })).toContain(
      'emissions.source, emissions.factor'
    );
  });
});

describe('CarbonSettingsSync', () => {
  it('sends on the first call and skips an unchanged body', async () => {
    const { bodies, sync } = fakeServer();
    await sync.send(emissions({ countryCode: 'DE' }));
    expect(bodies).toHaveLength(1);
    expect(sync.state).toBe('ok');
    expect(sync.answer?.countryCode).toBe('DE');
    // refreshRate is not sent: changing it alone sends nothing.
    await sync.send(emissions({ countryCode: 'DE', refreshRate: 5 }));
    expect(bodies).toHaveLength(1);
    await sync.send(emissions({ countryCode: 'FR' }));
    expect(bodies.map(b => b.countryCode)).toEqual(['DE', 'FR']);
  });

  it('sends only the latest of the changes made during a PUT', async () => {
    const { bodies, sync } = fakeServer();
    const first = sync.send(emissions({ countryCode: 'DE' }));
    void sync.send(emissions({ countryCode: 'IT' }));
    const last = sync.send(emissions({ countryCode: 'ES' }));
    await Promise.all([first, last]);
    expect(bodies.map(b => b.countryCode)).toEqual(['DE', 'ES']);
    expect(sync.answer?.countryCode).toBe('ES');
  });

  it('reports a 400 with the field, in the console and in its message', async () => {
    const { answers, sync, warn } = fakeServer();
    answers.push({
      kind: 'refused',
      status: 400,
      body: { error: "countryCode: 'XYZ' is not two letters", field: 'countryCode' }
    });
    const changed = jest.fn();
    sync.changed.connect(changed);
    await sync.send(emissions({ countryCode: 'XYZ' }));
    expect(sync.state).toBe('refused');
    expect(sync.field).toBe('countryCode');
    expect(sync.message).toContain('emissions.countryCode');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toContain('emissions.countryCode');
    expect(changed).toHaveBeenCalled();
    // Fixed: the message goes away.
    await sync.send(emissions({ countryCode: 'DE' }));
    expect(sync.state).toBe('ok');
    expect(sync.message).toBeNull();
  });

  it('reports a 403 as fixed by the administrator', async () => {
    const { answers, sync, warn } = fakeServer();
    answers.push({ kind: 'refused', status: 403, body: { error: 'no', field: null } });
    await sync.send(emissions({ source: 'table' }));
    expect(sync.state).toBe('refused');
    expect(sync.field).toBeNull();
    expect(sync.message).toContain('administrator fixed these settings');
    expect(warn.mock.calls[0][0]).toContain('administrator');
  });

  it('never logs the token', async () => {
    const { answers, sync, warn } = fakeServer();
    answers.push({
      kind: 'refused',
      status: 400,
      body: { error: 'emapsAccessToken: not a token', field: 'emapsAccessToken' }
    });
    await sync.send(emissions({ source: 'emaps', emapsAccessToken: 'SECRET-123' }));
    expect(warn.mock.calls.flat().join(' ')).not.toContain('SECRET-123');
    expect(sync.message).not.toContain('SECRET-123');
  });

  it('tries an unchanged body again after a network error, and resends when asked', async () => {
    const { answers, bodies, sync } = fakeServer();
    answers.push(new Error('Failed to fetch'));
    await sync.send(emissions({ countryCode: 'DE' }));
    expect(sync.state).toBe('error');
    expect(sync.message).toContain('Failed to fetch');
    await sync.send(emissions({ countryCode: 'DE' }));
    expect(sync.state).toBe('ok');
    await sync.resend();
    expect(bodies).toHaveLength(3);
    expect(bodies[2].countryCode).toBe('DE');
  });

  it('notes the fields the server ignored', async () => {
    const { answers, sync } = fakeServer();
    answers.push({ kind: 'ok', answer: { countryCode: 'FR', ignored: ['countryCode'] } });
    await sync.send(emissions({ countryCode: 'DE' }));
    expect(sync.state).toBe('ok');
    expect(sync.message).toContain('administrator fixed emissions.countryCode');
  });
});

describe('emissions tooltip', () => {
  const live = {
    g: 0.0421,
    intensity_g_per_kwh: 56.4,
    source: 'rte',
    zone: 'FR',
    basis: 'direct',
    time: '2026-11-25T12:00:00Z',
    stale: false,
    estimated: false,
    pue: 1
  };

  it('shows grams, intensity in g/kWh, source, zone, basis and data time', () => {
    const text = emissionsTooltip({ emissions: live, scope: 'process', energyJ: 3600 });
    const lines = text.split('\n');
    expect(lines[0]).toBe('Emissions so far: 42.1 mg CO₂e (scope: process)');
    expect(lines).toContain('Carbon intensity: 56.4 gCO₂e/kWh');
    expect(lines).toContain('Source: rte');
    expect(lines).toContain('Zone: FR');
    expect(text).toMatch(/^Basis: direct: CO₂ from burning fuel/m);
    expect(text).toContain(`Data time: ${new Date(live.time).toLocaleString()}`);
    expect(lines).toContain('Energy so far: 1.00 Wh');
    expect(text).not.toContain('Stale');
    expect(text).not.toContain('PUE');
  });

  it('says when the intensity is stale, estimated, or multiplied by a PUE', () => {
    const text = emissionsTooltip({
      emissions: { ...live, basis: 'lifecycle', stale: true, estimated: true, pue: 1.4 }
    });
    expect(text).toContain('Carbon intensity: 56.4 gCO₂e/kWh (estimated)');
    expect(text).toMatch(/^Stale: /m);
    expect(text).toMatch(/^Estimated: /m);
    expect(text).toContain('Basis: lifecycle: CO₂-equivalent');
    expect(text).toContain('PUE: 1.40');
  });

  it('names the country table\'s yearly figure "2024 annual average", not a date', () => {
    const text = emissionsTooltip({
      emissions: {
        ...live,
        source: 'table',
        basis: 'lifecycle',
        time: '2024-01-01T00:00:00.000Z',
        estimated: true
      }
    });
    expect(text.split('\n')).toContain('Data time: 2024 annual average');
    expect(text).not.toContain(new Date('2024-01-01T00:00:00.000Z').toLocaleString());
  });

  it('explains a missing figure and carries the settings message', () => {
    const text = emissionsTooltip({
      emissions: null,
      settingsMessage: 'Carbon setting emissions.countryCode refused by the server: bad.'
    });
    expect(text).toMatch(/^No emissions figure yet/);
    expect(text).toContain('⚠ Carbon setting emissions.countryCode refused');
  });
});

describe('EmissionsIndicator', () => {
  beforeEach(() => {
    jest.useFakeTimers();
    document.body.innerHTML = '';
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  const sample: ISample = {
    time: 't1',
    scope: 'user',
    cpu: { usage: 10, source: 'rapl' },
    energy_j: { total: 7200 },
    emissions: {
      g: 12.34,
      intensity_g_per_kwh: 380,
      source: 'table',
      zone: 'DE',
      basis: 'lifecycle',
      time: '2024-01-01T00:00:00Z',
      stale: true,
      estimated: true
    }
  };

  async function setup(put: (b: ICarbonSettingsBody) => Promise<CarbonPutResult>) {
    const model = new PowerUsageModel({
      fetchSample: async () => ({ kind: 'sample', sample }),
      refreshRate: 1000
    });
    const carbon = new CarbonSettingsSync({ put, log: { warn: jest.fn() } });
    const item = new EmissionsIndicator({
      model,
      settings: new SettingsState(),
      carbon
    });
    Widget.attach(item, document.body);
    model.start();
    await jest.advanceTimersByTimeAsync(0);
    return { model, carbon, item };
  }

  it('shows the server grams and their provenance, marked stale and estimated', async () => {
    const { item } = await setup(async () => ({ kind: 'ok', answer: {} }));
    expect(item.node.querySelector('.jp-PowerUsage-value')?.textContent).toBe('12.3 g');
    expect(item.hasClass('jp-PowerUsage-stale')).toBe(true);
    expect(item.hasClass('jp-PowerUsage-estimated')).toBe(true);
    expect(item.node.title).toContain('Zone: DE');
    expect(item.node.title).toContain('Source: table');
    expect(item.node.title).toContain('Carbon intensity: 380 gCO₂e/kWh');
    expect(item.node.title).toContain('Energy so far: 2.00 Wh');
    expect((item.node.querySelector('.jp-PowerUsage-warning') as HTMLElement).hidden).toBe(
      true
    );
  });

  it('shows a refused setting in the tooltip with a warning mark', async () => {
    const { carbon, item } = await setup(async () => ({
      kind: 'refused',
      status: 400,
      body: { error: 'factor: 5000 is outside 0..3000', field: 'factor' }
    }));
    await carbon.send(emissions({ source: 'constant', factor: 5000 }));
    expect(item.hasClass('jp-PowerUsage-settingsProblem')).toBe(true);
    expect((item.node.querySelector('.jp-PowerUsage-warning') as HTMLElement).hidden).toBe(
      false
    );
    expect(item.node.title).toContain(
      '⚠ Carbon setting emissions.factor refused by the server: 5000 is outside 0..3000'
    );
    // The grams are still the server's.
    expect(item.node.querySelector('.jp-PowerUsage-value')?.textContent).toBe('12.3 g');
  });
});
