/**
 * File reading and writing for the CLI commands, with errors a person can
 * act on ("cannot read network file "x": no such file") instead of a stack
 * trace. Used by every `greenwave` subcommand.
 */
import { writeFileSync } from 'node:fs';
import { GreenwaveError, ErrorCode } from '../engine/errors.js';

export { readText } from '../engine/files.js';

export function writeText(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e: unknown) {
    throw new GreenwaveError(ErrorCode.Io, `cannot write "${path}": ${e instanceof Error ? e.message : String(e)}`);
  }
}
