import { InvalidArgumentError } from '../common/errors.js';
import { Limits } from '../common/limits.js';
import { AuthLimits } from './limits.js';
import type { AuthCommand } from './types.js';

function checkName(name: string, field: string): void {
  const n = Buffer.byteLength(name, 'utf8');
  if (n > AuthLimits.nameBytesMax) throw new InvalidArgumentError(`${field} is ${n} bytes; the limit is ${AuthLimits.nameBytesMax}`);
}

function checkKey(key: Uint8Array, field: string): void {
  if (key.length > Limits.keyBytesMax) throw new InvalidArgumentError(`${field} is ${key.length} bytes; the limit is ${Limits.keyBytesMax}`);
}

/**
 * Size limits of an auth command, checked before proposing and again at apply time. Empty names are
 * not refused here: they are the state's own failures (etcd's "user name is empty"), with etcd's text.
 */
export function validateAuthCommand(c: AuthCommand): void {
  if ('name' in c) checkName(c.name, 'name');
  if ('role' in c) checkName(c.role, 'role');
  if (c.kind === 'roleGrantPermission') {
    if (c.perm.key.length === 0) throw new InvalidArgumentError('permission key is empty');
    checkKey(c.perm.key, 'permission key');
    checkKey(c.perm.rangeEnd, 'permission range_end');
  }
  if (c.kind === 'roleRevokePermission') {
    checkKey(c.key, 'permission key');
    checkKey(c.rangeEnd, 'permission range_end');
  }
}
