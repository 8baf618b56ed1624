import { reconcile } from '../../shared/db/reconcile';
import { expectProblem, request } from '../harness/http';
import { newKey, submitCharge, usePipelineWorld, waitForFinal } from '../harness/pipeline';

const world = usePipelineWorld();

interface ChargeBody {
  chargeId: string;
  userId: number;
  amount: number;
  status: string;
  failureCode: string | null;
  balanceAfter: number | null;
  createdAt: string;
  completedAt: string | null;
}

describe('POST /api/charges', () => {
  it('When a charge is accepted, then it answers 202 PENDING with its status URL in the body and Location', async () => {
    const token = await world.ctx.tokenFor(101);
    const response = await request(world.api.baseUrl, 'POST', '/api/charges', {
      token,
      body: { amount: 5000 },
      headers: { 'idempotency-key': newKey() },
    });
    expect(response.status).toBe(202);
    const body = response.body as { chargeId: string; status: string; statusUrl: string };
    expect(body).toEqual({
      chargeId: expect.stringMatching(
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      ),
      status: 'PENDING',
      statusUrl: `/api/charges/${body.chargeId}`,
    });
    expect(response.headers.get('location')).toBe(body.statusUrl);
  });

  it('When the charge is processed, then it is COMPLETED with balanceAfter and the balance reflects it', async () => {
    const token = await world.ctx.tokenFor(102);
    const first = await submitCharge(world.api.baseUrl, token, 3000);
    const second = await submitCharge(world.api.baseUrl, token, 4000);
    const a = await waitForFinal<ChargeBody>(world.api.baseUrl, token, first.statusUrl);
    const b = await waitForFinal<ChargeBody>(world.api.baseUrl, token, second.statusUrl);
    expect(a).toEqual({
      chargeId: first.id,
      userId: 102,
      amount: 3000,
      status: 'COMPLETED',
      failureCode: null,
      balanceAfter: expect.any(Number),
      createdAt: expect.any(String),
      completedAt: expect.any(String),
    });
    expect(new Set([a.balanceAfter, b.balanceAfter])).toEqual(new Set([3000, 7000]));
    const balance = await request(world.api.baseUrl, 'GET', '/api/balance', { token });
    expect(balance.body).toEqual({ userId: 102, balance: 7000, updatedAt: expect.any(String) });
  });

  it('When a charge would take the balance past 1,000,000,000,000, then it is FAILED with BALANCE_LIMIT_EXCEEDED and changes nothing', async () => {
    await world.ctx.sequelize.query('INSERT INTO users (id, balance) VALUES (103, 999999999999)');
    const token = await world.ctx.tokenFor(103);
    const submitted = await submitCharge(world.api.baseUrl, token, 2);
    const final = await waitForFinal<ChargeBody>(world.api.baseUrl, token, submitted.statusUrl);
    expect(final).toMatchObject({
      status: 'FAILED',
      failureCode: 'BALANCE_LIMIT_EXCEEDED',
      balanceAfter: null,
    });
    const balance = await request(world.api.baseUrl, 'GET', '/api/balance', { token });
    expect(balance.body).toMatchObject({ balance: 999999999999 });
    const exact = await submitCharge(world.api.baseUrl, token, 1);
    expect(await waitForFinal<ChargeBody>(world.api.baseUrl, token, exact.statusUrl)).toMatchObject(
      {
        status: 'COMPLETED',
        balanceAfter: 1_000_000_000_000,
      },
    );
    // The starting balance was planted in SQL, outside the ledger: remove the user so the
    // invariant check at the end of this file sees only balances made through the API.
    for (const table of ['balance_ledger', 'charges']) {
      await world.ctx.sequelize.query(`DELETE FROM ${table} WHERE user_id = 103`);
    }
    await world.ctx.sequelize.query('DELETE FROM users WHERE id = 103');
  });

  it('When many charges of a few users arrive at once, then the group commit applies each exactly once, and one that would pass the limit among them fails alone', async () => {
    // 111 starts 1,000 short of the limit: of its three charges of 600, exactly one fits.
    await world.ctx.sequelize.query('INSERT INTO users (id, balance) VALUES (111, 999999999000)');
    const [near, a, b] = await Promise.all([111, 112, 113].map((id) => world.ctx.tokenFor(id)));
    const submitted = await Promise.all([
      ...Array.from({ length: 3 }, () => submitCharge(world.api.baseUrl, near ?? '', 600)),
      ...Array.from({ length: 20 }, () => submitCharge(world.api.baseUrl, a ?? '', 100)),
      ...Array.from({ length: 20 }, () => submitCharge(world.api.baseUrl, b ?? '', 250)),
    ]);
    const tokens = [
      ...Array<string>(3).fill(near ?? ''),
      ...Array<string>(20).fill(a ?? ''),
      ...Array<string>(20).fill(b ?? ''),
    ];
    const finals = await Promise.all(
      submitted.map((s, i) =>
        waitForFinal<ChargeBody>(world.api.baseUrl, tokens[i] ?? '', s.statusUrl),
      ),
    );
    const nearOutcomes = finals
      .slice(0, 3)
      .map((f) => f.status)
      .sort();
    expect(nearOutcomes).toEqual(['COMPLETED', 'FAILED', 'FAILED']);
    expect(finals.slice(3).every((f) => f.status === 'COMPLETED')).toBe(true);
    // Balances after, per user, are distinct running sums: each credit applied once, in order.
    expect(new Set(finals.slice(3, 23).map((f) => f.balanceAfter)).size).toBe(20);
    const [rows] = await world.ctx.sequelize.query(
      `SELECT u.id, u.balance, (SELECT COUNT(*) FROM balance_ledger l WHERE l.user_id = u.id) AS ledgerRows,
              (SELECT COUNT(*) FROM charges c WHERE c.user_id = u.id) AS charges
       FROM users u WHERE u.id IN (111, 112, 113) ORDER BY u.id`,
    );
    expect(
      (
        rows as {
          id: number;
          balance: number | string;
          ledgerRows: number | string;
          charges: number | string;
        }[]
      ).map((r) => [r.id, Number(r.balance), Number(r.ledgerRows), Number(r.charges)]),
    ).toEqual([
      [111, 999_999_999_600, 1, 3],
      [112, 2_000, 20, 20],
      [113, 5_000, 20, 20],
    ]);
    // 111's starting balance was planted in SQL, outside the ledger (see the test above).
    for (const table of ['balance_ledger', 'charges']) {
      await world.ctx.sequelize.query(`DELETE FROM ${table} WHERE user_id = 111`);
    }
    await world.ctx.sequelize.query('DELETE FROM users WHERE id = 111');
  });

  it.each([
    ['zero', 0],
    ['negative', -1],
    ['a fraction', 1.5],
    ['a string', '100'],
    ['over the maximum', 10_000_001],
    ['null', null],
    ['an unsafe integer', 2 ** 60],
  ])(
    'When the amount is %s, then it answers 400 VALIDATION_FAILED naming body.amount',
    async (_label, amount) => {
      const token = await world.ctx.tokenFor(104);
      const response = await request(world.api.baseUrl, 'POST', '/api/charges', {
        token,
        body: { amount },
        headers: { 'idempotency-key': newKey() },
      });
      const problem = expectProblem(response, 400, 'VALIDATION_FAILED');
      expect(problem.errors?.map((e) => e.path)).toContain('body.amount');
    },
  );

  it('When the body has unknown fields or is missing, then it answers 400 VALIDATION_FAILED', async () => {
    const token = await world.ctx.tokenFor(104);
    for (const body of [{ amount: 10, userId: 5 }, {}, [], 'x']) {
      const response = await request(world.api.baseUrl, 'POST', '/api/charges', {
        token,
        body: typeof body === 'string' ? JSON.stringify(body) : body,
        headers: { 'idempotency-key': newKey() },
      });
      expectProblem(response, 400, 'VALIDATION_FAILED');
    }
    const balance = await request(world.api.baseUrl, 'GET', '/api/balance', { token });
    expect(balance.body).toMatchObject({ balance: 0 });
  });

  it('When the token is missing, then it answers 401 and accepts nothing', async () => {
    const response = await request(world.api.baseUrl, 'POST', '/api/charges', {
      body: { amount: 10 },
      headers: { 'idempotency-key': newKey() },
    });
    expectProblem(response, 401, 'UNAUTHENTICATED');
  });
});

describe('GET /api/charges/:chargeId', () => {
  it("When another user asks for a charge, then it answers 404 CHARGE_NOT_FOUND, never the other user's data", async () => {
    const owner = await world.ctx.tokenFor(105);
    const stranger = await world.ctx.tokenFor(106);
    const submitted = await submitCharge(world.api.baseUrl, owner, 100);
    await waitForFinal(world.api.baseUrl, owner, submitted.statusUrl);
    expectProblem(
      await request(world.api.baseUrl, 'GET', submitted.statusUrl, { token: stranger }),
      404,
      'CHARGE_NOT_FOUND',
    );
  });

  it.each(['01a20fc7-c73e-7b6d-9ffb-010a6703022a', 'abc', '1', '%27%20OR%201%3D1'])(
    'When the charge id %s is unknown or malformed, then it answers 404 CHARGE_NOT_FOUND',
    async (id) => {
      const token = await world.ctx.tokenFor(107);
      expectProblem(
        await request(world.api.baseUrl, 'GET', `/api/charges/${id}`, { token }),
        404,
        'CHARGE_NOT_FOUND',
      );
    },
  );

  it('When the charge is not final yet, then the answer carries Retry-After: 1; once final, it does not', async () => {
    const token = await world.ctx.tokenFor(108);
    const submitted = await submitCharge(world.api.baseUrl, token, 100);
    const early = await request<ChargeBody>(world.api.baseUrl, 'GET', submitted.statusUrl, {
      token,
    });
    if (early.body.status !== 'COMPLETED') expect(early.headers.get('retry-after')).toBe('1');
    await waitForFinal(world.api.baseUrl, token, submitted.statusUrl);
    const late = await request(world.api.baseUrl, 'GET', submitted.statusUrl, { token });
    expect(late.headers.get('retry-after')).toBeNull();
  });

  it('When the Redis status record is gone, then the status still comes from the database', async () => {
    const token = await world.ctx.tokenFor(109);
    const submitted = await submitCharge(world.api.baseUrl, token, 250);
    const final = await waitForFinal<ChargeBody>(world.api.baseUrl, token, submitted.statusUrl);
    await world.ctx.redis.del(`${world.ctx.config.redis.prefix}:status:charge:${submitted.id}`);
    const fromDb = await request<ChargeBody>(world.api.baseUrl, 'GET', submitted.statusUrl, {
      token,
    });
    expect(fromDb.body).toEqual(final);
  });

  it('After all of the above, every invariant holds', async () => {
    const checks = await reconcile(world.ctx.sequelize);
    expect(checks.filter((c) => c.violations.length > 0)).toEqual([]);
  });
});
