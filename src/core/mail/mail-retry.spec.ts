import { QueryFailedError } from 'typeorm';
import { describeFailure, MAX_RETRY_DELAY_MS, retryDelayMs } from './mail-retry';

describe('mail retries', () => {
  it('back off from 1 s, doubling, up to 5 min', () => {
    expect([1, 2, 3, 4].map(retryDelayMs)).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(retryDelayMs(9)).toBe(256_000);
    expect(retryDelayMs(10)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(1_000)).toBe(MAX_RETRY_DELAY_MS);
  });

  it("keep a database error's codes, never its SQL or values", () => {
    const driverError = Object.assign(new Error("Duplicate entry 'secret-token-hash' for key 'PRIMARY'"), {
      code: 'ER_DUP_ENTRY',
      errno: 1062,
    });
    const error = new QueryFailedError('INSERT INTO one_time_tokens VALUES (?)', ['secret-token-hash'], driverError);
    const text = describeFailure(error);
    expect(text).toBe('database error QueryFailedError ER_DUP_ENTRY');
    expect(text).not.toContain('secret');
  });

  it('keep a short message and cut a long one to the column', () => {
    expect(describeFailure(new Error('SMTP ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:2525'))).toBe(
      'SMTP ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:2525',
    );
    const long = describeFailure(new Error('x'.repeat(2_000)));
    expect(long).toHaveLength(500);
    expect(long.endsWith('…')).toBe(true);
  });
});
