// Registration, email confirmation, login and logout, password reset and change, profile, deletion request.
import { type Context, Hono } from 'hono'
import { setCookie } from 'hono/cookie'
import { formatDateTime, todayRome } from '../../platform/dates.ts'
import { withTenant } from '../../platform/db.ts'
import { fieldError, formValues, parseWith } from '../../platform/forms.ts'
import { type Env, safeReturnPath } from '../../platform/http.ts'
import { catalogueKeys } from '../../platform/i18n.ts'
import { render } from '../../platform/render.ts'
import { clientIp, endSession, requireUser, revokeSessions, startSession } from '../../platform/session.ts'
import { attemptFailed, clearThrottle, RULES, releaseAttempt, reserveAttempt, sleep } from '../../platform/throttle.ts'
import { owedFigures } from '../debts/queries.ts'
import { citizenTenants } from '../debts/routes.ts'
import { oidcButtons } from '../oidc/buttons.ts'
import {
  changePasswordSchema,
  deleteSchema,
  forgotSchema,
  loginSchema,
  profileSchema,
  REGISTER_ORDER,
  registerSchema,
  resetSchema,
} from './schema.ts'
import {
  changePassword,
  checkPassword,
  confirmEmail,
  confirmEmailChange,
  findForLogin,
  freshSignIn,
  loadProfile,
  register,
  requestDeletion,
  requestReset,
  resetPassword,
  sendConfirmation,
  updateProfile,
} from './service.ts'

export const accountRoutes = new Hono<Env>()

/** The profile's "saved" notices: any other `salvato` in the address shows none (and is no error). */
const PROFILE_NOTICES = new Set(
  catalogueKeys()
    .it.filter((k) => k.startsWith('account.profile.saved.'))
    .map((k) => k.slice('account.profile.saved.'.length)),
)
const savedNotice = (v: string | undefined) => (v && PROFILE_NOTICES.has(v) ? v : undefined)

/** Counts a request against per-IP (and per-email) limits; returns the page to show when over them. */
async function overRequestLimit(c: Context<Env>, kind: string, email?: string): Promise<boolean> {
  const sql = c.var.deps.db.sql
  const keys: [string, (typeof RULES)[keyof typeof RULES]][] = [[`${kind}:ip:${clientIp(c)}`, RULES.requestsIp]]
  if (email) keys.push([`${kind}:email:${email}`, RULES.requestsEmail])
  // counted before anything is done, so requests arriving together cannot pass the limit
  const taken: string[] = []
  for (const [key, rule] of keys) {
    if (!(await reserveAttempt(sql, key, rule)).allowed) {
      for (const k of taken) await releaseAttempt(sql, k)
      return true
    }
    taken.push(key)
  }
  return false
}

function tooMany(c: Context<Env>) {
  return render(c, 'account/too-many', { title: c.var.t('errors.tooMany') }, 429)
}

// --- registration -------------------------------------------------------------------------------------

accountRoutes.get('/registrazione', (c) => {
  if (c.var.user) return c.redirect('/area-personale', 303)
  return render(c, 'account/register', {
    title: c.var.t('account.register.title'),
    description: c.var.t('meta.register'),
    values: {},
  })
})

accountRoutes.post('/registrazione', async (c) => {
  const t = c.var.t
  const values = await formValues(c)
  const parsed = parseWith(registerSchema, values, t, REGISTER_ORDER)
  if (!parsed.ok) {
    return render(
      c,
      'account/register',
      { title: t('account.register.title'), values: parsed.values, errors: parsed.errors },
      422,
    )
  }
  if (await overRequestLimit(c, 'register', parsed.data.email)) return tooMany(c)
  await register(c.var.deps.db.sql, c.var.deps.config, parsed.data, c.var.lang)
  c.var.deps.kickMail()
  return render(c, 'account/check-email', { title: t('account.checkEmail.title'), email: parsed.data.email })
})

accountRoutes.get('/conferma-email/:token', async (c) => {
  const result = await confirmEmail(c.var.deps.db.sql, c.var.deps.config, c.req.param('token'))
  const status = result === 'ok' || result === 'already' ? 200 : result === 'unknown' ? 404 : 410
  return render(c, 'account/confirmed', { title: c.var.t(`account.confirmed.${result}.title`), result }, status)
})

accountRoutes.post('/conferma-email/invia', requireUser, async (c) => {
  const user = c.var.user
  if (!user) return c.redirect('/accesso', 303)
  if (await overRequestLimit(c, 'confirm', user.email.toLowerCase())) return tooMany(c)
  await sendConfirmation(c.var.deps.db.sql, c.var.deps.config, user.accountId)
  c.var.deps.kickMail()
  return render(c, 'account/check-email', { title: c.var.t('account.checkEmail.title'), email: user.email })
})

// --- login and logout ---------------------------------------------------------------------------------

accountRoutes.get('/accesso', (c) => {
  if (c.var.user) return c.redirect(safeReturnPath(c.req.query('torna'), '/area-personale'), 303)
  return render(c, 'account/login', {
    title: c.var.t('account.login.title'),
    description: c.var.t('meta.login'),
    values: {},
    torna: c.req.query('torna') ?? '',
    oidc: oidcButtons(c, c.req.query('torna')),
  })
})

accountRoutes.post('/accesso', async (c) => {
  const { db } = c.var.deps
  const t = c.var.t
  const values = await formValues(c)
  const torna = typeof values.torna === 'string' ? values.torna : ''
  const parsed = parseWith(loginSchema, values, t, ['email', 'password'])
  if (!parsed.ok) {
    return render(
      c,
      'account/login',
      {
        title: t('account.login.title'),
        values: parsed.values,
        errors: parsed.errors,
        torna,
        oidc: oidcButtons(c, torna),
      },
      422,
    )
  }
  const { email, password } = parsed.data
  const accountKey = `login:email:${email}`
  const ipKey = `login:ip:${clientIp(c)}`
  // every attempt takes its place in the count before the password is checked, so that however many arrive
  // together, no more than the limit are ever checked
  const [byAccount, byIp] = await Promise.all([
    reserveAttempt(db.sql, accountKey, RULES.loginAccount),
    reserveAttempt(db.sql, ipKey, RULES.loginIp),
  ])
  const refused = !byAccount.allowed ? byAccount : !byIp.allowed ? byIp : null
  if (refused) {
    // nothing was checked: the other key's place is given back
    if (byAccount.allowed) await releaseAttempt(db.sql, accountKey)
    if (byIp.allowed) await releaseAttempt(db.sql, ipKey)
    const errors = refused.lockedUntil
      ? fieldError(t, 'email', 'account.login.locked', {
          time: formatDateTime(refused.lockedUntil).split(', ')[1] ?? '',
        })
      : fieldError(t, 'email', 'account.login.lockedNow', { minutes: String(RULES.loginAccount.lockMinutes) })
    // the lock is on the password only: SPID/CIE and the reset link stay open to the owner
    return render(
      c,
      'account/login',
      { title: t('account.login.title'), values: { email }, errors, torna, oidc: oidcButtons(c, torna) },
      429,
    )
  }
  const delay = Math.max(byAccount.delaySeconds, byIp.delaySeconds)
  if (delay > 0) await sleep(delay)
  const account = await findForLogin(db.sql, email)
  const ok = await checkPassword(db.sql, account, password)
  if (!ok || !account) {
    const lockedNow = await attemptFailed(db.sql, accountKey, RULES.loginAccount, byAccount)
    await attemptFailed(db.sql, ipKey, RULES.loginIp, byIp)
    const errors = lockedNow
      ? fieldError(t, 'email', 'account.login.lockedNow', { minutes: String(RULES.loginAccount.lockMinutes) })
      : fieldError(t, 'email', 'account.login.wrong')
    return render(
      c,
      'account/login',
      { title: t('account.login.title'), values: { email }, errors, torna, oidc: oidcButtons(c, torna) },
      lockedNow ? 429 : 422,
    )
  }
  await clearThrottle(db.sql, accountKey)
  await releaseAttempt(db.sql, ipKey)
  await startSession(c, db.sql, account.id)
  setCookie(c, 'lang', account.lang, {
    path: '/',
    maxAge: 31536000,
    sameSite: 'Lax',
    httpOnly: true,
    secure: c.var.deps.config.secureCookies,
  })
  return c.redirect(safeReturnPath(torna, '/area-personale'), 303)
})

accountRoutes.post('/esci', async (c) => {
  await endSession(c, c.var.deps.db.sql)
  return c.redirect('/?uscito=1', 303)
})

accountRoutes.post('/esci-ovunque', requireUser, async (c) => {
  const user = c.var.user
  if (user) await revokeSessions(c.var.deps.db.sql, user.accountId)
  await endSession(c, c.var.deps.db.sql)
  return c.redirect('/?uscito=1', 303)
})

// --- forgotten password -------------------------------------------------------------------------------

accountRoutes.get('/password-dimenticata', (c) =>
  render(c, 'account/forgot', { title: c.var.t('account.forgot.title'), values: {} }),
)

accountRoutes.post('/password-dimenticata', async (c) => {
  const t = c.var.t
  const parsed = parseWith(forgotSchema, await formValues(c), t, ['email'])
  if (!parsed.ok) {
    return render(
      c,
      'account/forgot',
      { title: t('account.forgot.title'), values: parsed.values, errors: parsed.errors },
      422,
    )
  }
  if (await overRequestLimit(c, 'reset', parsed.data.email)) return tooMany(c)
  await requestReset(c.var.deps.db.sql, c.var.deps.config, parsed.data.email)
  c.var.deps.kickMail()
  return render(c, 'account/check-email', {
    title: t('account.checkEmail.title'),
    email: parsed.data.email,
    reset: true,
  })
})

accountRoutes.get('/reimposta-password/:token', (c) =>
  render(c, 'account/reset', { title: c.var.t('account.reset.title'), token: c.req.param('token'), values: {} }),
)

accountRoutes.post('/reimposta-password/:token', async (c) => {
  const t = c.var.t
  const token = c.req.param('token')
  const parsed = parseWith(resetSchema, await formValues(c), t, ['password', 'passwordConfirm'])
  if (!parsed.ok) {
    return render(
      c,
      'account/reset',
      { title: t('account.reset.title'), token, values: {}, errors: parsed.errors },
      422,
    )
  }
  const result = await resetPassword(c.var.deps.db.sql, c.var.deps.config, token, parsed.data.password)
  c.var.deps.kickMail()
  if (result !== 'ok') {
    return render(
      c,
      'account/link-problem',
      { title: t(`account.link.${result}.title`), result },
      result === 'unknown' ? 404 : 410,
    )
  }
  return render(c, 'account/reset-done', { title: t('account.reset.done') })
})

// --- profile ------------------------------------------------------------------------------------------

accountRoutes.use('/profilo/*', requireUser)
accountRoutes.use('/profilo', requireUser)
accountRoutes.use('/area-personale', requireUser)

accountRoutes.get('/area-personale', async (c) => {
  const user = c.var.user
  const profile = user ? await loadProfile(c.var.deps.db.sql, user.accountId) : null
  if (!user || !profile) return c.redirect('/accesso', 303)
  // what is owed across the bodies that bill this (proved) codice fiscale, with the next thing to do
  const today = todayRome()
  const owed = { due_cents: 0, due_count: 0, overdue_count: 0, overdue_cents: 0, next_due: null as string | null }
  if (user.codiceFiscale) {
    for (const tenant of await citizenTenants(c, user.codiceFiscale)) {
      const f = await withTenant(c.var.deps.db.sql, tenant, (tx) => owedFigures(tx, user.codiceFiscale, today))
      owed.due_cents += f.due_cents
      owed.due_count += f.due_count
      owed.overdue_count += f.overdue_count
      owed.overdue_cents += f.overdue_cents
      if (f.next_due && (!owed.next_due || f.next_due < owed.next_due)) owed.next_due = f.next_due
    }
  }
  return render(c, 'account/home', {
    title: c.var.t('account.home.title'),
    profile,
    owed: user.codiceFiscale ? owed : null,
    cartCount: user.cartCount,
  })
})

accountRoutes.get('/profilo', async (c) => {
  const profile = await loadProfile(c.var.deps.db.sql, (c.var.user as { accountId: number }).accountId)
  if (!profile) return c.redirect('/accesso', 303)
  return render(c, 'account/profile', {
    title: c.var.t('account.profile.title'),
    profile,
    saved: savedNotice(c.req.query('salvato')),
  })
})

accountRoutes.get('/profilo/modifica', async (c) => {
  const profile = await loadProfile(c.var.deps.db.sql, (c.var.user as { accountId: number }).accountId)
  if (!profile) return c.redirect('/accesso', 303)
  const values = {
    email: profile.email,
    phone: profile.phone,
    address: profile.address,
    lang: profile.lang,
    reminders: profile.reminders ? 'si' : '',
  }
  return render(c, 'account/profile-edit', {
    title: c.var.t('account.profileEdit.title'),
    values,
    hasPassword: profile.hasPassword,
  })
})

accountRoutes.post('/profilo/modifica', async (c) => {
  const t = c.var.t
  const user = c.var.user as { accountId: number; sessionId: number }
  const { db } = c.var.deps
  const order = ['email', 'currentPassword', 'phone', 'address', 'lang', 'reminders']
  const parsed = parseWith(profileSchema, await formValues(c), t, order)
  const profile = await loadProfile(db.sql, user.accountId)
  if (!profile) return c.redirect('/accesso', 303)
  const again = (errors: NonNullable<ReturnType<typeof fieldError>>, values: Record<string, unknown>) =>
    render(
      c,
      'account/profile-edit',
      {
        title: t('account.profileEdit.title'),
        values: { ...values, currentPassword: '' },
        errors,
        hasPassword: profile.hasPassword,
      },
      422,
    )
  if (!parsed.ok) return again(parsed.errors, parsed.values)
  // A new address is where every link (a password reset too) will go: changing it needs the password, or a
  // fresh SPID/CIE sign-in for an account without one (docs/security.md).
  if (parsed.data.email !== profile.email.toLowerCase()) {
    const values = { ...parsed.data, reminders: parsed.data.reminders ? 'si' : '' }
    if (profile.hasPassword) {
      if (!parsed.data.currentPassword)
        return again(fieldError(t, 'currentPassword', 'account.errors.currentForEmail'), values)
      // the attempt is counted before the password is checked (as at sign-in), so guesses in parallel gain nothing
      const key = `password:account:${user.accountId}`
      const attempt = await reserveAttempt(db.sql, key, RULES.loginAccount)
      if (!attempt.allowed) return tooMany(c)
      const account = await findForLogin(db.sql, profile.email.toLowerCase())
      if (!(await checkPassword(db.sql, account, parsed.data.currentPassword))) {
        await attemptFailed(db.sql, key, RULES.loginAccount, attempt)
        return again(fieldError(t, 'currentPassword', 'account.errors.currentWrong'), values)
      }
      await releaseAttempt(db.sql, key)
    } else if (!(await freshSignIn(db.sql, user.sessionId))) {
      return again(fieldError(t, 'email', 'account.errors.emailNeedsFreshSignIn'), values)
    }
  }
  const { emailChangeRequested } = await updateProfile(
    db.sql,
    c.var.deps.config,
    user.accountId,
    parsed.data,
    user.sessionId,
  )
  c.var.deps.kickMail()
  setCookie(c, 'lang', parsed.data.lang, {
    path: '/',
    maxAge: 31536000,
    sameSite: 'Lax',
    httpOnly: true,
    secure: c.var.deps.config.secureCookies,
  })
  return c.redirect(`/profilo?salvato=${emailChangeRequested ? 'email' : 'si'}`, 303)
})

accountRoutes.get('/profilo/email/:token', async (c) => {
  const result = await confirmEmailChange(
    c.var.deps.db.sql,
    c.var.deps.config,
    c.req.param('token'),
    c.var.user ?? null,
  )
  if (result === 'ok') return c.redirect('/profilo?salvato=email-confermata', 303)
  return render(
    c,
    'account/link-problem',
    { title: c.var.t(`account.link.${result}.title`), result },
    result === 'unknown' ? 404 : 410,
  )
})

accountRoutes.get('/profilo/password', (c) =>
  render(c, 'account/password', { title: c.var.t('account.password.title'), values: {} }),
)

accountRoutes.post('/profilo/password', async (c) => {
  const t = c.var.t
  const { db, config } = c.var.deps
  const user = c.var.user as { accountId: number; sessionId: number; email: string }
  const order = ['currentPassword', 'password', 'passwordConfirm']
  const parsed = parseWith(changePasswordSchema, await formValues(c), t, order)
  if (!parsed.ok)
    return render(c, 'account/password', { title: t('account.password.title'), values: {}, errors: parsed.errors }, 422)
  const key = `password:account:${user.accountId}`
  const attempt = await reserveAttempt(db.sql, key, RULES.loginAccount)
  if (!attempt.allowed) return tooMany(c)
  const account = await findForLogin(db.sql, user.email.toLowerCase())
  if (!(await checkPassword(db.sql, account, parsed.data.currentPassword))) {
    await attemptFailed(db.sql, key, RULES.loginAccount, attempt)
    return render(
      c,
      'account/password',
      {
        title: t('account.password.title'),
        values: {},
        errors: fieldError(t, 'currentPassword', 'account.errors.currentWrong'),
      },
      422,
    )
  }
  await releaseAttempt(db.sql, key)
  await changePassword(db.sql, config, user.accountId, user.sessionId, parsed.data.password)
  // a privilege-changing event: the session token is rotated
  await startSession(c, db.sql, user.accountId)
  c.var.deps.kickMail()
  return c.redirect('/profilo?salvato=password', 303)
})

accountRoutes.get('/profilo/elimina', (c) =>
  render(c, 'account/delete', { title: c.var.t('account.delete.title'), values: {} }),
)

accountRoutes.post('/profilo/elimina', async (c) => {
  const t = c.var.t
  const { db } = c.var.deps
  const user = c.var.user as { accountId: number; email: string }
  const parsed = parseWith(deleteSchema, await formValues(c), t, ['password', 'confirm'])
  if (!parsed.ok)
    return render(c, 'account/delete', { title: t('account.delete.title'), values: {}, errors: parsed.errors }, 422)
  const account = await findForLogin(db.sql, user.email.toLowerCase())
  if (!(await checkPassword(db.sql, account, parsed.data.password))) {
    return render(
      c,
      'account/delete',
      {
        title: t('account.delete.title'),
        values: { confirm: 'si' },
        errors: fieldError(t, 'password', 'account.errors.currentWrong'),
      },
      422,
    )
  }
  await requestDeletion(db.sql, user.accountId)
  await endSession(c, db.sql)
  c.var.deps.kickMail()
  return render(c, 'account/deleted', { title: t('account.delete.done') })
})
