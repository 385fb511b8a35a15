import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { STORES } from './helpers/stores.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

/** The management API's token: 32 bytes or more, or the management API stays off. */

describe('the admin token', () => {
  it('a LOYALTY_ADMIN_TOKEN shorter than 32 bytes stops the server with a message', () => {
    expect(() => loadConfig({ LOYALTY_ADMIN_TOKEN: 'x'.repeat(31) })).toThrow(ConfigError);
    expect(() => loadConfig({ LOYALTY_ADMIN_TOKEN: 'x'.repeat(31) })).toThrow(
      /LOYALTY_ADMIN_TOKEN must be at least 32 bytes long/,
    );
    expect(loadConfig({ LOYALTY_ADMIN_TOKEN: 'x'.repeat(32) }).adminToken).toBe('x'.repeat(32));
    expect(loadConfig({}).adminToken).toBeUndefined();
  });
});

for (const kind of STORES) {
  describe(`a short admin token given in code leaves the management API off on ${kind}`, () => {
    const short = 'short-admin-token-31-bytes-long!'.slice(0, 31);
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(kind, { config: { adminToken: short } });
    });
    afterAll(() => t?.close());

    it('answers 401 even to the right token', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/admin/v1/orgs',
        headers: { authorization: `Bearer ${short}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ name: 'Nope' }),
      });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: { code: 'unauthorized' } });
      expect(res.headers['www-authenticate']).toBe('Bearer');
    });
  });
}
