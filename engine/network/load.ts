/**
 * Read, validate, compile: the one way a network file becomes a
 * CompiledNetwork, for every command (plan, corridor, controllers, deploy,
 * measures), the service and its Replan worker. A file that cannot be read is
 * an IO_ERROR; an invalid one an INVALID_INPUT carrying every located issue.
 * (SUMO nets take their own path: simulator/sumo/importNet.ts compileImport.)
 */
import { ErrorCode, GreenwaveError, formatIssues } from '../errors.js';
import { readText } from '../files.js';
import { compileNetwork, type CompiledNetwork } from './compile.js';
import { parseNetworkText } from './validate.js';

/** Validates and compiles network JSON text; `source` names it in messages. */
export function compileNetworkText(text: string, source: string): CompiledNetwork {
  const result = parseNetworkText(text, source);
  if (!result.ok) throw new GreenwaveError(ErrorCode.InvalidInput, `${source}: ${result.issues.length} problem${result.issues.length === 1 ? '' : 's'}\n${formatIssues(result.issues)}`, result.issues);
  return compileNetwork(result.network);
}

/** Reads, validates and compiles the network file at `path`. */
export function loadCompiledNetwork(path: string): CompiledNetwork {
  return compileNetworkText(readText(path, 'network file'), path);
}
