// Small DOM helpers. Text always goes in through textContent, never as HTML, so nothing an image
// name or an API message contains can run as markup.

// h builds an element: h('p', {class: 'x', onclick: fn}, 'text', child…).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// announce tells screen-reader users what just happened (the page's aria-live region).
export function announce(text) {
  const s = document.getElementById('status');
  s.textContent = '';
  // A fresh text node in a later task makes repeated identical messages announced again.
  setTimeout(() => { s.textContent = text; }, 50);
}

// errorBox is a visible, announced message area for failures.
export function errorBox() {
  const el = h('p', {class: 'error', role: 'alert', hidden: true});
  return {
    el,
    show(text) { el.textContent = text; el.hidden = false; },
    clear() { el.textContent = ''; el.hidden = true; },
  };
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function formatDate(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString('ko-KR', {dateStyle: 'medium', timeStyle: 'short'});
}

// Korean particles depend on whether the word before them ends in a consonant (받침): 이미지 1을,
// 이미지 2를. Digits are read as Sino-Korean numbers; Latin letters as their English names.
const DIGIT_BATCHIM = {0: true, 1: true, 2: false, 3: true, 4: false, 5: false, 6: true, 7: true, 8: true, 9: false};
const LATIN_BATCHIM = /[lmnr]$/i; // el, em, en, ar

export function hasBatchim(word) {
  const s = String(word).trim();
  const last = s.slice(-1);
  if (!last) return false;
  const code = last.charCodeAt(0);
  if (code >= 0xac00 && code <= 0xd7a3) return (code - 0xac00) % 28 !== 0;
  if (/[0-9]/.test(last)) {
    // 10 십, 100 백, 1000 천, 10000 만: all end in a consonant.
    return /[1-9]0+$/.test(s) ? true : DIGIT_BATCHIM[last];
  }
  return LATIN_BATCHIM.test(last);
}

// josa picks the particle form: josa('이미지 2', '을', '를') → '이미지 2를'.
export function josa(word, withBatchim, without) {
  return `${word}${hasBatchim(word) ? withBatchim : without}`;
}

// srOnly is text for screen readers only, e.g. which image a short visible button acts on.
export function srOnly(text) { return h('span', {class: 'sr-only'}, text); }
