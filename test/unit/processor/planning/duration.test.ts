import assert from 'node:assert/strict';
import { DurationError, parseDuration } from '../../../../functions/processor/planning/duration.js';

describe('processor/planning/duration', () => {
  const valid: Array<[string, number]> = [
    ['PT6H', 6 * 3_600_000],
    ['P1D', 86_400_000],
    ['P1DT12H', 36 * 3_600_000],
    ['PT90M', 90 * 60_000],
    ['PT30S', 30_000],
    ['PT1.5S', 1500],
    ['PT0,25S', 250],
    ['P2W', 14 * 86_400_000],
    ['P1DT1H1M1S', 90_061_000],
  ];
  for (const [text, ms] of valid) it(`${text} is ${ms} ms`, () => assert.equal(parseDuration(text), ms));

  const invalid: Array<[string, RegExp]> = [
    ['P1M', /years or months/],
    ['P1Y', /years or months/],
    ['P1Y2DT3H', /years or months/],
    ['6h', /not an ISO 8601 duration/],
    ['PT', /not an ISO 8601 duration/],
    ['P', /not an ISO 8601 duration/],
    ['P1DT', /not an ISO 8601 duration/],
    ['PT1H30', /not an ISO 8601 duration/],
    ['PT-1H', /not an ISO 8601 duration/],
    ['P1H', /not an ISO 8601 duration/],
    ['PT0S', /is zero/],
    ['P400D', /longer than 366 days/],
  ];
  for (const [text, message] of invalid) {
    it(`refuses ${text}`, () => assert.throws(() => parseDuration(text), (e: unknown) => e instanceof DurationError && message.test(e.message)));
  }

  it('PT1M is a minute, not a month', () => assert.equal(parseDuration('PT1M'), 60_000));
});
