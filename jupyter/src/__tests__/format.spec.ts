import {
  MISSING,
  annualAverageYear,
  formatEnergy,
  formatIntensityTime,
  formatIntensity,
  formatMass,
  formatNumber,
  formatPercent,
  formatPower,
  formatTime
} from '../format';

describe('formatNumber', () => {
  it.each([
    [0, '0'],
    [3.14159, '3.14'],
    [12.345, '12.3'],
    [187.4, '187'],
    [-2.5, '-2.50'],
    [-0.001, '0.00']
  ])('%p -> %p', (value, text) => {
    expect(formatNumber(value)).toBe(text);
  });
});

describe('formatPower', () => {
  it.each([
    [0, '0 W'],
    [0.42, '0.42 W'],
    [0.005, '5.00 mW'],
    [3.4567, '3.46 W'],
    [12.34, '12.3 W'],
    [187.4, '187 W'],
    [999.6, '1.00 kW'],
    [1250, '1.25 kW'],
    [0.0000001, '<0.01 mW']
  ])('%p W -> %p', (watts, text) => {
    expect(formatPower(watts)).toBe(text);
  });

  it('says unknown for missing values, never 0', () => {
    expect(formatPower(undefined)).toBe(MISSING);
    expect(formatPower(null)).toBe(MISSING);
    expect(formatPower(NaN)).toBe(MISSING);
    expect(formatPower(Infinity)).toBe(MISSING);
  });
});

describe('formatEnergy', () => {
  it.each([
    [0, '0 Wh'],
    [36, '10.0 mWh'],
    [3600, '1.00 Wh'],
    [9000, '2.50 Wh'],
    [360000, '100 Wh'],
    [3.6e6, '1.00 kWh'],
    [5.4e7, '15.0 kWh'],
    [3.6e9, '1.00 MWh']
  ])('%p J -> %p', (joules, text) => {
    expect(formatEnergy(joules)).toBe(text);
  });

  it('says unknown for missing values', () => {
    expect(formatEnergy(undefined)).toBe(MISSING);
  });
});

describe('formatMass', () => {
  it.each([
    [0, '0 g'],
    [0.0004, '0.40 mg'],
    [0.0123, '12.3 mg'],
    [0.5, '500 mg'],
    [0.9999, '1.00 g'],
    [1.5, '1.50 g'],
    [250, '250 g'],
    [1234, '1.23 kg'],
    [2.5e6, '2.50 t'],
    [1e-7, '<0.01 mg']
  ])('%p g -> %p', (grams, text) => {
    expect(formatMass(grams)).toBe(text);
  });

  it('says unknown for missing values', () => {
    expect(formatMass(null)).toBe(MISSING);
  });
});

describe('other formats', () => {
  it('formats intensity', () => {
    expect(formatIntensity(56.4)).toBe('56.4 gCO₂e/kWh');
    expect(formatIntensity(undefined)).toBe(MISSING);
  });

  it('formats shares as percentages', () => {
    expect(formatPercent(0.4213)).toBe('42 %');
    expect(formatPercent(0.035)).toBe('3.5 %');
    expect(formatPercent(0)).toBe('0 %');
    expect(formatPercent(undefined)).toBe(MISSING);
  });

  it('formats times and rejects invalid ones', () => {
    expect(formatTime('2026-11-25T12:00:00.000Z')).not.toBe(MISSING);
    expect(formatTime('not a date')).toBe(MISSING);
    expect(formatTime(null)).toBe(MISSING);
  });
});

describe('formatIntensityTime', () => {
  // The country table's figure as the engine writes it (tests/golden/*.json).
  const table = {
    source: 'table',
    zone: 'FR',
    basis: 'lifecycle',
    time: '2024-01-01T00:00:00.000Z',
    estimated: true
  };

  it('says "2024 annual average" for a yearly country figure, not a date', () => {
    expect(annualAverageYear(table)).toBe(2024);
    expect(formatIntensityTime(table)).toBe('2024 annual average');
    expect(formatIntensityTime(table)).not.toMatch(/1\/1\/2024|12:00:00/);
  });

  it('knows a yearly figure by its time at the start of a year when it is estimated', () => {
    expect(formatIntensityTime({ source: 'other', time: '2023-01-01T00:00:00Z', estimated: true })).toBe(
      '2023 annual average'
    );
  });

  it('gives a live provider figure its data time', () => {
    const live = { source: 'rte', time: '2026-11-25T12:00:00.000Z', estimated: false };
    expect(annualAverageYear(live)).toBeNull();
    expect(formatIntensityTime(live)).toBe(formatTime(live.time));
    // A live figure that happens to fall on New Year's midnight is still a moment.
    const midnight = { source: 'gb', time: '2026-01-01T00:00:00.000Z', estimated: false };
    expect(formatIntensityTime(midnight)).toBe(formatTime(midnight.time));
  });

  it('shows a dash when there is no time', () => {
    expect(formatIntensityTime({ source: 'constant', time: null, estimated: true })).toBe(MISSING);
    expect(formatIntensityTime({ source: 'table', time: 'garbage' })).toBe(MISSING);
  });
});
