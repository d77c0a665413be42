// The onboarding's mails: the texts of onboarding.json (onboarding.mail.<key>) with the common signature.
import { type Lang, translator } from '../../platform/i18n.ts'
import { type MailMessage, textToHtml } from '../../platform/mail.ts'

/** A message from onboarding.json: onboarding.mail.<key>.subject / .body, with the common signature. */
export function onboardingMail(
  lang: Lang,
  key: string,
  params: Record<string, string | number>,
  to: string,
): MailMessage {
  const t = translator(lang)
  const text = `${t(`onboarding.mail.${key}.body`, params)}\n\n${t('mail.signature')}`
  return { to, subject: t(`onboarding.mail.${key}.subject`, params), text, html: textToHtml(text, lang) }
}
