import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { badRequest } from '../../../core/errors.ts';

// Values stay strings: MsgId is a 64-bit number that a JS number would round.
const parser = new XMLParser({ parseTagValue: false, ignoreAttributes: true, processEntities: false, trimValues: true });

/**
 * Parses a WeChat `<xml>...</xml>` document into a flat record of its children. Documents with a DOCTYPE are
 * refused outright: WeChat never sends one, and entity tricks (billion laughs, external entities) live there.
 */
export function parseWxXml(text: string): Record<string, unknown> {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw badRequest('invalid_xml', 'XML 不允许包含 DOCTYPE/ENTITY');
  if (XMLValidator.validate(text) !== true) throw badRequest('invalid_xml', '请求体不是合法的 XML');
  const doc = parser.parse(text) as Record<string, unknown>;
  const root = doc.xml;
  if (!root || typeof root !== 'object' || Array.isArray(root)) throw badRequest('invalid_xml', 'XML 缺少 <xml> 根元素');
  return root as Record<string, unknown>;
}

const cdata = (v: string) => `<![CDATA[${v.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;

/** Serializes a flat record the way WeChat writes callbacks (strings in CDATA, numbers bare). */
export function toWxXml(fields: Record<string, string | number>): string {
  const body = Object.entries(fields)
    .map(([k, v]) => `<${k}>${typeof v === 'number' ? v : cdata(v)}</${k}>`)
    .join('');
  return `<xml>${body}</xml>`;
}
