import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Server } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';

/** The descriptor set `npm run gen:proto` writes, next to the generated code (src/ or dist/). */
const CANDIDATES = ['../gen/raftkv.binpb', '../../src/gen/raftkv.binpb'];

/** Adds server reflection for raftkv.v1; returns false when the descriptor set is not found. */
export function addReflection(server: Server): boolean {
  for (const rel of CANDIDATES) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (!existsSync(path)) continue;
    const pkg = loadFileDescriptorSetFromBuffer(readFileSync(path));
    new ReflectionService(pkg).addToServer(server);
    return true;
  }
  return false;
}
