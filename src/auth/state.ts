import { AuthLimits } from './limits.js';
import { covers, type KeyInterval } from './perms.js';
import { AuthFailure, ROOT, type AuthCommand, type AuthOutcome, type Permission, type Role, type User } from './types.js';

/**
 * The replicated auth state: whether auth is on, its revision, users and roles. `apply` is pure and
 * deterministic (the same command on the same state gives the same outcome on every member); password
 * hashing and token making happen before a command is proposed, never here.
 */
export class AuthState {
  private constructor(
    private enabledFlag: boolean,
    private rev: number,
    private readonly users: Map<string, User>,
    private readonly roles: Map<string, Role>,
  ) {}

  static empty(): AuthState {
    return new AuthState(false, 0, new Map(), new Map());
  }

  get enabled(): boolean {
    return this.enabledFlag;
  }

  /** etcd's auth revision: bumped by every change of users, roles, permissions or the on/off switch. */
  get revision(): number {
    return this.rev;
  }

  clone(): AuthState {
    return new AuthState(this.enabledFlag, this.rev, new Map(this.users), new Map(this.roles));
  }

  user(name: string): User | null {
    return this.users.get(name) ?? null;
  }

  role(name: string): Role | null {
    return this.roles.get(name) ?? null;
  }

  userNames(): string[] {
    return [...this.users.keys()].sort();
  }

  roleNames(): string[] {
    return [...this.roles.keys()].sort();
  }

  /** A user holding the root role may do everything. */
  isRoot(name: string): boolean {
    return this.users.get(name)?.roles.includes(ROOT) ?? false;
  }

  /** May `name` read (or write) every key of `interval`? Root may; an unknown user may not. */
  permitted(name: string, want: 'read' | 'write', interval: KeyInterval): boolean {
    const user = this.users.get(name);
    if (user === undefined) return false;
    if (user.roles.includes(ROOT)) return true;
    const perms: Permission[] = [];
    for (const r of user.roles) perms.push(...(this.roles.get(r)?.perms ?? []));
    return covers(perms, want, interval);
  }

  apply(cmd: AuthCommand): AuthOutcome {
    const failure = this.change(cmd);
    return { failure, authRevision: this.rev };
  }

  private bump(): null {
    this.rev++;
    return null;
  }

  private change(c: AuthCommand): AuthFailure | null {
    switch (c.kind) {
      case 'enable': {
        if (this.enabledFlag) return null; // enabling twice is a no-op, as in etcd
        const root = this.users.get(ROOT);
        if (root === undefined) return AuthFailure.RootUserNotExist;
        if (!root.roles.includes(ROOT)) return AuthFailure.RootRoleNotGranted;
        this.enabledFlag = true;
        return this.bump();
      }
      case 'disable':
        if (!this.enabledFlag) return null;
        this.enabledFlag = false;
        return this.bump();
      case 'authenticate':
        if (!this.enabledFlag) return AuthFailure.AuthNotEnabled;
        return this.users.has(c.name) ? null : AuthFailure.AuthFailed;
      case 'userAdd':
        if (c.name === '') return AuthFailure.UserEmpty;
        if (this.users.has(c.name)) return AuthFailure.UserExists;
        if (this.users.size >= AuthLimits.usersMax) return AuthFailure.TooMany;
        this.users.set(c.name, { name: c.name, passwordHash: c.passwordHash, roles: [] });
        return this.bump();
      case 'userDelete':
        if (this.enabledFlag && c.name === ROOT) return AuthFailure.InvalidAuthManagement;
        if (!this.users.delete(c.name)) return AuthFailure.UserNotFound;
        return this.bump();
      case 'userChangePassword': {
        const u = this.users.get(c.name);
        if (u === undefined) return AuthFailure.UserNotFound;
        this.users.set(c.name, { ...u, passwordHash: c.passwordHash });
        return this.bump();
      }
      case 'userGrantRole': {
        const u = this.users.get(c.name);
        if (u === undefined) return AuthFailure.UserNotFound;
        // The root role may be granted before it exists as a role object (etcd allows it).
        if (c.role !== ROOT && !this.roles.has(c.role)) return AuthFailure.RoleNotFound;
        if (u.roles.includes(c.role)) return null; // already held: nothing changes
        if (u.roles.length >= AuthLimits.rolesPerUserMax) return AuthFailure.TooMany;
        this.users.set(c.name, { ...u, roles: [...u.roles, c.role].sort() });
        return this.bump();
      }
      case 'userRevokeRole': {
        if (this.enabledFlag && c.name === ROOT && c.role === ROOT) return AuthFailure.InvalidAuthManagement;
        const u = this.users.get(c.name);
        if (u === undefined) return AuthFailure.UserNotFound;
        if (!u.roles.includes(c.role)) return AuthFailure.RoleNotGranted;
        this.users.set(c.name, { ...u, roles: u.roles.filter((r) => r !== c.role) });
        return this.bump();
      }
      case 'roleAdd':
        if (c.name === '') return AuthFailure.RoleEmpty;
        if (this.roles.has(c.name)) return AuthFailure.RoleExists;
        if (this.roles.size >= AuthLimits.rolesMax) return AuthFailure.TooMany;
        this.roles.set(c.name, { name: c.name, perms: [] });
        return this.bump();
      case 'roleDelete':
        if (this.enabledFlag && c.name === ROOT) return AuthFailure.InvalidAuthManagement;
        if (!this.roles.delete(c.name)) return AuthFailure.RoleNotFound;
        // Users lose the deleted role too, as in etcd.
        for (const [name, u] of this.users) if (u.roles.includes(c.name)) this.users.set(name, { ...u, roles: u.roles.filter((r) => r !== c.name) });
        return this.bump();
      case 'roleGrantPermission': {
        const r = this.roles.get(c.name);
        if (r === undefined) return AuthFailure.RoleNotFound;
        const same = (p: Permission): boolean => Buffer.compare(p.key, c.perm.key) === 0 && Buffer.compare(p.rangeEnd, c.perm.rangeEnd) === 0;
        const rest = r.perms.filter((p) => !same(p));
        if (rest.length >= AuthLimits.permsPerRoleMax) return AuthFailure.TooMany;
        // Granting the same key range again replaces its type.
        const perms = [...rest, c.perm].sort((a, b) => Buffer.compare(a.key, b.key) || Buffer.compare(a.rangeEnd, b.rangeEnd));
        this.roles.set(c.name, { ...r, perms });
        return this.bump();
      }
      case 'roleRevokePermission': {
        const r = this.roles.get(c.name);
        if (r === undefined) return AuthFailure.RoleNotFound;
        const perms = r.perms.filter((p) => !(Buffer.compare(p.key, c.key) === 0 && Buffer.compare(p.rangeEnd, c.rangeEnd) === 0));
        if (perms.length === r.perms.length) return AuthFailure.PermissionNotGranted;
        this.roles.set(c.name, { ...r, perms });
        return this.bump();
      }
    }
  }

  // ---- persistence: the whole state as one JSON record (it is small and changes rarely) ----

  toJSON(): AuthStateJson {
    return {
      v: 1,
      enabled: this.enabledFlag,
      revision: this.rev,
      users: [...this.users.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((u) => ({ name: u.name, passwordHash: u.passwordHash, roles: [...u.roles] })),
      roles: [...this.roles.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((r) => ({
        name: r.name,
        perms: r.perms.map((p) => ({ type: p.type, key: Buffer.from(p.key).toString('base64'), rangeEnd: Buffer.from(p.rangeEnd).toString('base64') })),
      })),
    };
  }

  /** Throws on a record that is not an auth state (the caller reports it as corruption). */
  static fromJSON(j: AuthStateJson): AuthState {
    if (j.v !== 1 || !isList(j.users) || !isList(j.roles)) throw new Error('not an auth state record');
    const [usersJ, rolesJ] = [j.users, j.roles];
    const users = new Map(usersJ.map((u) => [u.name, { name: String(u.name), passwordHash: String(u.passwordHash), roles: u.roles.map(String) }]));
    const roles = new Map<string, Role>(rolesJ.map((r): [string, Role] => [r.name, {
      name: String(r.name),
      perms: r.perms.map((p): Permission => ({ type: p.type, key: new Uint8Array(Buffer.from(p.key, 'base64')), rangeEnd: new Uint8Array(Buffer.from(p.rangeEnd, 'base64')) })),
    }]));
    return new AuthState(j.enabled === true, Number(j.revision), users, roles);
  }
}

export interface AuthStateJson {
  readonly v: 1;
  readonly enabled: boolean;
  readonly revision: number;
  readonly users: ReadonlyArray<{ name: string; passwordHash: string; roles: string[] }>;
  readonly roles: ReadonlyArray<{ name: string; perms: Array<{ type: Permission['type']; key: string; rangeEnd: string }> }>;
}

/** Array.isArray without its type guard: a parsed record's fields keep their declared types. */
function isList(v: unknown): boolean {
  return Array.isArray(v);
}
