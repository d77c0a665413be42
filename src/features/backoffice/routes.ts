// The back office of a tenant under /t/:tenant/ufficio: catalog and settings, payers and pupils, documents
// (issue, cancel, correct, import from CSV) and the audit log. The dashboard lives in src/features/staff.
import { Hono } from 'hono'
import type { Env } from '../../platform/http.ts'
import { auditRoutes } from './audit-log.ts'
import { catalogRoutes } from './catalog.ts'
import { documentChangeRoutes } from './document-changes.ts'
import { documentIssueRoutes } from './document-issue.ts'
import { documentRoutes } from './documents.ts'
import { identityRoutes } from './identity.ts'
import { importRoutes } from './imports.ts'
import { peopleRoutes } from './people.ts'

export const backofficeRoutes = new Hono<Env>()
backofficeRoutes.route('/', catalogRoutes)
backofficeRoutes.route('/', peopleRoutes)
backofficeRoutes.route('/', identityRoutes)
backofficeRoutes.route('/', importRoutes)
backofficeRoutes.route('/', documentRoutes)
backofficeRoutes.route('/', documentIssueRoutes)
backofficeRoutes.route('/', documentChangeRoutes)
backofficeRoutes.route('/', auditRoutes)
