import { setTimeout as sleep } from 'node:timers/promises';
import { signUserToken } from '../../shared/tokens';
import { ApiClient, isRetryable, retryDelayMs, type Sample } from './http';

/** One order as its client knows it, from the first submit to the last status it saw. */
export interface OrderRecord {
  key: string;
  userId: number;
  items: { productId: number; quantity: number }[];
  firstTryAt: number;
  tries: number;
  /** Set by the first 202; every retry of the key must name the same id. */
  id?: string;
  acceptedAt?: number;
  /** The last status seen by polling. */
  status?: string;
  /** The HTTP status of the last poll's answer (0: none): a poll that kept failing shows here. */
  lastPollAnswer?: number;
  /**
   * The order this id resolved to, when the status names another one: the key was accepted
   * twice and the database's unique (user, key) kept the first (see the README's backstop).
   */
  resolvedAs?: string;
  /** When a final status or ON_HOLD was first seen. */
  resolvedAt?: number;
  totalAmount?: number | null;
  /** A non-retryable answer to the submit (a 4xx): the client stopped there. */
  refusedWith?: number;
  /** Retried until its give-up time without a definitive answer. */
  gaveUp?: boolean;
  nextPollAt: number;
  /**
   * Its client cancels it: `early` right after the 202 (racing its processing), `late` once it
   * is seen PAID. Once the cancellation is accepted the order is only done when CANCELLED (or
   * FAILED); a cancellation never accepted leaves the order as it was.
   */
  cancel?: {
    when: 'early' | 'late';
    key: string;
    tries: number;
    started: boolean;
    accepted?: boolean;
    refusedWith?: number;
    gaveUp?: boolean;
  };
}

export interface ClientOptions {
  apiUrl: string;
  jwtSecret: string;
  /** Users `firstUserId .. firstUserId + users - 1` place the orders. */
  users: number;
  firstUserId: number;
  productIds: number[];
  /** Makes Idempotency-Keys unique to the run. */
  keyPrefix: string;
  /** Orders started per second; 0 means as fast as `maxInFlight` allows. */
  ratePerSecond: number;
  /** Submits (with their retries) in flight at once; more are not started meanwhile. */
  maxInFlight: number;
  /** How long one order keeps retrying its submit before its client gives up. */
  submitGiveUpMs: number;
  /** Share of orders their client cancels (half early, half once PAID); default 0. */
  cancelShare?: number;
}

const FINAL = new Set(['PAID', 'FAILED', 'ON_HOLD', 'CANCELLED']);
const POLL_CONCURRENCY = 8;
const PROBE_EVERY_MS = 250;
/** Upper bound of any loop here: no run is longer than an hour. */
const MAX_RUN_MS = 3_600_000;

const pick = <T>(items: readonly T[]): T => {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error('nothing to pick from');
  return item;
};

/**
 * Simulated shop clients, in-process: they fund their users, submit orders at a steady rate
 * (retrying a submit with the same Idempotency-Key on 503 or no answer), poll every accepted
 * order until it is final or ON_HOLD, and probe a database-backed endpoint to time how the API
 * answers while a dependency is down. Everything they saw is kept for the verdict.
 */
export class Clients {
  readonly orders: OrderRecord[] = [];
  /** Amount each user was credited (its charge was seen COMPLETED). */
  readonly funded = new Map<number, number>();
  /** Orders the rate asked for while `maxInFlight` submits were already waiting. */
  notStarted = 0;
  private readonly pending = new Map<string, OrderRecord>();
  private readonly submits = new Set<Promise<void>>();
  private readonly polling = new Set<OrderRecord>();
  private probesInFlight = 0;
  private submitting = false;
  private running = false;
  private loops: Promise<void>[] = [];
  private seq = 0;
  private readonly api: ApiClient;

  private constructor(
    private readonly options: ClientOptions,
    private readonly tokens: Map<number, string>,
    private readonly probeToken: string,
  ) {
    this.api = new ApiClient(options.apiUrl);
  }

  /** Every request the clients sent, with its latency and answer. */
  get samples(): Sample[] {
    return this.api.samples;
  }

  static async create(options: ClientOptions): Promise<Clients> {
    const tokens = new Map<number, string>();
    for (let i = 0; i < options.users; i++) {
      const userId = options.firstUserId + i;
      tokens.set(userId, await signUserToken(options.jwtSecret, userId, '12h'));
    }
    // A user of its own that never orders: its balance reads are a pure database probe.
    const probeToken = await signUserToken(options.jwtSecret, options.firstUserId - 1, '12h');
    return new Clients(options, tokens, probeToken);
  }

  /** Charges every user `amount` and waits until each charge is COMPLETED. */
  async fund(amount: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await Promise.all(
      [...this.tokens].map(async ([userId, token]) => {
        const key = `${this.options.keyPrefix}-fund-${userId}`;
        const accepted = await this.api.postUntilAccepted('fund', '/api/charges', token, key, {
          amount,
        });
        const { statusUrl } = accepted.body as { statusUrl: string };
        for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
          const view = await this.api.get('fund', statusUrl, token);
          const status = (view.body as { status?: string } | null)?.status;
          if (status === 'COMPLETED') {
            this.funded.set(userId, amount);
            return;
          }
          if (status === 'FAILED' || status === 'ON_HOLD') throw new Error(`funding ${status}`);
          await sleep(100);
        }
        throw new Error(`user ${userId}: funding charge not COMPLETED in time`);
      }),
    );
  }

  /** Starts submitting orders, polling them and probing. */
  start(): void {
    this.submitting = true;
    this.running = true;
    this.loops = [this.submitLoop(), this.pollLoop(), this.probeLoop()];
  }

  /**
   * Stops starting orders (and cancellations) and waits for the submits still retrying, the
   * cancellations they started included (each bounded by give-up).
   */
  async stopSubmitting(): Promise<void> {
    this.submitting = false;
    for (let i = 0; i < 1_000 && this.submits.size > 0; i++) {
      await Promise.all([...this.submits]);
    }
  }

  /**
   * Waits until every accepted order is final or ON_HOLD, for at most `timeoutMs`. With
   * `stallMs`, it also ends once no order has become final for that long: where orders may be
   * lost, the drain waits for the backlog, not for the lost ones, however large it grew.
   */
  async drain(timeoutMs: number, stallMs = Number.POSITIVE_INFINITY): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let left = this.pending.size;
    let progressAt = Date.now();
    for (let i = 0; this.pending.size > 0 && Date.now() < deadline && i < 100_000; i++) {
      if (Date.now() - progressAt >= stallMs) return;
      await sleep(250);
      if (this.pending.size < left) {
        left = this.pending.size;
        progressAt = Date.now();
      }
    }
  }

  async stop(): Promise<void> {
    this.submitting = false;
    this.running = false;
    await Promise.all([...this.loops, ...this.submits]);
    // Polls and probes still out end within the request timeout.
    for (let i = 0; i < 120 && (this.polling.size > 0 || this.probesInFlight > 0); i++) {
      await sleep(100);
    }
  }

  /** Counts for the progress line. */
  counts(): { accepted: number; resolved: number; pending: number; inFlight: number } {
    const accepted = this.orders.filter((o) => o.id !== undefined).length;
    return {
      accepted,
      resolved: accepted - this.pending.size,
      pending: this.pending.size,
      inFlight: this.submits.size,
    };
  }

  private async submitLoop(): Promise<void> {
    const { ratePerSecond, maxInFlight } = this.options;
    const started = Date.now();
    let owed = 0;
    let last = started;
    for (let i = 0; this.submitting && Date.now() - started < MAX_RUN_MS; i++) {
      const now = Date.now();
      owed =
        ratePerSecond > 0
          ? owed + ((now - last) * ratePerSecond) / 1_000
          : maxInFlight - this.submits.size;
      last = now;
      while (owed >= 1 && this.submits.size < maxInFlight) {
        owed -= 1;
        this.launchOrder();
      }
      // Orders owed beyond a second's worth are not sent later in a burst: clients gave up.
      if (ratePerSecond > 0 && owed > ratePerSecond) {
        const dropped = Math.floor(owed - ratePerSecond);
        this.notStarted += dropped;
        owed -= dropped;
      }
      await sleep(10);
    }
  }

  private launchOrder(): void {
    const userId = this.options.firstUserId + (this.seq % this.options.users);
    const first = pick(this.options.productIds);
    const items = [{ productId: first, quantity: 1 + Math.floor(Math.random() * 3) }];
    const second = pick(this.options.productIds);
    if (second !== first && Math.random() < 0.5) items.push({ productId: second, quantity: 1 });
    const key = `${this.options.keyPrefix}-order-${this.seq++}`;
    const order: OrderRecord = {
      key,
      userId,
      items,
      firstTryAt: Date.now(),
      tries: 0,
      nextPollAt: 0,
    };
    if (Math.random() < (this.options.cancelShare ?? 0)) {
      const when = Math.random() < 0.5 ? 'early' : 'late';
      order.cancel = { when, key: `${key}-cancel`, tries: 0, started: false };
    }
    this.orders.push(order);
    const task = this.submitOrder(order).finally(() => this.submits.delete(task));
    this.submits.add(task);
  }

  private async submitOrder(order: OrderRecord): Promise<void> {
    const token = this.tokenOf(order.userId);
    const deadline = order.firstTryAt + this.options.submitGiveUpMs;
    for (let attempt = 1; attempt <= 10_000; attempt++) {
      order.tries = attempt;
      const answer = await this.api.post('submit', '/api/orders', token, order.key, {
        items: order.items,
      });
      if (answer.status === 202) {
        const { orderId } = answer.body as { orderId: string };
        order.id = orderId;
        order.acceptedAt = Date.now();
        order.nextPollAt = order.acceptedAt + 100;
        this.pending.set(orderId, order);
        if (order.cancel?.when === 'early') this.launchCancel(order);
        return;
      }
      if (!isRetryable(answer.status)) {
        order.refusedWith = answer.status;
        return;
      }
      if (Date.now() >= deadline) break;
      await sleep(retryDelayMs(attempt, answer.retryAfter));
    }
    order.gaveUp = true;
  }

  /** A cancellation on its way (or accepted) that the order's status does not show yet. */
  private awaitsCancellation(order: OrderRecord, status: string): boolean {
    const cancel = order.cancel;
    if (!cancel?.started || status !== 'PAID') return false;
    return cancel.accepted === true || (cancel.refusedWith === undefined && !cancel.gaveUp);
  }

  private launchCancel(order: OrderRecord): void {
    const cancel = order.cancel;
    // Once the clients stop submitting, an order seen PAID is left as it is: nothing new is
    // sent while the verdict waits for what was accepted.
    if (!cancel || cancel.started || order.id === undefined || !this.submitting) return;
    cancel.started = true;
    const task = this.submitCancel(order, cancel).finally(() => this.submits.delete(task));
    this.submits.add(task);
  }

  /** POSTs the order's cancellation, retrying with the same key as for the order. */
  private async submitCancel(
    order: OrderRecord,
    cancel: NonNullable<OrderRecord['cancel']>,
  ): Promise<void> {
    const token = this.tokenOf(order.userId);
    const deadline = Date.now() + this.options.submitGiveUpMs;
    for (let attempt = 1; attempt <= 10_000; attempt++) {
      cancel.tries = attempt;
      const answer = await this.api.post(
        'cancel',
        `/api/orders/${order.id ?? ''}/cancel`,
        token,
        cancel.key,
        {},
      );
      if (answer.status === 202) {
        cancel.accepted = true;
        return;
      }
      if (!isRetryable(answer.status)) {
        cancel.refusedWith = answer.status;
        return;
      }
      if (Date.now() >= deadline) break;
      await sleep(retryDelayMs(attempt, answer.retryAfter));
    }
    cancel.gaveUp = true;
  }

  private async pollLoop(): Promise<void> {
    const started = Date.now();
    for (let i = 0; this.running && Date.now() - started < MAX_RUN_MS; i++) {
      const now = Date.now();
      for (const order of this.pending.values()) {
        if (this.polling.size >= POLL_CONCURRENCY) break;
        if (order.nextPollAt > now || this.polling.has(order)) continue;
        this.polling.add(order);
        void this.poll(order).finally(() => this.polling.delete(order));
      }
      await sleep(20);
    }
  }

  private async poll(order: OrderRecord): Promise<void> {
    if (order.id === undefined) return;
    const answer = await this.api.get(
      'poll',
      `/api/orders/${order.id}`,
      this.tokenOf(order.userId),
    );
    const now = Date.now();
    order.lastPollAnswer = answer.status;
    const view = answer.body as {
      orderId?: string;
      status?: string;
      totalAmount?: number | null;
    } | null;
    if (answer.status !== 200 || typeof view?.status !== 'string') {
      order.nextPollAt = now + 1_000;
      return;
    }
    order.status = view.status;
    if (view.orderId !== undefined && view.orderId !== order.id) order.resolvedAs = view.orderId;
    if (view.status === 'PAID' && order.cancel?.when === 'late' && !order.cancel.started) {
      this.launchCancel(order);
    }
    if (FINAL.has(view.status) && !this.awaitsCancellation(order, view.status)) {
      order.resolvedAt = now;
      order.totalAmount = view.totalAmount ?? null;
      this.pending.delete(order.id);
      return;
    }
    // Young orders are polled often (that is what times recovery), old ones less.
    const age = now - (order.acceptedAt ?? now);
    order.nextPollAt = now + Math.min(Math.max(age / 5, 200), 3_000);
  }

  private async probeLoop(): Promise<void> {
    const started = Date.now();
    for (let i = 0; this.running && Date.now() - started < MAX_RUN_MS; i++) {
      if (this.probesInFlight < 40) {
        this.probesInFlight += 1;
        void this.api.get('probe', '/api/balance', this.probeToken).finally(() => {
          this.probesInFlight -= 1;
        });
      }
      await sleep(PROBE_EVERY_MS);
    }
  }

  private tokenOf(userId: number): string {
    const token = this.tokens.get(userId);
    if (token === undefined) throw new Error(`no token for user ${userId}`);
    return token;
  }
}
