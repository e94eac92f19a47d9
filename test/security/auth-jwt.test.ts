/**
 * `--auth_token jwt,...` on a 3-node cluster of real processes: tokens are signed JWTs (ES256 here)
 * that every member verifies without replication, refused once expired or when forged.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthClient, KVClient, PutRequest, RangeRequest, type RangeResponse } from '../../src/gen/etcd/etcdserverpb/rpc.js';
import { TestCluster, unary } from '../service/cluster.js';

const TTL_S = 2;

describe('JWT auth tokens across members', () => {
  let c: TestCluster;
  let dir = '';
  const clients: Array<{ close(): void }> = [];
  const kv = (addr: string): KVClient => {
    const k = new KVClient(addr, credentials.createInsecure());
    clients.push(k);
    return k;
  };
  const auth = (addr: string): AuthClient => {
    const a = new AuthClient(addr, credentials.createInsecure());
    clients.push(a);
    return a;
  };
  const withToken = (token: string): Metadata => {
    const md = new Metadata();
    md.set('token', token);
    return md;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'raftkv-jwt-'));
    const key = join(dir, 'jwt.key');
    await writeFile(key, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    c = await TestCluster.start(3, [`--auth_token=jwt,priv-key=${key},sign-method=ES256,ttl=${TTL_S}s`]);
    const a = auth(c.node(1).grpcAddr);
    await unary((cb) => a.userAdd({ name: 'root', password: 'rootpw' }, cb));
    await unary((cb) => a.userGrantRole({ user: 'root', role: 'root' }, cb));
    await unary((cb) => a.authEnable({}, cb));
  }, 60_000);

  afterAll(async () => {
    for (const x of clients) x.close();
    await c?.stop();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('signs on any member, verifies on every member, and expires', async () => {
    const { token } = await unary<{ token: string }>((cb) => auth(c.node(2).grpcAddr).authenticate({ name: 'root', password: 'rootpw' }, cb));
    expect(token.split('.')).toHaveLength(3);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { username: string; exp: number; revision: number };
    expect(claims.username).toBe('root');
    await unary((cb) => kv(c.node(3).grpcAddr).put(PutRequest.fromPartial({ key: Buffer.from('k'), value: Buffer.from('v') }), withToken(token), cb));
    for (const n of c.nodes.values()) {
      const r = await unary<RangeResponse>((cb) => kv(n.grpcAddr).range(RangeRequest.fromPartial({ key: Buffer.from('k') }), withToken(token), cb));
      expect(r.kvs[0]?.value.toString()).toBe('v');
    }
    // A token with its claims changed (root → someone else's signature) is refused.
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 3600 })).toString('base64url')}.${s}`;
    const err1 = await unary((cb) => kv(c.node(1).grpcAddr).range(RangeRequest.fromPartial({ key: Buffer.from('k') }), withToken(forged), cb)).then(() => null, (e: ServiceError) => e);
    expect(err1?.details).toBe('etcdserver: invalid auth token');
    await new Promise((r) => setTimeout(r, (TTL_S + 1) * 1000));
    const err2 = await unary((cb) => kv(c.node(1).grpcAddr).range(RangeRequest.fromPartial({ key: Buffer.from('k') }), withToken(token), cb)).then(() => null, (e: ServiceError) => e);
    expect(err2?.code).toBe(16);
    expect(err2?.details).toBe('etcdserver: invalid auth token');
    const bad = await unary((cb) => auth(c.node(1).grpcAddr).authenticate({ name: 'root', password: 'nope' }, cb)).then(() => null, (e: ServiceError) => e);
    expect(bad?.details).toBe('etcdserver: authentication failed, invalid user ID or password');
  }, 20_000);
});
