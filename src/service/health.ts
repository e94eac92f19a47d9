import type { Server } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { LeaderInfo, ServiceNode } from './node-port.js';

/** Services reported by grpc.health.v1 ('' is the whole server). */
const SERVICES = ['', 'raftkv.v1.KV', 'raftkv.v1.Cluster'];

/** grpc.health.v1: SERVING while the node knows a leader, NOT_SERVING otherwise or when stopping. */
export class HealthReporter {
  private readonly impl = new HealthImplementation();
  private readonly onLeader = (l: LeaderInfo | null): void => this.set(l !== null);

  constructor(private readonly node: ServiceNode) {
    this.set(node.leader() !== null);
    node.on('leader-change', this.onLeader);
  }

  addToServer(server: Server): void {
    this.impl.addToServer(server);
  }

  private set(serving: boolean): void {
    for (const s of SERVICES) this.impl.setStatus(s, serving ? 'SERVING' : 'NOT_SERVING');
  }

  stop(): void {
    this.node.off('leader-change', this.onLeader);
    this.set(false);
  }
}
