import { ErrorCode, InvalidArgumentError, RaftkvError } from '../common/errors.js';
import { ClusterService, KeyringOp, type KeyringMember, type KeyringRequest, type KeyringResponse } from '../gen/raftkv/v1/cluster.js';
import type { CallScope } from './call-signal.js';
import type { ServiceGossip } from './deps.js';
import type { Forwarder } from './forward.js';

export class GossipEncryptionOffError extends RaftkvError {
  override readonly name = 'GossipEncryptionOffError';
  constructor() {
    super(ErrorCode.FailedPrecondition, 'gossip encryption is off on this member: start it with --gossip_key (its keyring then lives in --gossip_keyring_file)');
  }
}

/** Members asked at once when a keyring request fans out. */
const FANOUT_CONCURRENCY_MAX = 16;

/**
 * `consul keyring` for raftkv: a request applies to this member, and unless it is local_only, to
 * every other alive gossip member too, each asked with local_only over the member-to-member channel
 * (peer TLS when configured). Rotation without downtime: install the new key everywhere, use it
 * everywhere, then remove the old one; every member keeps decrypting with all installed keys.
 */
export async function handleKeyring(req: KeyringRequest, scope: CallScope, gossip: ServiceGossip | undefined, selfId: number, forwarder: Forwarder): Promise<KeyringMember[]> {
  checkRequest(req);
  const here = await applyLocally(req, gossip, selfId);
  if (req.localOnly || gossip === undefined) return [here];
  const others = gossip.aliveMembers().filter((m) => m.id !== selfId);
  const out: KeyringMember[] = [here];
  for (let i = 0; i < others.length; i += FANOUT_CONCURRENCY_MAX) {
    const batch = others.slice(i, i + FANOUT_CONCURRENCY_MAX);
    out.push(...(await Promise.all(batch.map((m) => askMember(m, req, scope, forwarder)))));
  }
  return out.sort((a, b) => a.id - b.id);
}

function checkRequest(req: KeyringRequest): void {
  const known = [KeyringOp.KEYRING_OP_LIST, KeyringOp.KEYRING_OP_INSTALL, KeyringOp.KEYRING_OP_USE, KeyringOp.KEYRING_OP_REMOVE];
  if (!known.includes(req.op)) throw new InvalidArgumentError(`keyring op ${req.op} is not known: want list, install, use or remove`);
  if (req.op !== KeyringOp.KEYRING_OP_LIST && req.key === '') throw new InvalidArgumentError('install, use and remove need a key (base64 of 32 bytes)');
}

async function applyLocally(req: KeyringRequest, gossip: ServiceGossip | undefined, selfId: number): Promise<KeyringMember> {
  const base = { id: selfId, grpcAddress: '' };
  const keyring = gossip?.keyring ?? null;
  try {
    if (keyring === null) throw new GossipEncryptionOffError();
    if (req.op === KeyringOp.KEYRING_OP_INSTALL) await keyring.install(req.key);
    else if (req.op === KeyringOp.KEYRING_OP_USE) await keyring.use(req.key);
    else if (req.op === KeyringOp.KEYRING_OP_REMOVE) await keyring.remove(req.key);
    return { ...base, ok: true, error: '', fingerprints: keyring.fingerprints() };
  } catch (e) {
    // An invalid key is the caller's mistake, the same on every member: fail the call, do not fan out.
    if (e instanceof InvalidArgumentError && !(e instanceof GossipEncryptionOffError)) throw e;
    return { ...base, ok: false, error: (e as Error).message, fingerprints: keyring?.fingerprints() ?? [] };
  }
}

async function askMember(m: { id: number; grpcAddr: string }, req: KeyringRequest, scope: CallScope, forwarder: Forwarder): Promise<KeyringMember> {
  try {
    const res: KeyringResponse = await forwarder.call(m.grpcAddr, ClusterService.keyring, { ...req, localOnly: true }, scope.deadlineMs, scope.signal);
    const r = res.members[0];
    if (r === undefined) throw new Error('empty answer');
    return { ...r, id: m.id, grpcAddress: m.grpcAddr };
  } catch (e) {
    return { id: m.id, grpcAddress: m.grpcAddr, ok: false, error: `could not ask member ${m.id} at ${m.grpcAddr}: ${(e as Error).message}`, fingerprints: [] };
  }
}
