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
]
