/**
 * Small XML helpers shared by the SUMO readers: well-formedness check with a
 * located error, a parser that keeps attributes as strings (without prefix)
 * and always returns arrays for repeatable elements, and attribute escaping
 * for the writers.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { GreenwaveError, ErrorCode } from '../../engine/errors.js';

export type XmlNode = Record<string, unknown>;

/** Parses SUMO XML; throws GreenwaveError(InvalidInput) naming `what` for malformed text. */
export function parseSumoXml(text: string, what: string, arrays: readonly string[]): XmlNode {
  if (typeof text !== 'string' || text.trim() === '') throw new GreenwaveError(ErrorCode.InvalidInput, `${what}: empty file, expected XML`);
  const check = XMLValidator.validate(text);
  if (check !== true) {
    const { msg, line, col } = check.err;
    throw new GreenwaveError(ErrorCode.InvalidInput, `${what}: not well-formed XML at line ${line}, column ${col}: ${msg}`, [{ path: `${what}:${line}`, message: msg }]);
  }
  const repeat = new Set(arrays);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    isArray: (name, _path, _leaf, isAttribute) => !isAttribute && repeat.has(name),
  });
  return parser.parse(text) as XmlNode;
}

/** The child list `name` of a node, [] when absent. */
export function children(node: unknown, name: string): XmlNode[] {
  if (node === null || typeof node !== 'object') return [];
  const v = (node as XmlNode)[name];
  if (v === undefined || v === null || v === '') return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is XmlNode => x !== null && typeof x === 'object');
}

export function attr(node: XmlNode, name: string): string | undefined {
  const v = node[name];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

export function numAttr(node: XmlNode, name: string): number | undefined {
  const s = attr(node, name);
  if (s === undefined || s.trim() === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Seconds for XML attributes: at most 2 decimals, no trailing zeros. */
export function fmtS(x: number): string {
  return String(Math.round(x * 100) / 100);
}
