// The large view, for professors and students: one image at a time with previous/next (buttons,
// arrow keys, a swipe on phones). Animated GIFs play (the original is shown, not the first-frame
// thumbnail). An image that fails to load is never a broken icon: a message shows, the page asks
// for fresh links (they are presigned and expire), and the image is tried once more.
import {h} from './dom.js';

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

// viewerDialog returns {el, open(items, index, opener)}. refresh(item) must resolve to the item
// with fresh URLs, or null when the image is gone.
export function viewerDialog(refresh) {
  const img = h('img', {alt: '', hidden: true, draggable: 'false'});
  const message = h('p', {class: 'viewer-message', role: 'status', hidden: true});
  const title = h('h2', {id: 'large-title'});
  const caption = h('p', {id: 'large-caption', class: 'large-caption'});
  const counter = h('span', {class: 'counter', id: 'large-counter'});
  const prev = h('button', {type: 'button', id: 'large-prev', class: 'nav'}, '← 이전');
  const next = h('button', {type: 'button', id: 'large-next', class: 'nav'}, '다음 →');
  const close = h('button', {type: 'button', id: 'large-close', autofocus: true}, '닫기');
  const stage = h('div', {class: 'stage'}, img, message);
  const el = h('dialog', {id: 'large', class: 'large', 'aria-labelledby': 'large-title', 'aria-describedby': 'large-caption'},
    h('div', {class: 'row large-head'}, title, counter, close),
    stage, caption,
    h('div', {class: 'row large-nav'}, prev, next));

  let items = [];
  let index = 0;
  let opener = null;
  let retried = new Set();

  function show(i) {
    index = (i + items.length) % items.length;
    const im = items[index];
    const n = im.number ? `${im.number}. ` : '';
    title.textContent = `${n}${imageName(im)}`;
    caption.textContent = captionOf(im);
    caption.hidden = !captionOf(im);
    counter.textContent = `${index + 1} / ${items.length}`;
    prev.disabled = next.disabled = items.length < 2;
    img.hidden = true;
    message.hidden = false;
    message.textContent = '불러오는 중…';
    img.alt = altOf(im);
    img.dataset.key = im.s3_key;
    img.src = largeSrc(im);
  }

  img.addEventListener('load', () => {
    img.hidden = false;
    message.hidden = true;
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

  prev.addEventListener('click', () => show(index - 1));
  next.addEventListener('click', () => show(index + 1));
  close.addEventListener('click', () => el.close());
  el.addEventListener('click', (e) => { if (e.target === el) el.close(); });
  el.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowLeft') { e.preventDefault(); show(index - 1); }
    if (e.key === 'ArrowRight') { e.preventDefault(); show(index + 1); }
  });
  // A horizontal swipe of at least 40 px turns the page; a tap or a vertical scroll does not.
  let startX = null;
  let startY = 0;
  stage.addEventListener('pointerdown', (e) => { startX = e.clientX; startY = e.clientY; });
  stage.addEventListener('pointerup', (e) => {
    if (startX === null) return;
    const dx = e.clientX - startX;
    const dy = e.clientY - startY;
    startX = null;
    if (Math.abs(dx) >= 40 && Math.abs(dx) > Math.abs(dy) && items.length > 1) show(dx < 0 ? index + 1 : index - 1);
  });
  stage.addEventListener('pointercancel', () => { startX = null; });
  el.addEventListener('close', () => {
    img.removeAttribute('src');
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
      show(i);
      if (!el.open) el.showModal();
      close.focus();
    },
  };
}
