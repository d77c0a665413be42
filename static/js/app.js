// Progressive enhancement only: focus the error summary or the new message, announce changes once.
;(() => {
  const focusFirst = () => {
    const el = document.querySelector('main [data-focus]') || document.querySelector('.error-summary')
    if (el) el.focus()
  }
  document.addEventListener('DOMContentLoaded', focusFirst)
  // swaps replace <main> only, so the live region outside it persists and is announced
  document.addEventListener('htmx:afterSettle', () => {
    focusFirst()
    const msg = document.querySelector('main [data-announce]')
    const live = document.getElementById('announcer')
    if (msg && live) live.textContent = msg.getAttribute('data-announce')
  })
})()
