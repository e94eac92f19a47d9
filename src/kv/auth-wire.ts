import { decodeAuthCommand, encodeAuthCommand } from '../auth/codec.js';
import { AuthFailure, type AuthCommand } from '../auth/types.js';
import { CorruptionError } from '../common/errors.js';
import type { AuthResult, CallerStamp } from './types.js';
import { type BinaryReader, type BinaryWriter, WireType, putBytesAlways, putMessage, putString, putUint, readBytes, readFields, readNested, readUint } from './wire.js';

/**
 * The auth parts of the replicated command and its result (src/kv/codec.ts writes and reads the rest).
 * Apart from src/kv/auth-section.ts so the codec does not depend on the db layer.
 */
// ---- wire: Command fields 8 (auth, JSON bytes) and 9 (caller), CommandResult field 9 ----
// They are not in proto/raftkv/v1/command.proto: only the state machine reads them.

export const AUTH_COMMAND_FIELD = 8;
export const CALLER_FIELD = 9;
export const AUTH_RESULT_FIELD = 9;

export function writeAuthCommand(w: BinaryWriter, c: AuthCommand): void {
  putBytesAlways(w, AUTH_COMMAND_FIELD, encodeAuthCommand(c));
}

export function readAuthCommand(r: BinaryReader): AuthCommand {
  const bytes = readBytes(r);
  try {
    return decodeAuthCommand(bytes);
  } catch (e) {
    throw new CorruptionError(`bad auth command: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export function writeCaller(w: BinaryWriter, c: CallerStamp): void {
  putMessage(w, CALLER_FIELD, (w) => (putString(w, 1, c.user), putUint(w, 2, c.authRevision)));
}

export function readCaller(r: BinaryReader, end: number): CallerStamp {
  let user = '', authRevision = 0;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === WireType.LengthDelimited) user = r.string();
    else if (f === 2 && t === WireType.Varint) authRevision = readUint(r);
    else return false;
    return true;
  });
  return { user, authRevision };
}

export function writeAuthResult(w: BinaryWriter, res: AuthResult): void {
  putMessage(w, AUTH_RESULT_FIELD, (w) => {
    putMessage(w, 1, (w) => putUint(w, 1, res.revision));
    putUint(w, 2, res.authRevision);
    if (res.failure !== null) putString(w, 3, res.failure);
  });
}

function readHeaderRevision(r: BinaryReader, end: number): number {
  let revision = 0;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === WireType.Varint) revision = readUint(r);
    else return false;
    return true;
  });
  return revision;
}

export function readAuthResult(r: BinaryReader, end: number): AuthResult {
  let revision = 0, authRevision = 0, failure: AuthResult['failure'] = null;
  const known = new Set<string>(Object.values(AuthFailure));
  readFields(r, end, (f, t) => {
    if (f === 1 && t === WireType.LengthDelimited) revision = readNested(r, readHeaderRevision);
    else if (f === 2 && t === WireType.Varint) authRevision = readUint(r);
    else if (f === 3 && t === WireType.LengthDelimited) {
      const s = r.string();
      if (!known.has(s)) throw new CorruptionError(`unknown auth failure ${JSON.stringify(s)}`);
      failure = s as AuthResult['failure'];
    } else return false;
    return true;
  });
  return { kind: 'auth', revision, authRevision, failure };
}
