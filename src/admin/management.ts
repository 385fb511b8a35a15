import { createCredentialRepository } from '../auth/credential.repository.js';
import type { Clock } from '../clock.js';
import type { Store } from '../db/database.js';
import { createAdminRepository } from './admin.repository.js';
import { type AdminService, createAdminService } from './admin.service.js';
import { type CredentialAdminService, createCredentialAdminService } from './credential-admin.service.js';

/** The services behind the management API, the fixture loader and the demo data. */
export interface Management {
  records: AdminService;
  credentials: CredentialAdminService;
}

export function createManagement(store: Store, clock: Clock, onCredentialChange?: () => void): Management {
  const records = createAdminService({ repository: createAdminRepository(store), clock });
  const credentials = createCredentialAdminService({
    credentials: createCredentialRepository(store),
    orgExists: records.orgExists,
    clock,
    ...(onCredentialChange ? { onChange: onCredentialChange } : {}),
  });
  return { records, credentials };
}
