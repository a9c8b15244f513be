#!/usr/bin/env node
/**
 * Prints "<salt hex>:<hash hex>" (scrypt, Node's defaults N=16384 r=8 p=1, 64-byte key, 16-byte
 * salt) for the password read from standard input, for the console's users file (docs/console.md):
 *   printf '%s' 'the password' | node scripts/hash-password.mjs
 * Read from standard input, not the command line, so that the password stays out of shell history
 * and process listings. web/server/users.ts checks these hashes; its tests run this script.
 */
import { randomBytes, scryptSync } from 'node:crypto';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
if (password.length < 8) {
  process.stderr.write('hash-password: give a password of at least 8 characters on standard input\n');
  process.exit(2);
}
const salt = randomBytes(16);
process.stdout.write(`${salt.toString('hex')}:${scryptSync(password, salt, 64).toString('hex')}\n`);
