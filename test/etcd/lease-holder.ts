/**
 * A child process that holds an etcd lease with the npm etcd3 client and keeps it alive: it grants a
 * lease of TTL argv[4] seconds on the endpoints argv[2] (comma-separated), puts key argv[3] with it,
 * prints one JSON line {"lease": "<decimal id>"} and then keeps the lease alive until it is killed.
 */
import { Etcd3 } from 'etcd3';

const [endpoints, key, ttl] = process.argv.slice(2);
if (endpoints === undefined || key === undefined || ttl === undefined) throw new Error('usage: lease-holder <endpoints> <key> <ttl>');
const client = new Etcd3({ hosts: endpoints.split(',') });
const lease = client.lease(Number(ttl));
lease.on('lost', (err) => {
  process.stderr.write(`lease lost: ${err.message}\n`);
  process.exit(3);
});
const id = await lease.grant();
await lease.put(key).value('held');
process.stdout.write(`${JSON.stringify({ lease: id })}\n`);
