// The canteen for families: the wallet (portafoglio) of each pupil, pre-loading meals through the normal
// checkout, and the attendance calendar where a family marks absences and light meals before the cut-off.
import { Hono } from 'hono'
import type { Env } from '../../platform/http.ts'
import { requireUser } from '../../platform/session.ts'
import { requireProvedCf } from '../account/proof-routes.ts'
import { attendanceRoutes } from './family/attendance.ts'
import { BASE } from './family/common.ts'
import { topupRoutes } from './family/topup.ts'
import { walletRoutes } from './family/wallet.ts'

export const canteenRoutes = new Hono<Env>()

// a family's pupils and wallets are found through the codice fiscale: only a proved one opens them
canteenRoutes.use('/mensa', requireUser, requireProvedCf)
canteenRoutes.use(BASE, requireUser, requireProvedCf)
canteenRoutes.use(`${BASE}/*`, requireUser, requireProvedCf)

// one room per part of the family's canteen (family/): each file a page or a journey
canteenRoutes.route('/', walletRoutes)
canteenRoutes.route('/', topupRoutes)
canteenRoutes.route('/', attendanceRoutes)
