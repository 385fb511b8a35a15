import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EVENTS_CONFIG } from '../../src/config.js';
import { createSender } from '../../src/events/delivery.http.js';
import { checkWebhookUrl, isPrivateAddress, UnsafeUrl } from '../../src/events/url-guard.js';
import { STORES } from '../helpers/stores.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { newOrg } from './helpers.js';
import { type Receiver, startReceiver } from './receiver.js';

describe('webhook targets', () => {
  it('knows loopback, private, link-local, metadata and reserved addresses', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fd00:ec2::254',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '64:ff9b::a9fe:a9fe',
    ])
      expect(isPrivateAddress(address), address).toBe(true);
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])
      expect(isPrivateAddress(address), address).toBe(false);
  });

  it('refuses http and private targets unless they are allowed', async () => {
    for (const url of [
      'http://example.com/hook',
      'https://127.0.0.1/hook',
      'https://10.0.0.5/hook',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]:8443/hook',
      'https://[::ffff:127.0.0.1]/hook',
      'https://localhost/hook',
      'https://user:pw@example.com/hook',
      'not a url',
    ])
      await expect(checkWebhookUrl(url, false), url).rejects.toBeInstanceOf(UnsafeUrl);
    await expect(checkWebhookUrl('http://127.0.0.1:9/hook', true)).resolves.toBeInstanceOf(URL);
    await expect(checkWebhookUrl('https://93.184.216.34/hook', false)).resolves.toBeInstanceOf(URL);
  });
});

describe('delivery to a private target', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver?.close());

  it('is refused at the moment of sending unless allowed, even for a URL stored earlier', async () => {
    receiver.secret('x', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    const sender = createSender({ timeoutMs: 1_000, allowPrivate: false, pipelining: 4 });
    const url = receiver.url('x').replace('http:', 'https:');
    expect(await sender.post('wh_1', url, {}, '{}')).toStrictEqual({
      error: expect.stringContaining('127.0.0.1'),
    });
    // A name is looked up and checked when the connection is made: localhost is 127.0.0.1.
    expect(await sender.post('wh_2', url.replace('127.0.0.1', 'localhost'), {}, '{}')).toStrictEqual({
      error: expect.stringMatching(/url resolves to (127\.0\.0\.1|::1), a loopback/),
    });
    await sender.close();
    expect(receiver.received).toHaveLength(0);
  });
});

for (const kind of STORES) {
  describe(`webhook URLs in the management API on ${kind}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(kind, { config: { events: { ...DEFAULT_EVENTS_CONFIG, deliver: false } } });
    });
    afterAll(() => t?.close());

    it('refuses http and private targets by default with 400 naming url', async () => {
      const orgId = await newOrg(t);
      for (const url of [
        'http://example.com/hook',
        'https://127.0.0.1/hook',
        'https://[::1]/x',
        'https://localhost/x',
      ]) {
        const res = await t.admin('POST', `/admin/v1/orgs/${orgId}/webhooks`, { url });
        expect(res.status, url).toBe(400);
        expect(res.body.error.field).toBe('url');
      }
      const ok = await t.admin('POST', `/admin/v1/orgs/${orgId}/webhooks`, {
        url: 'https://93.184.216.34/hook',
      });
      expect(ok.status).toBe(201);
      const patched = await t.admin('PATCH', `/admin/v1/orgs/${orgId}/webhooks/${ok.body.id}`, {
        url: 'https://192.168.0.10/hook',
      });
      expect(patched.status).toBe(400);
      expect(patched.body.error.field).toBe('url');
    });
  });
}
