/**
 * File reading and writing for the CLI commands, with errors a person can
 * act on ("cannot read network file "x": no such file") instead of a stack
 * trace. Used by every `greenwave` subcommand.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';

export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e: unknown) {
    const code = (e as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : e instanceof Error ? e.message : String(e);
    throw new GreenwaveError(ErrorCode.Io, `cannot read ${what} "${path}": ${why}`);
  }
}

export function writeText(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e: unknown) {
    throw new GreenwaveError(ErrorCode.Io, `cannot write "${path}": ${e instanceof Error ? e.message : String(e)}`);
  }
}
