/**
 * The npm `etcd3` client's auth (users, roles, permissions, then a client that logs in) against a
 * 3-node raftkv cluster: what an application using etcd3 with `auth: { username, password }` sees.
 */
import { Etcd3, EtcdPermissionDeniedError } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../service/cluster.js';

describe('npm etcd3 with auth', () => {
  let c: TestCluster;
  const clients: Etcd3[] = [];
  const client = (auth?: { username: string; password: string }): Etcd3 => {
    const e = new Etcd3({ hosts: [...c.nodes.values()].map((n) => n.grpcAddr), ...(auth ? { auth } : {}) });
    clients.push(e);
    return e;
  };

  beforeAll(async () => {
    c = await TestCluster.start(3);
  }, 60_000);

  afterAll(async () => {
    for (const e of clients) e.close();
    await c?.stop();
  });

  it('administers users and roles, then enforces a prefix grant', async () => {
    const open = client();
    const root = await open.user('root').create('rootpw');
    await root.addRole('root');
    await open.role('app').create();
    await open.role('app').grant({ permission: 'Readwrite', range: open.range({ prefix: 'app/' }) });
    const alice = await open.user('alice').create('alicepw');
    await alice.addRole('app');
    expect(await alice.roles().then((rs) => rs.map((r) => r.name))).toEqual(['app']);
    await open.auth.authEnable({});

    const asAlice = client({ username: 'alice', password: 'alicepw' });
    await asAlice.put('app/x').value('1');
    expect(await asAlice.get('app/x').string()).toBe('1');
    await expect(asAlice.put('other').value('1')).rejects.toBeInstanceOf(EtcdPermissionDeniedError);
    await expect(asAlice.get('other').string()).rejects.toBeInstanceOf(EtcdPermissionDeniedError);

    const asRoot = client({ username: 'root', password: 'rootpw' });
    expect((await asRoot.getRoles()).map((r) => r.name).sort()).toEqual(['app']);
    expect((await asRoot.getUsers()).map((u) => u.name).sort()).toEqual(['alice', 'root']);
    await asRoot.put('other').value('root may');
    await asRoot.user('alice').removeRole('app');
    await expect(asAlice.get('app/x').string()).rejects.toBeInstanceOf(EtcdPermissionDeniedError);
  }, 60_000);
});
