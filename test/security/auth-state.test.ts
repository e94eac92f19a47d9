import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthState, PermType, covers, hashPassword, intervalOf, verifyPassword, type AuthCommand } from '../../src/auth/index.js';
import { SimpleTokens } from '../../src/auth/simple-tokens.js';
import { JwtTokens } from '../../src/auth/jwt.js';
import { parseTokenConfig } from '../../src/auth/token-config.js';
import { encodeCommand, decodeCommand, encodeCommandResult, decodeCommandResult, type Command, type CommandResult } from '../../src/kv/index.js';
import { RejectReason } from '../../src/kv/types.js';
import { generateKeyPairSync } from 'node:crypto';
import { b, openStore, delCmd, putCmd, tempDir } from '../kv/helpers.js';

const auth = (a: AuthCommand): Command => ({ op: { kind: 'auth', auth: a }, requestId: null });
const as = (cmd: Command, user: string, authRevision = 0): Command => ({ ...cmd, caller: { user, authRevision } });
const perm = (type: PermType, key: string, rangeEnd = '') => ({ type, key: b(key), rangeEnd: b(rangeEnd) });

describe('permission intervals', () => {
  it('covers a range only when the union of grants covers all of it', () => {
    const p = [perm(PermType.Read, 'a', 'c'), perm(PermType.ReadWrite, 'c', 'e')];
    expect(covers(p, 'read', intervalOf(b('a'), b('e')))).toBe(true);
    expect(covers(p, 'read', intervalOf(b('a'), b('f')))).toBe(false);
    expect(covers(p, 'write', intervalOf(b('a'), b('d')))).toBe(false);
    expect(covers(p, 'write', intervalOf(b('c'), b('')))).toBe(true);
    expect(covers([perm(PermType.Write, 'x', '\0')], 'write', intervalOf(b('zzz'), Uint8Array.of(0)))).toBe(true);
    expect(covers([perm(PermType.Write, 'k')], 'write', intervalOf(b('k'), b('')))).toBe(true);
    expect(covers([perm(PermType.Write, 'k')], 'write', intervalOf(b('k0'), b('')))).toBe(false);
  });
});

describe('AuthState', () => {
  it('refuses to enable without root, then follows etcd\'s rules for root', () => {
    const s = AuthState.empty();
    expect(s.apply({ kind: 'enable' }).failure).toBe('rootUserNotExist');
    expect(s.apply({ kind: 'userAdd', name: 'root', passwordHash: 'h' }).failure).toBeNull();
    expect(s.apply({ kind: 'enable' }).failure).toBe('rootRoleNotGranted');
    expect(s.apply({ kind: 'userGrantRole', name: 'root', role: 'root' }).failure).toBeNull();
    const before = s.revision;
    expect(s.apply({ kind: 'enable' }).failure).toBeNull();
    expect(s.revision).toBe(before + 1);
    expect(s.apply({ kind: 'userDelete', name: 'root' }).failure).toBe('invalidAuthMgmt');
    expect(s.apply({ kind: 'userRevokeRole', name: 'root', role: 'root' }).failure).toBe('invalidAuthMgmt');
    expect(s.apply({ kind: 'roleRevokePermission', name: 'nope', key: b('a'), rangeEnd: b('') }).failure).toBe('roleNotFound');
    expect(s.apply({ kind: 'userAdd', name: '', passwordHash: '' }).failure).toBe('userEmpty');
  });

  it('round-trips through its JSON record', () => {
    const s = AuthState.empty();
    s.apply({ kind: 'roleAdd', name: 'r' });
    s.apply({ kind: 'roleGrantPermission', name: 'r', perm: perm(PermType.Read, 'a', 'b') });
    s.apply({ kind: 'userAdd', name: 'u', passwordHash: 'x' });
    s.apply({ kind: 'userGrantRole', name: 'u', role: 'r' });
    const t = AuthState.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
    expect(t.toJSON()).toEqual(s.toJSON());
    expect(t.permitted('u', 'read', intervalOf(b('a0'), b('')))).toBe(true);
    expect(t.permitted('u', 'write', intervalOf(b('a0'), b('')))).toBe(false);
  });
});

describe('passwords and tokens', () => {
  it('stores only a salted scrypt hash and verifies it', async () => {
    const h = await hashPassword('s3cret', { N: 1024, r: 8, p: 1 });
    expect(h).not.toContain('s3cret');
    expect(h).not.toBe(await hashPassword('s3cret', { N: 1024, r: 8, p: 1 })); // salted
    expect(await verifyPassword('s3cret', h)).toBe(true);
    expect(await verifyPassword('s3cret!', h)).toBe(false);
    expect(await verifyPassword('', '')).toBe(false);
  });

  it('expires simple tokens after the TTL unless used', () => {
    let now = 0;
    const t = new SimpleTokens({ nowMs: () => now }, 1000);
    t.add('tok.1', 'alice');
    now = 900;
    expect(t.user('tok.1')).toBe('alice'); // extends to 1900
    now = 1800;
    expect(t.user('tok.1')).toBe('alice');
    now = 3000;
    expect(t.user('tok.1')).toBeNull();
  });

  it('signs and checks JWTs (RS256, ES256, HS256) and refuses tampering and expiry', () => {
    let nowS = 1_000;
    for (const [method, privateKey] of [
      ['RS256', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' })],
      ['ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' })],
      ['HS256', Buffer.from('a shared secret of enough length')],
    ] as const) {
      const j = new JwtTokens({ method, privateKey: Buffer.from(privateKey) }, 60_000, () => nowS);
      const tok = j.make('alice', 7);
      expect(j.check(tok)).toEqual({ username: 'alice', revision: 7, exp: nowS + 60 });
      const [h, body, sig] = tok.split('.');
      const forged = Buffer.from(JSON.stringify({ username: 'root', revision: 7, exp: nowS + 60 })).toString('base64url');
      expect(j.check(`${h}.${forged}.${sig}`)).toBeNull();
      expect(j.check(`${h}.${body}.`)).toBeNull();
      nowS += 61;
      expect(j.check(tok)).toBeNull();
    }
  });

  it('parses etcd\'s --auth-token forms', () => {
    expect(parseTokenConfig('simple')).toEqual({ kind: 'simple' });
    expect(parseTokenConfig('jwt,priv-key=/k.pem,sign-method=RS256,ttl=10m')).toEqual({ kind: 'jwt', method: 'RS256', privKeyFile: '/k.pem', ttlMs: 600_000 });
    expect(() => parseTokenConfig('jwt,priv-key=/k.pem')).toThrow(/sign-method/);
    expect(() => parseTokenConfig('jwt,sign-method=XX1,priv-key=a')).toThrow(/sign-method/);
    expect(() => parseTokenConfig('bogus')).toThrow(/simple/);
  });
});

describe('the state machine\'s auth section', () => {
  let cleanup: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await cleanup?.();
    cleanup = null;
  });

  it('encodes auth commands, caller stamps and auth results', () => {
    const c = as(auth({ kind: 'roleGrantPermission', name: 'r', perm: perm(PermType.ReadWrite, 'a', 'b') }), 'root', 3);
    expect(decodeCommand(encodeCommand(c))).toEqual(c);
    const r: CommandResult = { kind: 'auth', revision: 4, authRevision: 9, failure: 'roleNotFound' };
    expect(decodeCommandResult(encodeCommandResult(r))).toEqual(r);
  });

  it('applies auth commands, gates stamped writes at apply time, and keeps both across reopen and restore', async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    let st = await openStore(t.dir);
    let i = 0;
    const apply = (c: Command) => st.apply(++i, encodeCommand(c));
    for (const c of [
      auth({ kind: 'userAdd', name: 'root', passwordHash: 'h' }),
      auth({ kind: 'userGrantRole', name: 'root', role: 'root' }),
      auth({ kind: 'userAdd', name: 'alice', passwordHash: 'h' }),
      auth({ kind: 'roleAdd', name: 'app' }),
      auth({ kind: 'roleGrantPermission', name: 'app', perm: perm(PermType.ReadWrite, 'app/', 'app0') }),
      auth({ kind: 'userGrantRole', name: 'alice', role: 'app' }),
    ]) expect(await apply(c)).toMatchObject({ kind: 'auth', failure: null });
    // Auth off: a stamped write passes whatever the user.
    expect(await apply(as(putCmd('other', 'v'), 'alice'))).toMatchObject({ kind: 'put' });
    expect(await apply(auth({ kind: 'enable' }))).toMatchObject({ kind: 'auth', failure: null });
    expect(await apply(as(putCmd('app/x', 'v'), 'alice'))).toMatchObject({ kind: 'put' });
    expect(await apply(as(putCmd('other', 'v'), 'alice'))).toMatchObject({ kind: 'rejected', reason: RejectReason.PermissionDenied });
    // A delete from a key on (range_end "\0") reaches past alice's range: refused, not checked as one key.
    expect(await apply(as(delCmd({ key: 'app/x', fromKey: true }), 'alice'))).toMatchObject({ kind: 'rejected', reason: RejectReason.PermissionDenied });
    expect(await apply(as(delCmd({ key: 'app/x', rangeEnd: 'app0' }), 'alice'))).toMatchObject({ kind: 'delete', deleted: 1 });
    expect(await apply(as(putCmd('app/x', 'v'), 'alice'))).toMatchObject({ kind: 'put' });
    expect(await apply(as(putCmd('other', 'v'), ''))).toMatchObject({ kind: 'rejected', reason: RejectReason.AuthOldRevision });
    expect(await apply(as(auth({ kind: 'roleAdd', name: 'x' }), 'alice'))).toMatchObject({ kind: 'rejected', reason: RejectReason.PermissionDenied });
    expect(await apply(as(putCmd('other', 'v'), 'root'))).toMatchObject({ kind: 'put' });
    expect(await apply(putCmd('other', 'v2'))).toMatchObject({ kind: 'put' }); // the members' own commands pass
    const rev = st.auth().revision;

    await st.close();
    st = await openStore(t.dir);
    expect(st.auth().enabled).toBe(true);
    expect(st.auth().revision).toBe(rev);
    // A revoke takes effect at its place in the log.
    expect(await apply(as(auth({ kind: 'userRevokeRole', name: 'alice', role: 'app' }), 'root'))).toMatchObject({ failure: null });
    expect(await apply(as(putCmd('app/x', 'v'), 'alice'))).toMatchObject({ kind: 'rejected', reason: RejectReason.PermissionDenied });

    const snap = await st.snapshot();
    const chunks: Buffer[] = [];
    for await (const c of snap.stream) chunks.push(c as Buffer);
    const t2 = await tempDir();
    const other = await openStore(t2.dir);
    try {
      const resets: string[] = [];
      other.onAuthChange((c) => resets.push(c.kind));
      await other.restore(Readable.from([Buffer.concat(chunks)]));
      expect(resets).toEqual(['reset']);
      expect(other.auth().toJSON()).toEqual(st.auth().toJSON());
      expect(other.auth().user('alice')?.roles).toEqual([]);
    } finally {
      await other.close();
      await t2.cleanup();
      await st.close();
    }
  });
});
