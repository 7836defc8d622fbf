import { createHash } from 'node:crypto';
import type { Variant } from './playbooks.ts';

/** {{name}} 称呼, {{product}} 商品, {{amount}} 金额 (元), {{coupon}} 券码, {{link}} 链接, {{tier}} 会员等级 */
export const TEMPLATE_VARIABLES = ['name', 'product', 'amount', 'coupon', 'link', 'tier'] as const;
export type TemplateVariables = Partial<Record<(typeof TEMPLATE_VARIABLES)[number], string>>;

const VAR = /\{\{\s*([a-zA-Z_]+)\s*\}\}/g;

export function unknownVariables(text: string): string[] {
  return [...text.matchAll(VAR)].map((m) => m[1]).filter((v) => !(TEMPLATE_VARIABLES as readonly string[]).includes(v));
}

/** A missing value renders as a neutral word rather than a raw "{{product}}" in front of the customer. */
const FALLBACK: Required<TemplateVariables> = { name: '亲', product: '您挑选的商品', amount: '', coupon: '', link: '', tier: '新等级' };

export function render(text: string, vars: TemplateVariables): string {
  return text
    .replace(VAR, (_, v: keyof TemplateVariables) => vars[v] || FALLBACK[v] || '')
    .replace(/[ \t]{2,}/g, ' ')
    .trim();
}

export const yuan = (fen: number) => (fen / 100).toFixed(fen % 100 === 0 ? 0 : 2);

/**
 * The A/B variant for a customer: stable (the same customer always gets the same template of a playbook), and
 * split by the weights. A hash rather than a random draw, so a retried run cannot switch templates.
 */
export function pickVariant(variants: Variant[], playbookId: string, customerId: string): Variant | null {
  const live = variants.filter((v) => v.weight > 0);
  if (!live.length) return null;
  const total = live.reduce((a, v) => a + v.weight, 0);
  const h = createHash('sha256').update(`${playbookId}:${customerId}`).digest().readUInt32BE(0) / 0x1_0000_0000;
  let acc = 0;
  for (const v of live) {
    acc += v.weight / total;
    if (h < acc) return v;
  }
  return live[live.length - 1];
}

/** A placeholder name we made up (访客1a2b, 客户5678) is no way to greet anyone: the template's 亲 is used instead. */
export function greetingName(displayName: string | null | undefined): string | undefined {
  if (!displayName || /^(访客|客户)[0-9a-zA-Z]{4}$/.test(displayName)) return undefined;
  return displayName;
}
