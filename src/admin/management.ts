import { createCredentialRepository } from '../auth/credential.repository.js';
import type { Clock } from '../clock.js';
import type { Store } from '../db/database.js';
import { createAdminRepository } from './admin.repository.js';
import { type AdminService, createAdminService } from './admin.service.js';
import { createAuditRepository } from './audit.repository.js';
import { type AuditService, createAuditService } from './audit.service.js';
import { type CredentialAdminService, createCredentialAdminService } from './credential-admin.service.js';
import { type CustomerAdminService, createCustomerAdminService } from './customer-admin.service.js';
import {
  type CustomerDirectoryService,
  createCustomerDirectoryService,
} from './customer-directory.service.js';
import { createDirectoryRepository } from './directory.repository.js';
import { createDirectoryService, type DirectoryService } from './directory.service.js';
import { createIssualReportService, type IssualReportService } from './issual-report.service.js';

/** The services behind the management API, the fixture loader and the demo data. */
export interface Management {
  records: AdminService;
  customers: CustomerAdminService;
  reports: IssualReportService;
  credentials: CredentialAdminService;
  audit: AuditService;
  directory: DirectoryService;
  customerDirectory: CustomerDirectoryService;
}

export function createManagement(store: Store, clock: Clock, onCredentialChange?: () => void): Management {
  const repository = createAdminRepository(store);
  const directory = createDirectoryRepository(store);
  const records = createAdminService({ repository, clock });
  const credentials = createCredentialAdminService({
    credentials: createCredentialRepository(store),
    orgExists: records.orgExists,
    clock,
    ...(onCredentialChange ? { onChange: onCredentialChange } : {}),
  });
  return {
    records,
    customers: createCustomerAdminService({ repository, clock }),
    reports: createIssualReportService({ repository }),
    credentials,
    audit: createAuditService(createAuditRepository(store), clock),
    directory: createDirectoryService({ directory, admin: repository, clock }),
    customerDirectory: createCustomerDirectoryService({ directory, admin: repository, clock }),
  };
}
