/**
 * Reading a text file with an error a person can act on ("cannot read
 * network file "x": no such file") instead of a stack trace. Used by every
 * command (cli/io.ts re-exports it), the service and the network loader.
 */
import { readFileSync } from 'node:fs';
import { ErrorCode, GreenwaveError } from './errors.js';

export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e: unknown) {
    const code = (e as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : e instanceof Error ? e.message : String(e);
    throw new GreenwaveError(ErrorCode.Io, `cannot read ${what} "${path}": ${why}`);
  }
}
