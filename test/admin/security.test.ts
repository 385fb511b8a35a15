import { describe, expect, it } from 'vitest';
import { adminTokenTooShort, loadConfig } from '../../src/config.js';
import { describeEachStore } from '../helpers/each-store.js';

/** The management API's token: 32 bytes or more, or the management API stays off. */

describe('the admin token', () => {
  it('a LOYALTY_ADMIN_TOKEN shorter than 32 bytes is noticed, and does not stop the server', () => {
    const short = loadConfig({ LOYALTY_ADMIN_TOKEN: 'x'.repeat(31) });
    expect(adminTokenTooShort(short)).toBe(true);
    const long = loadConfig({ LOYALTY_ADMIN_TOKEN: 'x'.repeat(32) });
    expect(long.adminToken).toBe('x'.repeat(32));
    expect(adminTokenTooShort(long)).toBe(false);
    expect(adminTokenTooShort(loadConfig({}))).toBe(false);
  });
});

const short = 'short-admin-token-31-bytes-long!'.slice(0, 31);

describeEachStore(
  'a short admin token given in code leaves the management API off',
  { config: { adminToken: short } },
  (t) => {
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
  },
);
