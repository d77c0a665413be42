// The office menu: each back-office feature adds its entry here (path under /t/:tenant/ufficio, label key,
// roles that see it). The menu shows the entries the member's role may open.
import type { StaffRole } from './roles.ts'

export interface StaffNavEntry {
  /** path after /t/:tenant/ufficio, '' for the office home */
  path: string
  labelKey: string
  roles: StaffRole[]
}

const ALL: StaffRole[] = ['admin', 'operatore', 'lettore']

export const STAFF_NAV: StaffNavEntry[] = [
  { path: '', labelKey: 'staff.home.title', roles: ALL },
  { path: '/membri', labelKey: 'staff.members.title', roles: ALL },
  { path: '/configurazione', labelKey: 'onboarding.setup.nav', roles: ['admin'] },
  { path: '/catalogo', labelKey: 'backoffice.nav.catalog', roles: ALL },
  { path: '/impostazioni', labelKey: 'backoffice.nav.settings', roles: ALL },
  { path: '/anagrafiche', labelKey: 'backoffice.nav.people', roles: ALL },
  { path: '/documenti', labelKey: 'backoffice.nav.documents', roles: ALL },
  { path: '/documenti/importa', labelKey: 'backoffice.nav.import', roles: ['admin', 'operatore'] },
  { path: '/pagamenti', labelKey: 'control.nav', roles: ALL },
  { path: '/rimborsi', labelKey: 'refunds.office.nav', roles: ALL },
  { path: '/solleciti', labelKey: 'solleciti.nav', roles: ALL },
  { path: '/esportazioni', labelKey: 'exports.nav', roles: ALL },
  { path: '/istanze', labelKey: 'applications.staff.nav', roles: ALL },
  { path: '/documenti-ente', labelKey: 'tenantdocs.nav', roles: ALL },
  { path: '/registro', labelKey: 'backoffice.nav.audit', roles: ALL },
  { path: '/riconciliazione', labelKey: 'reconciliation.nav', roles: ALL },
  { path: '/pagopa', labelKey: 'pagopa.office.title', roles: ALL },
  { path: '/mensa', labelKey: 'canteen.nav.pupils', roles: ALL },
  { path: '/mensa/scuole', labelKey: 'canteen.nav.schools', roles: ALL },
  { path: '/mensa/calendario', labelKey: 'canteen.nav.calendar', roles: ALL },
  { path: '/mensa/tariffe', labelKey: 'canteen.nav.tariffs', roles: ALL },
]
