import type { Metadata } from '@grpc/grpc-js';
import { InvalidArgumentError } from '../common/errors.js';
import type { Command, CommandResult } from '../kv/types.js';
import type { CallScope } from './call-signal.js';
import type { UnaryMethod } from './forward.js';
import type { HandlerContext } from './handler.js';

/**
 * TEST-ONLY fault injection, read once at startup: RAFTKV_TEST_BROKEN=stale-reads makes followers
 * answer LINEARIZABLE reads from local state without the ReadIndex fence. It exists so the fault
 * harness (test/faults) can prove it catches stale reads; never set it anywhere else.
 */
const BROKEN_STALE_READS = process.env['RAFTKV_TEST_BROKEN'] === 'stale-reads';

/**
 * The one write path and the one read path of the KV API, shared by every API that speaks to the
 * store (raftkv.v1 KV and etcd's etcdserverpb.KV): an operation differs between them only in how
 * its request and response are spelled.
 */
export interface KvCore {
  /**
   * Validates `cmd`, then replicates it through the leader. On a follower the original request is
   * forwarded to the leader's `method` (the same API the caller used), which answers it itself.
   */
  write<Req, Res>(scope: CallScope, md: Metadata, method: UnaryMethod<Req, Res>, req: Req, cmd: Command, answer: (r: CommandResult) => Res): Promise<Res>;
  /** A linearizable read fences on ReadIndex here (it works on followers); a serializable one does not. */
  read<Res>(scope: CallScope, linearizable: boolean, local: () => Promise<Res>): Promise<Res>;
}

export function createKvCore(ctx: HandlerContext): KvCore {
  const { node, kv } = ctx.deps;
  return {
    write: async (scope, md, method, req, cmd0, answer) => {
      // An identified caller's command carries who it runs for: the state machine checks again at apply.
      const stamp = cmd0.caller ?? ctx.auth.stamp(scope.caller);
      const cmd = stamp === undefined ? cmd0 : { ...cmd0, caller: stamp };
      kv.validateCommand(cmd);
      const bytes = kv.encodeCommand(cmd);
      return ctx.router.onLeader(scope, md, method, req, async (signal) => {
        const { result } = await node.apply(bytes, { signal });
        const r = result as CommandResult;
        if (r.kind === 'invalid') throw new InvalidArgumentError(r.message);
        return answer(r);
      }, { idempotent: cmd.requestId !== null });
    },
    read: async (scope, linearizable, local) => {
      if (!linearizable) return local();
      if (BROKEN_STALE_READS && !node.isLeader()) return local(); // TEST-ONLY: see BROKEN_STALE_READS
      return ctx.router.withLeader(scope, async (signal) => {
        await node.readIndex({ signal });
        return local();
      });
    },
  };
}
