import type { Page } from 'playwright-core';
import { CHARGES_QUEUE } from '../../shared/queues/charges';
import { EVENTS_QUEUE } from '../../shared/queues/events';
import { ORDERS_QUEUE } from '../../shared/queues/orders';
import { useApiWorld } from '../harness/context';
import { expectProblem, request } from '../harness/http';
import { launchBrowser, type Browser } from './support';

/** Bull Board at /admin/queues, in a real browser, behind the operator's Basic auth. */
const ADMIN = { username: 'operator', password: 'board-password-123' };
const world = useApiWorld({ ADMIN_USER: ADMIN.username, ADMIN_PASSWORD: ADMIN.password });
const QUEUES = [CHARGES_QUEUE, ORDERS_QUEUE, EVENTS_QUEUE];

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser.close();
});

/**
 * Opens the board; the status is the page's own response. Without valid credentials Chromium
 * ends the navigation with ERR_INVALID_AUTH_CREDENTIALS (a headless browser asks nobody).
 */
async function openBoard(
  authorization?: string,
): Promise<{ page: Page; errors: string[]; status: number }> {
  const { page, errors } = await browser.open(world.api.baseUrl);
  if (authorization !== undefined) await page.setExtraHTTPHeaders({ authorization });
  const url = `${world.api.baseUrl}/admin/queues`;
  const answered = page.waitForResponse(url);
  await page.goto(url).catch((error: unknown) => {
    if (!String(error).includes('ERR_INVALID_AUTH_CREDENTIALS')) throw error;
  });
  return { page, errors, status: (await answered).status() };
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('Bull Board at /admin/queues in a browser', () => {
  it('When the operator signs in, then the board lists every queue the system has', async () => {
    const { page, errors, status } = await openBoard(basic(ADMIN.username, ADMIN.password));
    expect(status).toBe(200);
    for (const name of QUEUES) {
      await page.getByRole('link', { name, exact: true }).first().waitFor({ timeout: 20_000 });
    }
    await browser.screenshot(page, 'queues');
    expect(errors).toEqual([]);
  }, 60_000);

  it.each([
    ['no credentials', undefined],
    ['a wrong password', basic(ADMIN.username, 'wrong')],
  ])(
    'When the board is opened with %s, then it answers 401 and shows no queue',
    async (_what, authorization) => {
      const { page, status } = await openBoard(authorization);
      expect(status).toBe(401);
      expect(await page.locator('body').textContent()).not.toMatch(new RegExp(QUEUES.join('|')));
      await browser.screenshot(
        page,
        `queues-401-${authorization === undefined ? 'anonymous' : 'wrong'}`,
      );
    },
  );

  it('When it is requested over plain HTTP without credentials, then it is the 401 problem with a Basic challenge', async () => {
    const response = expectProblem(
      await request(world.api.baseUrl, 'GET', '/admin/queues'),
      401,
      'UNAUTHENTICATED',
    );
    expect(response.detail).toEqual(expect.any(String));
    const challenge = (await request(world.api.baseUrl, 'GET', '/admin/queues')).headers.get(
      'www-authenticate',
    );
    expect(challenge).toMatch(/^Basic /);
  });
});
