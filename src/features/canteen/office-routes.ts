// The canteen in the office: pupils with tariff, meals, net due and balance (filters, CSV), today's counts for
// the kitchen, each pupil's enrollment, wallet and attendance (any day, audited), and the canteen's catalog:
// schools and classes, the school calendar, tariffs and their prices. Every role reads; admin and operatore
// record attendance, enrollments and adjustments, refund or move a wallet's credit; only admin changes the catalog.
import { Hono } from 'hono'
import type { Env } from '../../platform/http.ts'
import { calendarRoutes } from './office/calendar.ts'
import { creditRoutes } from './office/credit.ts'
import { pupilRoutes } from './office/pupil.ts'
import { pupilListRoutes } from './office/pupils.ts'
import { schoolRoutes } from './office/schools.ts'
import { tariffRoutes } from './office/tariffs.ts'

// one room per part of the office's canteen (office/): each file a page or a journey
export const canteenOfficeRoutes = new Hono<Env>()
canteenOfficeRoutes.route('/', pupilListRoutes)
canteenOfficeRoutes.route('/', pupilRoutes)
canteenOfficeRoutes.route('/', creditRoutes)
canteenOfficeRoutes.route('/', schoolRoutes)
canteenOfficeRoutes.route('/', calendarRoutes)
canteenOfficeRoutes.route('/', tariffRoutes)
