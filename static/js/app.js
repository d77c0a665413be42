// Progressive enhancement only: focus the error summary or the new message, announce changes once.
;(() => {
  const focusFirst = () => {
    const el = document.querySelector('main [data-focus]') || document.querySelector('.error-summary')
    if (el) el.focus()
  }
  document.addEventListener('DOMContentLoaded', focusFirst)
  // browsers that cannot show a closed disclosure's content (::details-content) open the menu on wide screens
  const menu = document.querySelector('[data-menu]')
  const css = window.CSS
  const shown = css && css.supports && css.supports('selector(::details-content)')
  if (menu && !shown && window.matchMedia && matchMedia('(min-width: 48rem)').matches) menu.open = true
  // swaps replace <main> only, so the live region outside it persists and is announced
  document.addEventListener('htmx:afterSettle', () => {
    focusFirst()
    const msg = document.querySelector('main [data-announce]')
    const live = document.getElementById('announcer')
    if (msg && live) live.textContent = msg.getAttribute('data-announce')
  })
})()
