import { chargeSubmit } from './charge-submit';
import { drain } from './drain';
import { flashSale } from './flash-sale';
import { mix } from './mix';
import { orderSubmit } from './order-submit';
import { overload } from './overload';
import { productDetail } from './product-detail';
import type { Scenario } from './types';

/** Every scenario `npm run load -- <name>` knows, in the order PLAN.md lists them. */
export const SCENARIOS: readonly Scenario[] = [
  productDetail,
  orderSubmit,
  chargeSubmit,
  mix,
  flashSale,
  drain,
  overload,
];

export function scenarioNamed(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
