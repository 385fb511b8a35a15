import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { DEFAULT_EVENTS_CONFIG } from '../../src/config.js';
import { describeEachStore } from '../helpers/each-store.js';
import { seedStandardOrg } from '../helpers/fixtures.js';

// The server serves the console's built files: build them when missing or older than their sources.
execFileSync(process.execPath, ['scripts/build-if-stale.mjs'], { stdio: 'inherit' });

const CHROMIUM = '/usr/bin/chromium';
type Frames = { requestAnimationFrame: (next: () => void) => void };
const PASSWORD = 'console password of the test';
const PAGES = ['Overview', 'Promotions', 'Customers', 'Jobs', 'Credentials', 'Webhooks', 'Audit log'];
// The README's pictures are refreshed with `npm run screenshots`; any other run writes them to a
// temporary folder, so that a test run leaves the checkout as it was.
const SCREENSHOTS =
  process.env.CONSOLE_SCREENSHOTS_DIR ?? mkdtempSync(path.join(tmpdir(), 'console-screens-'));

let browser: Browser;
beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  if (!process.env.CONSOLE_SCREENSHOTS_DIR) rmSync(SCREENSHOTS, { recursive: true, force: true });
});

const clock = fixedClock(Date.now());

describeEachStore(
  'console in a browser',
  {
    clock,
    // No delivery: the webhook the screenshots show names an address this machine cannot reach.
    config: { consoleIdleMinutes: 30, events: { ...DEFAULT_EVENTS_CONFIG, deliver: false } },
    timeout: 240_000,
  },
  (t, kind) => {
    let base = '';
    let orgId = 0;
    let programId = 0;
    let promotionId = 0;
    let customerIds: number[] = [];
    const admin = `admin-${kind}`;
    const operator = `operator-${kind}`;
    const viewer = `viewer-${kind}`;

    beforeAll(async () => {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const address = t.app.server.address();
      base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      const org = await seedStandardOrg(t, 1000);
      orgId = org.orgId;
      programId = org.programId;
      promotionId = org.promotions.enrolAndIssue;
      customerIds = org.customers.map((c) => c.id);
      for (const [username, role] of [
        [admin, 'admin'],
        [operator, 'operator'],
        [viewer, 'viewer'],
      ]) {
        expect(
          (await t.admin('POST', '/admin/v1/users', { username, password: PASSWORD, role })).status,
        ).toBe(201);
      }
    });

    async function signedIn(username: string): Promise<Page> {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.goto(`${base}/`);
      await page.getByLabel('Username').fill(username);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => page.getByRole('link', { name: 'Overview' }).count()).toBe(1);
      return page;
    }

    async function open(page: Page, name: string): Promise<void> {
      await page.getByRole('link', { name, exact: true }).click();
      await expect.poll(() => page.getByRole('heading', { level: 1, name, exact: true }).count()).toBe(1);
      await settled(page);
    }

    /** Until the page's own calls are answered: effects start them after a frame, api.ts counts them. */
    async function settled(page: Page): Promise<void> {
      for (let round = 0; round < 3; round++) {
        // Runs in the page (only types are taken from here: this file does not load the DOM's).
        await page.evaluate(
          () =>
            new Promise((done) =>
              (globalThis as unknown as Frames).requestAnimationFrame(() => setTimeout(done, 0)),
            ),
        );
        await page.locator('html:not([data-pending]), html[data-pending="0"]').waitFor({ state: 'attached' });
      }
    }

    it('dry-runs then runs a 1,000-row CSV job to done, downloads its results, revokes a reward, and finds both in the audit log', async () => {
      const page = await signedIn(operator);
      await open(page, 'Jobs');
      const csv = `identifierValue,source\n${customerIds.map((id) => `${id},INSTORE`).join('\n')}\n`;
      await page.getByLabel('CSV file').setInputFiles({
        name: 'customers.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from(csv),
      });
      await page.getByLabel('Action').selectOption('ENROL');
      await page.getByLabel('Promotion').selectOption(String(promotionId));
      // Start stays off until a dry run of these settings has succeeded.
      expect(await page.getByRole('button', { name: 'Start' }).isDisabled()).toBe(true);
      await page.getByRole('button', { name: 'Dry run' }).click();
      const dry = page.getByRole('progressbar', { name: /\(dry run\)$/ });
      await expect
        .poll(() => dry.getAttribute('aria-valuetext'), { timeout: 60_000 })
        .toBe('1000 of 1000 rows, succeeded');
      await page.getByRole('button', { name: 'Start' }).click();
      const run = page.getByRole('progressbar', { name: /^Job \d+$/ });
      await expect
        .poll(() => run.getAttribute('aria-valuetext'), { timeout: 60_000 })
        .toBe('1000 of 1000 rows, succeeded');
      expect(await run.getAttribute('aria-valuenow')).toBe('1000');

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Download results of the job' }).click(),
      ]);
      const results = readFileSync(String(await download.path()), 'utf8')
        .trim()
        .split(/\r?\n/);
      expect(results[0]).toBe('row,identifierValue,source,entityId,issualId,earnedId,code,message');
      expect(results).toHaveLength(1001);
      const [, , , entityId, issualId] = (results[1] as string).split(',');
      expect(entityId).toBe(String(customerIds[0]));

      await open(page, 'Customers');
      await page.getByLabel('Find by').selectOption('id');
      await page.getByLabel('Value').fill(String(customerIds[0]));
      await page.getByRole('button', { name: 'Find customer' }).click();
      await page.getByRole('button', { name: `Revoke issual ${issualId}` }).click();
      await expect.poll(() => page.getByRole('status').textContent()).toContain('REVOKE_ENROL done');
      await expect.poll(() => page.getByRole('cell', { name: `${issualId} (revoked)` }).count()).toBe(1);
      const customer = await t.admin('GET', `/admin/v1/orgs/${orgId}/customers/${customerIds[0]}`);
      expect(customer.body.promotions[0].issuals[0]).toMatchObject({ issualId, revoked: true });

      // Another customer the job enrolled: earn once from the page, then revoke that one earn.
      await page.getByLabel('Value').fill(String(customerIds[1]));
      await page.getByRole('button', { name: 'Find customer' }).click();
      const form = page.getByRole('form', { name: `Enrol or earn for customer ${customerIds[1]}` });
      await form.getByLabel('Promotion').selectOption(String(promotionId));
      await form.getByLabel('Action').selectOption('EARN');
      await form.getByRole('button', { name: `Apply to customer ${customerIds[1]}` }).click();
      await expect.poll(() => page.getByRole('status').textContent()).toContain('EARN done');
      const revokeEarn = page.getByRole('button', { name: /^Revoke earn \d+$/ });
      await expect.poll(() => revokeEarn.count()).toBe(1);
      await revokeEarn.click();
      await expect.poll(() => page.getByRole('status').textContent()).toContain('REVOKE_EARN done');
      await expect.poll(() => revokeEarn.count()).toBe(0);

      await open(page, 'Audit log');
      await page.getByLabel('User').fill(operator);
      for (const action of [
        'POST /admin/v1/orgs/:orgId/jobs',
        'POST /admin/v1/orgs/:orgId/customers/:customerId/rewards',
      ]) {
        const rows = page.getByRole('row').filter({ hasText: action });
        await expect.poll(() => rows.count()).toBeGreaterThan(0);
        expect(await rows.first().textContent()).toContain(`user:${operator}`);
      }
      await page.context().close();
    });

    it('signs in, shows every page without a serious accessibility fault, and screenshots each', async () => {
      const hook = { url: 'https://93.184.216.34/loyalty-events' };
      expect((await t.admin('POST', `/admin/v1/orgs/${orgId}/webhooks`, hook)).status).toBe(201);
      const page = await signedIn(admin);
      const names = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
      expect(names).toEqual(PAGES);
      for (const name of PAGES) {
        await open(page, name);
        if (name === 'Customers') {
          await page.getByLabel('Value').fill(String(customerIds[2]));
          await page.getByRole('button', { name: 'Find customer' }).click();
          await page.getByRole('heading', { name: `Customer ${customerIds[2]}` }).waitFor();
        }
        if (name === 'Webhooks') {
          await page.getByRole('button', { name: `Deliveries of ${hook.url}` }).click();
          await page.getByRole('cell', { name: 'No deliveries yet.' }).waitFor();
          await page.getByRole('button', { name: `Rotate secret of ${hook.url}` }).click();
          await expect.poll(() => page.getByLabel('Signing secret').textContent()).toMatch(/^whsec_/);
        }
        await settled(page);
        const result = await new AxeBuilder({ page }).analyze();
        const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
        expect(bad.map((v) => `${name}: ${v.id} ${v.help}`)).toEqual([]);
        if (kind === 'sqlite') {
          await page.screenshot({ path: `${SCREENSHOTS}/${name.toLowerCase().replace(/ /g, '-')}.png` });
        }
      }
      await page.context().close();

      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const signIn = await context.newPage();
      await signIn.goto(`${base}/console/`);
      await signIn.getByRole('button', { name: 'Sign in' }).waitFor();
      expect(
        (await new AxeBuilder({ page: signIn }).analyze()).violations.filter(
          (v) => v.impact === 'critical' || v.impact === 'serious',
        ),
      ).toEqual([]);
      if (kind === 'sqlite') await signIn.screenshot({ path: `${SCREENSHOTS}/sign-in.png` });
      await context.close();
    });

    it('creates a promotion by keyboard and finds it in the audit log under the user', async () => {
      const page = await signedIn(admin);
      await open(page, 'Promotions');
      await page.getByLabel('Program id').fill(String(programId));
      await page.getByLabel('Name', { exact: true }).fill(`Winter ${kind}`);
      await page.getByLabel('Max earns per customer').fill('2');
      await page.getByRole('button', { name: 'Create promotion' }).focus();
      await page.keyboard.press('Enter');
      await expect
        .poll(() => page.getByRole('status').textContent())
        .toContain(`Promotion Winter ${kind} created`);
      await expect
        .poll(() => page.getByRole('cell', { name: `Winter ${kind}`, exact: true }).count())
        .toBe(1);

      await open(page, 'Audit log');
      await page.getByLabel('User').fill(admin);
      const row = page.getByRole('row').filter({ hasText: 'POST /admin/v1/orgs/:orgId/promotions' });
      await expect.poll(() => row.count()).toBe(1);
      expect(await row.textContent()).toContain(`user:${admin}`);
      const stored = await t.admin('GET', `/admin/v1/audit?orgId=${orgId}`);
      expect(stored.body.entries.at(-1)).toMatchObject({
        who: `user:${admin}`,
        action: 'POST /admin/v1/orgs/:orgId/promotions',
      });
      await page.context().close();
    });

    it('lets a viewer change nothing: the page offers no change and the API refuses one, as it does a change without the CSRF token', async () => {
      const page = await signedIn(viewer);
      await open(page, 'Promotions');
      expect(await page.getByRole('button', { name: 'Create promotion' }).count()).toBe(0);
      await open(page, 'Credentials');
      expect(await page.getByRole('button', { name: /^Create/ }).count()).toBe(0);
      await open(page, 'Jobs');
      expect(await page.getByRole('button', { name: 'Dry run' }).count()).toBe(0);
      await open(page, 'Customers');
      await page.getByLabel('Value').fill(String(customerIds[1]));
      await page.getByRole('button', { name: 'Find customer' }).click();
      await page.getByRole('heading', { name: `Customer ${customerIds[1]}` }).waitFor();
      expect(await page.getByRole('button', { name: /^(Revoke|Apply)/ }).count()).toBe(0);
      const url = `/admin/v1/orgs/${orgId}/promotions`;
      const refused = await page.evaluate(
        async ([url, programId]) => {
          const session = (await (await fetch('/console/api/session')).json()) as { csrfToken: string };
          const res = await fetch(url as string, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
            body: JSON.stringify({ programId, name: 'Sneaky', type: 'DIRECT' }),
          });
          return [res.status, ((await res.json()) as { error: { code: string } }).error.code];
        },
        [url, programId],
      );
      expect(refused).toEqual([403, 'forbidden']);
      await page.context().close();

      const adminPage = await signedIn(admin);
      const noToken = await adminPage.evaluate(
        async ([url, programId]) => {
          const res = await fetch(url as string, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ programId, name: 'No token', type: 'DIRECT' }),
          });
          return [res.status, ((await res.json()) as { error: { field: string } }).error.field];
        },
        [url, programId],
      );
      expect(noToken).toEqual([403, 'x-csrf-token']);
      await adminPage.context().close();
    });

    it('sends an expired session back to sign in', async () => {
      const page = await signedIn(admin);
      await open(page, 'Promotions');
      // The page's own reads finished (open waits for them): the click is the first call of the ended session.
      clock.set(clock.now() + 31 * 60_000);
      await page.getByRole('link', { name: 'Credentials', exact: true }).click();
      await expect.poll(() => page.getByRole('button', { name: 'Sign in' }).count()).toBe(1);
      expect(await page.getByRole('status').textContent()).toContain('Your session has ended');
      await page.context().close();
    });
  },
);
