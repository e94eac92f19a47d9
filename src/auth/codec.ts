import { PermType, type AuthCommand } from './types.js';

/**
 * AuthCommand <-> bytes: UTF-8 JSON with byte strings in base64. Auth commands are rare and small,
 * so a readable encoding wins over a compact one; keys are written in a fixed order, so the same
 * command always encodes to the same bytes.
 */
export function encodeAuthCommand(c: AuthCommand): Uint8Array {
  const b64 = (x: Uint8Array): string => Buffer.from(x).toString('base64');
  let j: Record<string, unknown>;
  switch (c.kind) {
    case 'roleGrantPermission':
      j = { kind: c.kind, name: c.name, perm: { type: c.perm.type, key: b64(c.perm.key), rangeEnd: b64(c.perm.rangeEnd) } };
      break;
    case 'roleRevokePermission':
      j = { kind: c.kind, name: c.name, key: b64(c.key), rangeEnd: b64(c.rangeEnd) };
      break;
    default:
      j = { ...c };
  }
  return new Uint8Array(Buffer.from(JSON.stringify(j), 'utf8'));
}

const KINDS = new Set<AuthCommand['kind']>([
  'enable', 'disable', 'userAdd', 'userDelete', 'userChangePassword', 'userGrantRole', 'userRevokeRole',
  'roleAdd', 'roleDelete', 'roleGrantPermission', 'roleRevokePermission', 'authenticate',
]);

/** Throws an Error naming the problem on bytes that are not an auth command. */
export function decodeAuthCommand(bytes: Uint8Array): AuthCommand {
  const j = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  const kind = j['kind'] as AuthCommand['kind'];
  if (!KINDS.has(kind)) throw new Error(`unknown auth command ${JSON.stringify(kind)}`);
  const str = (k: string): string => {
    const v = j[k];
    if (typeof v !== 'string') throw new Error(`auth command ${kind}: ${k} is not a string`);
    return v;
  };
  const bytesOf = (v: unknown): Uint8Array => {
    if (typeof v !== 'string') throw new Error(`auth command ${kind}: a key is not base64`);
    return new Uint8Array(Buffer.from(v, 'base64'));
  };
  switch (kind) {
    case 'enable':
    case 'disable':
      return { kind };
    case 'userAdd':
    case 'userChangePassword':
      return { kind, name: str('name'), passwordHash: str('passwordHash') };
    case 'userDelete':
    case 'roleAdd':
    case 'roleDelete':
      return { kind, name: str('name') };
    case 'userGrantRole':
    case 'userRevokeRole':
      return { kind, name: str('name'), role: str('role') };
    case 'authenticate':
      return { kind, name: str('name'), token: str('token') };
    case 'roleGrantPermission': {
      const p = j['perm'] as Record<string, unknown> | undefined;
      const type = p?.['type'];
      if (type !== PermType.Read && type !== PermType.Write && type !== PermType.ReadWrite) throw new Error('auth command roleGrantPermission: bad permission type');
      return { kind, name: str('name'), perm: { type, key: bytesOf(p?.['key']), rangeEnd: bytesOf(p?.['rangeEnd']) } };
    }
    case 'roleRevokePermission':
      return { kind, name: str('name'), key: bytesOf(j['key']), rangeEnd: bytesOf(j['rangeEnd']) };
  }
}
