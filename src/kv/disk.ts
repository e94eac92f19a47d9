import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openDb, type Db } from './db.js';
import { fsyncTree, prepareKvDir, writePointer } from './dirs.js';

/**
 * Where the state machine keeps its databases: a set of named databases (`db-<n>`) and a durable
 * pointer naming the active one. Production is a directory of classic-level databases
 * (`FsKvDisk`); the whole-node simulation supplies an in-memory disk that loses unsynced writes on a
 * crash (test/sim/node/kv-disk.ts), so KvStore runs unchanged on both.
 */
export interface KvDisk {
  /** For error messages: where the databases live. */
  readonly location: string;
  /** Makes the disk usable after whatever a crash left; returns the active database's name. */
  prepare(): Promise<string>;
  /** Opens (creating if missing) the database `name`. */
  open(name: string): Promise<Db>;
  /** Makes a written and closed database durable. */
  seal(name: string): Promise<void>;
  /** Atomically and durably makes `name` the active database. */
  activate(name: string): Promise<void>;
  /** Deletes a database (closed, or never opened); absent is not an error. */
  remove(name: string): Promise<void>;
}

/** The production disk: `<raft_data_dir>/<raft_id>/kv` (layout and crash rules in dirs.ts). */
export class FsKvDisk implements KvDisk {
  constructor(readonly location: string) {}

  prepare(): Promise<string> {
    return prepareKvDir(this.location);
  }

  open(name: string): Promise<Db> {
    return openDb(join(this.location, name));
  }

  seal(name: string): Promise<void> {
    return fsyncTree(join(this.location, name));
  }

  activate(name: string): Promise<void> {
    return writePointer(this.location, name);
  }

  remove(name: string): Promise<void> {
    return rm(join(this.location, name), { recursive: true, force: true });
  }
}
