import type { Page } from 'playwright-core';
import { useApiWorld } from '../harness/context';
import { request } from '../harness/http';
import { launchBrowser, type Browser } from './support';

/**
 * Swagger UI at /docs, in a real browser: every operation of the served document is there, and
 * every schema and operation opens without a resolver error or a schema shown as `any`.
 */
const world = useApiWorld();

interface Document {
  paths: Record<string, Record<string, { operationId: string; summary: string }>>;
  components: { schemas: Record<string, unknown> };
}

let browser: Browser;
let page: Page;
let errors: string[];
let document: Document;

beforeAll(async () => {
  document = (await request<Document>(world.api.baseUrl, 'GET', '/openapi.json')).body;
  browser = await launchBrowser();
  ({ page, errors } = await browser.open(world.api.baseUrl));
  await page.goto(`${world.api.baseUrl}/docs/`);
  await page.locator('.opblock').first().waitFor({ timeout: 20_000 });
}, 60_000);

afterAll(async () => {
  await browser.close();
});

const operations = () => Object.values(document.paths).flatMap((item) => Object.values(item));

/** Texts of the elements a selector matches, in page order. */
const texts = async (selector: string) =>
  (await page.locator(selector).allTextContents()).map((text) => text.trim());

describe('Swagger UI at /docs', () => {
  it('When it loads, then it shows every operation of the document with its operationId and summary', async () => {
    expect(operations().length).toBeGreaterThan(10);
    expect(await page.locator('.opblock').count()).toBe(operations().length);
    expect((await texts('.opblock-summary-operation-id')).sort()).toEqual(
      operations()
        .map((op) => op.operationId)
        .sort(),
    );
    expect((await texts('.opblock-summary-description')).sort()).toEqual(
      operations()
        .map((op) => op.summary)
        .sort(),
    );
  });

  it('When every schema is expanded, then each is shown with its type and none as any or with a resolver error', async () => {
    const section = page.locator('section.models');
    if ((await section.locator('.models-control').getAttribute('aria-expanded')) !== 'true') {
      await section.locator('.models-control').click();
    }
    const models = section.locator('article[data-json-schema-level="0"]');
    expect(await models.count()).toBe(Object.keys(document.components.schemas).length);
    // Top-level "Expand all" buttons only: each opens its schema to the bottom.
    const count = await models.count();
    for (let i = 0; i < count; i++) {
      await models
        .nth(i)
        .locator(':scope > .json-schema-2020-12-head > .json-schema-2020-12-expand-deep-button')
        .click();
    }
    expect(await section.locator('.json-schema-2020-12-body--collapsed').count()).toBe(0);
    const titles = await section
      .locator(
        'article[data-json-schema-level="0"] > .json-schema-2020-12-head .json-schema-2020-12__title',
      )
      .allTextContents();
    expect(titles.sort()).toEqual(Object.keys(document.components.schemas).sort());
    const types = await section
      .locator('.json-schema-2020-12__attribute--primary')
      .allTextContents();
    expect(types.length).toBeGreaterThan(titles.length);
    expect(types.filter((type) => type.trim() === 'any')).toEqual([]);
    expect(await section.textContent()).not.toMatch(/Resolver error/i);
    await browser.screenshot(page, 'docs-schemas');
  }, 60_000);

  it('When every operation is opened, then its parameters and responses render without a resolver error', async () => {
    // One click each, all at once: Playwright's per-click waits add up to most of a minute.
    await page.locator('.opblock-summary-control').evaluateAll((controls) => {
      for (const control of controls) (control as unknown as { click(): void }).click();
    });
    await page
      .locator('.opblock .responses-wrapper')
      .nth(operations().length - 1)
      .waitFor();
    expect(await page.locator('.opblock .responses-wrapper').count()).toBe(operations().length);
    expect(await page.locator('body').textContent()).not.toMatch(/Resolver error/i);
    await browser.screenshot(page, 'docs-operations');
  }, 60_000);

  it('When the page has been used, then the browser logged no errors', () => {
    expect(errors).toEqual([]);
  });
});
