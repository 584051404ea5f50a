import { describe, expect, it } from 'vitest';
import { parseGoDuration } from './duration.js';

describe('parseGoDuration', () => {
  it.each([
    ['8760h0m0s', 8760 * 3_600_000],
    ['1h30m', 90 * 60_000],
    ['720h', 720 * 3_600_000],
    ['1.5s', 1500],
    ['500ms', 500],
    ['0', 0],
    ['-2m', -120_000],
  ])('%s', (text, ms) => expect(parseGoDuration(text)).toBe(ms));

  it.each(['', 'h', '1d', '10', '1h 30m', 'abc'])('rejects %j', (text) => expect(() => parseGoDuration(text)).toThrow(/invalid duration/));
});
