/**
 * The auth model of etcd v3 (users, roles, key permissions), as raftkv replicates it. Byte strings are
 * Uint8Array; user and role names are strings (etcd's are bytes on the wire but UTF-8 in practice).
 */
export const PermType = { Read: 0, Write: 1, ReadWrite: 2 } as const;
export type PermType = (typeof PermType)[keyof typeof PermType];

/** etcd's key + range_end form: empty rangeEnd = the one key, "\0" = every key from key on. */
export interface Permission {
  readonly type: PermType;
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array;
}

export interface User {
  readonly name: string;
  /** A password hash from src/auth/password.ts; '' for a user added with no_password (CN or token only). */
  readonly passwordHash: string;
  /** Sorted, unique. */
  readonly roles: readonly string[];
}

export interface Role {
  readonly name: string;
  /** Sorted by key, then range end; one entry per (key, rangeEnd). */
  readonly perms: readonly Permission[];
}

export const ROOT = 'root';

/** One replicated change of the auth state (the payload of a Command whose op kind is 'auth'). */
export type AuthCommand =
  | { readonly kind: 'enable' }
  | { readonly kind: 'disable' }
  | { readonly kind: 'userAdd'; readonly name: string; readonly passwordHash: string }
  | { readonly kind: 'userDelete'; readonly name: string }
  | { readonly kind: 'userChangePassword'; readonly name: string; readonly passwordHash: string }
  | { readonly kind: 'userGrantRole'; readonly name: string; readonly role: string }
  | { readonly kind: 'userRevokeRole'; readonly name: string; readonly role: string }
  | { readonly kind: 'roleAdd'; readonly name: string }
  | { readonly kind: 'roleDelete'; readonly name: string }
  | { readonly kind: 'roleGrantPermission'; readonly name: string; readonly perm: Permission }
  | { readonly kind: 'roleRevokePermission'; readonly name: string; readonly key: Uint8Array; readonly rangeEnd: Uint8Array }
  /** A simple token, made by the member that checked the password; every member learns it by applying this. */
  | { readonly kind: 'authenticate'; readonly name: string; readonly token: string };

/**
 * Why an auth command or check failed. Stable names; the etcd service maps each to etcd's own
 * error text and gRPC code (src/service/etcd/errors.ts).
 */
export const AuthFailure = {
  RootUserNotExist: 'rootUserNotExist',
  RootRoleNotGranted: 'rootRoleNotGranted',
  UserExists: 'userExists',
  UserNotFound: 'userNotFound',
  RoleExists: 'roleExists',
  RoleNotFound: 'roleNotFound',
  RoleNotGranted: 'roleNotGranted',
  PermissionNotGranted: 'permissionNotGranted',
  InvalidAuthManagement: 'invalidAuthMgmt',
  UserEmpty: 'userEmpty',
  RoleEmpty: 'roleEmpty',
  AuthFailed: 'authFailed',
  AuthNotEnabled: 'authNotEnabled',
  PermissionDenied: 'permissionDenied',
  InvalidToken: 'invalidToken',
  OldRevision: 'authOldRevision',
  TooMany: 'authTooMany',
} as const;
export type AuthFailure = (typeof AuthFailure)[keyof typeof AuthFailure];

/** What applying an auth command did: nothing (`failure` set) or a change at `authRevision`. */
export interface AuthOutcome {
  readonly failure: AuthFailure | null;
  readonly authRevision: number;
}
