/** Named limits of the auth state: it lives in memory on every member and in one db record. */
export const AuthLimits = {
  usersMax: 10_000,
  rolesMax: 10_000,
  /** Roles one user may hold. */
  rolesPerUserMax: 256,
  permsPerRoleMax: 1_000,
  /** User and role names, in UTF-8 bytes. */
  nameBytesMax: 256,
  passwordBytesMax: 1_024,
  /** Password hashes and checks (scrypt, tens of ms each) running at once on one member; more are refused. */
  passwordHashesInFlightMax: 16,
  /** Simple tokens alive at once on one member; beyond it the soonest to expire is dropped. */
  tokensMax: 100_000,
} as const;
