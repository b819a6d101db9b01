// The large view, for professors and students: one image at a time with previous/next (buttons,
// arrow keys, a swipe on phones), zoom and pan for clinical detail (wheel, double-click or
// double-tap, pinch, + / - / 0, arrow keys while zoomed, dragging), "원본 다운로드" for everyone and
// "링크 복사" (s3_url) for staff. It fills the screen on phones. Animated GIFs play (the original is
// shown, not the first-frame thumbnail). An image that fails to load is never a broken icon: a
// message shows, the page asks for fresh links (they are presigned and expire), and the image is
// tried once more.
import {h, announce} from './dom.js';
import {request} from './api.js';

// largeSrc is what the large view shows: the original for a GIF (so it animates), else the 1280 px
// thumbnail.
export function largeSrc(im) {
  if (/\.gif$/i.test(im.filename || im.s3_key || '')) return im.url;
  return im.display_url || im.url;
}

// imageName is how a page names an image. Staff get original_filename (the name the professor
// picked; "" for old uploads, named by the stored file name); students never do, and see the
// label the API gives them ("사진 3", or the caption).
export function imageName(im) {
  if (im.original_filename === undefined && im.label) return im.label;
  return im.original_filename || im.filename;
}

// captionOf is the caption to show beside the name: none when the name already is the caption.
export function captionOf(im) { return im.caption && im.caption !== imageName(im) ? im.caption : ''; }

// altOf is an image's alt text: its name, and its caption when that says more.
export function altOf(im) { return captionOf(im) ? `${imageName(im)}: ${im.caption}` : imageName(im); }

// downloadName is the file name "원본 다운로드" saves under: staff get the name the professor picked
// (or the stored name), students the neutral label they see ("사진 3", or the caption), never the
// picked name. Either way it ends in the stored original's extension and holds no character a
// file system refuses.
export function downloadName(im, staff) {
  const stored = im.filename || im.s3_key.slice(im.s3_key.lastIndexOf('/') + 1);
  const ext = stored.includes('.') ? stored.slice(stored.lastIndexOf('.')).toLowerCase() : '';
  let base = staff ? (im.original_filename || stored) : (im.label || (im.number ? `사진 ${im.number}` : '사진'));
  base = base.replace(/[\\/:*?"<>|\u0000-\u001f\u007f]+/g, '_').replace(/\s+/g, ' ').trim();
  const same = {'.jpeg': '.jpg', '.jpg': '.jpg'};
  const has = base.includes('.') ? base.slice(base.lastIndexOf('.')).toLowerCase() : '';
  if (has && (same[has] || has) === (same[ext] || ext)) return base;
  // A caption can be 500 characters: a name stays well inside what file systems take.
  const chars = [...base];
  if (chars.length > 80) base = `${chars.slice(0, 80).join('').trim()}…`;
  return `${base || '사진'}${ext}`;
}

// clampText keeps a long text (a caption) to a few lines with a "더 보기" button that shows it
// whole ("접기" folds it again). The button exists only while the text is longer than the clamp:
// a short caption has none.
export function clampText(el) {
  el.classList.add('clamp');
  const toggle = h('button', {type: 'button', class: 'more small', 'aria-expanded': 'false', hidden: true}, '더 보기');
  if (!el.id) el.id = `clamp-${++clampIds}`;
  toggle.setAttribute('aria-controls', el.id);
  toggle.addEventListener('click', () => {
    const open = el.classList.toggle('open');
    toggle.setAttribute('aria-expanded', String(open));
    // Opened, it may scroll (the large view caps its height): the keyboard must reach it.
    if (open) el.tabIndex = 0;
    else el.removeAttribute('tabindex');
    toggle.textContent = open ? '접기' : '더 보기';
  });
  const measure = () => {
    if (el.classList.contains('open')) return;
    toggle.hidden = !(el.scrollHeight > el.clientHeight + 1);
  };
  new ResizeObserver(measure).observe(el);
  return toggle;
}
let clampIds = 0;

const MIN_ZOOM = 1;
const MAX_ZOOM = 8;

// viewerDialog returns {el, show(items, index, opener)}. refresh(item) must resolve to the item
// with fresh URLs, or null when the image is gone. opts: scenario (for the download route) and
// staff (names, and "링크 복사").
export function viewerDialog(refresh, opts = {}) {
  const staff = !!opts.staff;
  const img = h('img', {alt: '', hidden: true, draggable: 'false'});
  const message = h('p', {class: 'viewer-message', role: 'status', hidden: true});
  const title = h('h2', {id: 'large-title'});
  const caption = h('p', {id: 'large-caption', class: 'large-caption'});
  const more = clampText(caption);
  const counter = h('span', {class: 'counter', id: 'large-counter'});
  const prev = h('button', {type: 'button', id: 'large-prev', class: 'nav'}, '← 이전');
  const next = h('button', {type: 'button', id: 'large-next', class: 'nav'}, '다음 →');
  const close = h('button', {type: 'button', id: 'large-close', autofocus: true}, '닫기');
  const zoomOut = h('button', {type: 'button', id: 'large-zoom-out', class: 'small', 'aria-label': '축소', title: '축소 (-)'}, '−');
  const zoomLevel = h('span', {id: 'large-zoom', class: 'zoom-level'}, '100%');
  const zoomIn = h('button', {type: 'button', id: 'large-zoom-in', class: 'small', 'aria-label': '확대', title: '확대 (+)'}, '+');
  const zoomReset = h('button', {type: 'button', id: 'large-zoom-reset', class: 'small', title: '원래 크기 (0)'}, '맞춤');
  const download = h('button', {type: 'button', id: 'large-download', class: 'small'}, '원본 다운로드');
  const copy = staff ? h('button', {type: 'button', id: 'large-copy', class: 'small'}, '링크 복사') : null;
  const copyField = staff ? h('input', {id: 'large-link', class: 'large-link', readonly: true, hidden: true, 'aria-label': '이미지 링크 (s3_url)'}) : null;
  const status = h('p', {id: 'large-status', class: 'large-status hint', role: 'status'});
  const stage = h('div', {class: 'stage', id: 'large-stage'}, img, message);
  const el = h('dialog', {id: 'large', class: 'large', 'aria-labelledby': 'large-title', 'aria-describedby': 'large-caption large-help'},
    h('div', {class: 'row large-head'}, title, counter, close),
    stage,
    h('p', {id: 'large-help', class: 'sr-only'}, '휠, 두 번 누르기, 두 손가락, +/- 키로 확대하고, 확대한 동안에는 끌거나 화살표 키로 움직입니다. 0 키는 원래 크기입니다.'),
    h('div', {class: 'large-caption-box'}, caption, more),
    h('div', {class: 'row large-tools'},
      h('div', {class: 'row zoom-tools', role: 'group', 'aria-label': '확대/축소'}, zoomOut, zoomLevel, zoomIn, zoomReset),
      h('div', {class: 'row file-tools'}, download, copy)),
    copyField, status,
    h('div', {class: 'row large-nav'}, prev, next));

  let items = [];
  let index = 0;
  let opener = null;
  let retried = new Set();

  // Zoom: the image box fills the stage (object-fit: scale-down), and a transform scales it by
  // scale from its top-left corner and moves it by (tx, ty) stage pixels.
  let scale = 1;
  let tx = 0;
  let ty = 0;
  let original = false; // the large image is (or is becoming) the original

  // content is where the picture sits inside the unscaled image box: scale-down never enlarges.
  function content() {
    const sw = stage.clientWidth;
    const sh = stage.clientHeight;
    const nw = img.naturalWidth || sw;
    const nh = img.naturalHeight || sh;
    const fit = Math.min(1, sw / nw, sh / nh);
    const cw = nw * fit;
    const ch = nh * fit;
    return {sw, sh, cw, ch, ox: (sw - cw) / 2, oy: (sh - ch) / 2};
  }

  // clamp keeps the picture over the stage: centred while it is smaller, edge to edge otherwise.
  function clamp() {
    const c = content();
    const axis = (t, size, off, stageSize) => {
      if (scale * size <= stageSize) return stageSize / 2 - scale * (off + size / 2);
      return Math.min(-scale * off, Math.max(stageSize - scale * (off + size), t));
    };
    tx = axis(tx, c.cw, c.ox, c.sw);
    ty = axis(ty, c.ch, c.oy, c.sh);
  }

  function apply() {
    clamp();
    img.style.transform = scale === 1 ? '' : `translate(${tx}px, ${ty}px) scale(${scale})`;
    stage.classList.toggle('zoomed', scale > 1);
    zoomLevel.textContent = `${Math.round(scale * 100)}%`;
    zoomOut.disabled = scale <= MIN_ZOOM;
    zoomIn.disabled = scale >= MAX_ZOOM;
    zoomReset.disabled = scale === 1;
    maybeOriginal();
  }

  // zoomTo sets the scale, keeping the stage point (px, py) where it is (the centre by default).
  function zoomTo(s, px, py) {
    const next = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, s));
    if (px === undefined) { px = stage.clientWidth / 2; py = stage.clientHeight / 2; }
    const qx = (px - tx) / scale;
    const qy = (py - ty) / scale;
    scale = next;
    tx = px - qx * scale;
    ty = py - qy * scale;
    apply();
  }
  function resetZoom() { scale = 1; tx = 0; ty = 0; apply(); }
  function pan(dx, dy) { tx += dx; ty += dy; apply(); }

  // Past the 1280 px rendition's own pixels (at this screen's pixel density) the original is
  // loaded; the rendition stays on screen until the original has arrived.
  function maybeOriginal() {
    const im = items[index];
    if (!im || original || !im.url || img.hidden) return;
    const c = content();
    const shown = scale * Math.max(c.cw, c.ch) * (window.devicePixelRatio || 1);
    if (shown <= Math.max(img.naturalWidth, img.naturalHeight) || img.currentSrc === im.url) return;
    original = true;
    const key = im.s3_key;
    const pre = new Image();
    pre.addEventListener('load', () => {
      if (items[index] !== im || img.dataset.key !== key) return;
      img.src = im.url;
      img.dataset.original = 'true';
    });
    pre.addEventListener('error', () => { if (items[index] === im) status.textContent = '원본을 불러오지 못해 1280px 사진으로 보여 줍니다.'; });
    pre.src = im.url;
  }

  function show(i) {
    index = (i + items.length) % items.length;
    const im = items[index];
    const n = im.number ? `${im.number}. ` : '';
    title.textContent = `${n}${imageName(im)}`;
    // A caption that is the name (students' label) but too long for the one-line title is shown
    // whole below the photo as well.
    const text = captionOf(im) || ([...(im.caption || '')].length > 30 ? im.caption : '');
    caption.textContent = text;
    caption.classList.remove('open');
    caption.removeAttribute('tabindex');
    more.textContent = '더 보기';
    more.setAttribute('aria-expanded', 'false');
    caption.parentElement.hidden = !text;
    counter.textContent = `${index + 1} / ${items.length}`;
    prev.disabled = next.disabled = items.length < 2;
    status.textContent = '';
    if (copyField) copyField.hidden = true;
    img.hidden = true;
    message.hidden = false;
    message.textContent = '불러오는 중…';
    img.alt = altOf(im);
    img.dataset.key = im.s3_key;
    img.dataset.original = String(largeSrc(im) === im.url);
    original = largeSrc(im) === im.url;
    scale = 1; tx = 0; ty = 0;
    img.style.transform = '';
    img.src = largeSrc(im);
    apply();
  }

  img.addEventListener('load', () => {
    img.hidden = false;
    message.hidden = true;
    apply();
  });
  img.addEventListener('error', async () => {
    const im = items[index];
    if (!im || img.dataset.key !== im.s3_key) return;
    img.hidden = true;
    message.hidden = false;
    if (retried.has(im.s3_key)) {
      message.textContent = '이미지를 불러오지 못했습니다. 네트워크를 확인한 뒤 다시 열어 주세요.';
      return;
    }
    retried.add(im.s3_key);
    message.textContent = '이미지 링크가 만료되어 새로 받는 중입니다…';
    let fresh = null;
    try { fresh = await refresh(im); } catch { fresh = undefined; }
    if (items[index] !== im) return; // moved on meanwhile
    if (fresh === null) {
      message.textContent = '이 이미지는 삭제되어 더 이상 볼 수 없습니다.';
      return;
    }
    if (!fresh) {
      message.textContent = '이미지를 불러오지 못했습니다. 잠시 뒤 다시 시도해 주세요.';
      return;
    }
    items[index] = fresh;
    show(index);
  });

  // "원본 다운로드": the download route's presigned URL, fetched here so that the file gets its
  // name (a cross-origin link's download attribute is ignored by browsers).
  download.addEventListener('click', async () => {
    const im = items[index];
    if (!im || download.disabled) return;
    download.disabled = true;
    status.textContent = '원본을 받는 중…';
    try {
      const scenario = opts.scenario || (im.s3_key.match(/scenario_([^/]+)\//) || [])[1];
      const r = await request('POST', `/patient-images/download-url/${encodeURIComponent(scenario)}`, {s3_key: im.s3_key});
      let blob;
      try {
        const res = await fetch(r.download_url, {cache: 'no-store'});
        if (!res.ok) throw new Error(String(res.status));
        blob = await res.blob();
      } catch {
        throw new Error('원본을 받지 못했습니다. 네트워크를 확인한 뒤 다시 시도해 주세요.');
      }
      const a = h('a', {href: URL.createObjectURL(blob), download: downloadName(im, staff), hidden: true});
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60000);
      status.textContent = `'${a.download}'(으)로 저장했습니다.`;
    } catch (e) {
      status.textContent = e.message;
    } finally {
      download.disabled = false;
    }
  });

  // "링크 복사": s3_url, the link the platform saves. Where the clipboard is refused, the link is
  // shown selected, to copy by hand.
  if (copy) {
    copy.addEventListener('click', async () => {
      const im = items[index];
      if (!im) return;
      try {
        await navigator.clipboard.writeText(im.s3_url);
        copyField.hidden = true;
        status.textContent = '링크(s3_url)를 복사했습니다.';
        announce('링크를 복사했습니다.');
      } catch {
        copyField.value = im.s3_url;
        copyField.hidden = false;
        copyField.focus();
        copyField.select();
        status.textContent = '자동으로 복사하지 못했습니다. 선택된 링크를 복사해(Ctrl+C, 길게 누르기) 쓰세요.';
      }
    });
  }

  zoomIn.addEventListener('click', () => zoomTo(scale * 1.5));
  zoomOut.addEventListener('click', () => zoomTo(scale / 1.5));
  zoomReset.addEventListener('click', resetZoom);
  prev.addEventListener('click', () => show(index - 1));
  next.addEventListener('click', () => show(index + 1));
  close.addEventListener('click', () => el.close());
  el.addEventListener('click', (e) => { if (e.target === el) el.close(); });
  el.addEventListener('keydown', (e) => {
    if (e.target.closest('input, textarea') || e.ctrlKey || e.metaKey || e.altKey) return;
    const step = Math.max(40, stage.clientWidth / 10);
    const keys = {
      '+': () => zoomTo(scale * 1.5), '=': () => zoomTo(scale * 1.5), '-': () => zoomTo(scale / 1.5), '0': resetZoom,
      ArrowLeft: () => (scale > 1 ? pan(step, 0) : show(index - 1)),
      ArrowRight: () => (scale > 1 ? pan(-step, 0) : show(index + 1)),
      ArrowUp: () => scale > 1 && pan(0, step),
      ArrowDown: () => scale > 1 && pan(0, -step),
    };
    const fn = keys[e.key];
    // Up and down scroll the dialog as usual unless the image is zoomed.
    if (!fn || (scale === 1 && (e.key === 'ArrowUp' || e.key === 'ArrowDown'))) return;
    e.preventDefault();
    fn();
  });

  const local = (e) => {
    const r = stage.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  stage.addEventListener('wheel', (e) => {
    if (img.hidden) return;
    e.preventDefault();
    const unit = e.deltaMode === 1 ? 0.05 : e.deltaMode === 2 ? 1 : 0.0015;
    const [x, y] = local(e);
    zoomTo(scale * Math.exp(-e.deltaY * unit), x, y);
  }, {passive: false});
  const toggleAt = (x, y) => (scale > 1 ? resetZoom() : zoomTo(2, x, y));
  let lastPointer = 'mouse';
  stage.addEventListener('dblclick', (e) => {
    if (lastPointer === 'touch' || img.hidden) return; // a double tap is handled below
    e.preventDefault();
    toggleAt(...local(e));
  });

  // Pointers: one drags (when zoomed) or swipes (a horizontal swipe of at least 40 px turns the
  // page), two pinch, and two quick taps zoom on touch screens.
  const pointers = new Map();
  let gesture = null;
  let lastTap = null;
  const mid = () => {
    const [a, b] = [...pointers.values()];
    return {x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, d: Math.hypot(a.x - b.x, a.y - b.y) || 1};
  };
  stage.addEventListener('pointerdown', (e) => {
    lastPointer = e.pointerType;
    const [x, y] = local(e);
    pointers.set(e.pointerId, {x, y});
    try { stage.setPointerCapture(e.pointerId); } catch { /* a synthetic pointer cannot be captured */ }
    if (pointers.size === 1) {
      gesture = {kind: 'one', x0: x, y0: y, tx0: tx, ty0: ty, t0: performance.now(), pinched: false};
    } else if (pointers.size === 2) {
      const m = mid();
      gesture = {kind: 'pinch', m0: m, s0: scale, tx0: tx, ty0: ty, pinched: true};
    }
  });
  stage.addEventListener('pointermove', (e) => {
    if (!pointers.has(e.pointerId) || !gesture) return;
    const [x, y] = local(e);
    pointers.set(e.pointerId, {x, y});
    if (gesture.kind === 'pinch' && pointers.size === 2) {
      const m = mid();
      const qx = (gesture.m0.x - gesture.tx0) / gesture.s0;
      const qy = (gesture.m0.y - gesture.ty0) / gesture.s0;
      scale = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, gesture.s0 * m.d / gesture.m0.d));
      tx = m.x - qx * scale;
      ty = m.y - qy * scale;
      apply();
    } else if (gesture.kind === 'one' && scale > 1) {
      tx = gesture.tx0 + x - gesture.x0;
      ty = gesture.ty0 + y - gesture.y0;
      apply();
    }
  });
  const end = (e, cancelled) => {
    if (!pointers.has(e.pointerId)) return;
    pointers.delete(e.pointerId);
    const g = gesture;
    if (pointers.size > 0) {
      // One finger of a pinch lifted: the other goes on as a drag.
      const [p] = [...pointers.values()];
      gesture = {kind: 'one', x0: p.x, y0: p.y, tx0: tx, ty0: ty, t0: 0, pinched: true};
      return;
    }
    gesture = null;
    if (!g || cancelled || g.kind !== 'one' || g.pinched) return;
    const [x, y] = local(e);
    const dx = x - g.x0;
    const dy = y - g.y0;
    if (scale === 1 && Math.abs(dx) >= 40 && Math.abs(dx) > Math.abs(dy) && items.length > 1) {
      show(dx < 0 ? index + 1 : index - 1);
      return;
    }
    if (e.pointerType !== 'touch' || Math.hypot(dx, dy) > 10) return;
    const now = performance.now();
    if (lastTap && now - lastTap.t < 350 && Math.hypot(x - lastTap.x, y - lastTap.y) < 30) {
      lastTap = null;
      toggleAt(x, y);
    } else {
      lastTap = {t: now, x, y};
    }
  };
  stage.addEventListener('pointerup', (e) => end(e, false));
  stage.addEventListener('pointercancel', (e) => end(e, true));
  new ResizeObserver(() => { if (el.open) apply(); }).observe(stage);

  el.addEventListener('close', () => {
    img.removeAttribute('src');
    pointers.clear();
    gesture = null;
    if (opener && opener.isConnected) opener.focus();
    else if (opener && opener.dataset && opener.dataset.key) {
      // The page redrew meanwhile: focus the same control on the new card.
      const again = document.querySelector(`[data-key="${CSS.escape(opener.dataset.key)}"][data-control="${opener.dataset.control}"]`);
      if (again) again.focus();
    }
  });

  return {
    el,
    get open() { return el.open; },
    show(list, i, from) {
      items = list.slice();
      retried = new Set();
      opener = from || document.activeElement;
      if (!el.open) el.showModal();
      show(i);
      close.focus();
    },
  };
}
