// The back office of a tenant under /t/:tenant/ufficio: catalog and settings, payers and pupils (people/: search,
// payers, pupils, identity proofs), documents (documents/: list, issue, cancel and correct, payments the office
// records; imports/: import from CSV), the refund register (refunds.ts) and the audit log. The dashboard lives in src/features/staff.
import { Hono } from 'hono'
import type { Env } from '../../platform/http.ts'
import { auditRoutes } from './audit-log.ts'
import { beneficiaryRoutes } from './beneficiaries.ts'
import { catalogRoutes } from './catalog.ts'
import { documentChangeRoutes } from './documents/changes.ts'
import { documentIssueRoutes } from './documents/issue.ts'
import { documentRoutes } from './documents/list.ts'
import { offlinePaymentRoutes } from './documents/offline.ts'
import { importRoutes } from './imports/pages.ts'
import { identityRoutes } from './people/identity.ts'
import { payerRoutes } from './people/payers.ts'
import { pupilRoutes } from './people/pupils.ts'
import { searchRoutes } from './people/search.ts'
import { refundRoutes } from './refunds.ts'

export const backofficeRoutes = new Hono<Env>()
backofficeRoutes.route('/', catalogRoutes)
backofficeRoutes.route('/', beneficiaryRoutes)
backofficeRoutes.route('/', searchRoutes)
backofficeRoutes.route('/', payerRoutes)
backofficeRoutes.route('/', pupilRoutes)
backofficeRoutes.route('/', identityRoutes)
backofficeRoutes.route('/', importRoutes)
backofficeRoutes.route('/', documentRoutes)
backofficeRoutes.route('/', documentIssueRoutes)
backofficeRoutes.route('/', documentChangeRoutes)
backofficeRoutes.route('/', offlinePaymentRoutes)
backofficeRoutes.route('/', refundRoutes)
backofficeRoutes.route('/', auditRoutes)
