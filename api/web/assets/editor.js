// The photo editor, opened on a picked photo before it is sent: turn it a quarter, crop it, cover
// parts in solid black or pixelate them. The edit is burned into the pixels of a new JPEG (within
// the API's size limit, by shrink.js's encodeToFit); the unedited photo is never sent. The photo is
// decoded upright (EXIF orientation applied first), so what is drawn on is what is covered.
//
// Rectangles are drawn with a mouse or a finger (pointer events), or with the keyboard on the
// photo: an arrow key makes a rectangle in the middle, arrows move it, Shift+arrows resize it,
// Enter adds it with the chosen tool; Backspace or Ctrl+Z undoes the last change.
import {h} from './dom.js';
import {encodeToFit, jpgName} from './shrink.js';

const EDITABLE = new Set(['image/jpeg', 'image/png', 'image/webp']);
const TOOLS = {cover: '검게 가리기', pixelate: '모자이크', crop: '자르기'};

// canEdit says whether the editor opens on a file: a photo the rules accept and the browser can
// re-encode (not a GIF: it would lose its animation).
export function canEdit(file, rules) {
  const c = rules.check(file);
  return !c.error && EDITABLE.has(c.type);
}

// blockSize is the side of a pixelation block: at least 1/32 of the image's longer side.
export function blockSize(w, h) { return Math.max(1, Math.ceil(Math.max(w, h) / 32)); }

// editorDialog returns {el, edit(file, {maxBytes, index, count, replace})}; edit resolves to
// {action: 'apply', file, note} (the edited JPEG), {action: 'skip'} (send it as it is) or
// {action: 'cancel'} (do not send it).
export function editorDialog() {
  const title = h('h2', {id: 'editor-title'}, '사진 편집');
  const fileLine = h('p', {id: 'editor-file', class: 'hint'});
  const toolButtons = Object.entries(TOOLS).map(([t, label]) =>
    h('button', {type: 'button', class: 'small tool', dataset: {tool: t}, 'aria-pressed': 'false', onclick: () => setTool(t)}, label));
  const rotateB = h('button', {type: 'button', class: 'small', id: 'editor-rotate', onclick: () => rotate()}, '↻ 90° 회전');
  const undoB = h('button', {type: 'button', class: 'small', id: 'editor-undo', onclick: () => undo()}, '되돌리기');
  const resetB = h('button', {type: 'button', class: 'small', id: 'editor-reset', onclick: () => reset()}, '처음으로');
  const canvas = h('canvas', {id: 'editor-canvas', tabindex: 0, role: 'application', 'aria-label': '편집할 사진',
    'aria-describedby': 'editor-keys editor-summary'});
  const stage = h('div', {class: 'editor-stage'}, canvas);
  const summaryEl = h('p', {id: 'editor-summary', class: 'editor-summary'});
  const status = h('p', {id: 'editor-status', class: 'hint', role: 'status'});
  const keyEsc = h('span', {}, 'Esc는 이 사진을 올리지 않고 닫습니다.');
  const keys = h('p', {id: 'editor-keys', class: 'hint editor-keys'},
    '사진 위를 끌어서 네모를 그리면 고른 도구가 적용됩니다. 키보드: 사진에서 화살표 키를 누르면 가운데에 네모가 생기고, ',
    '화살표로 옮기고 Shift+화살표로 크기를 바꾸고 Enter로 적용합니다. Backspace 또는 Ctrl+Z는 되돌리기, ', keyEsc);
  const cancelB = h('button', {type: 'button', id: 'editor-cancel', onclick: () => finish({action: 'cancel'})}, '올리지 않기');
  const skipB = h('button', {type: 'button', id: 'editor-skip', onclick: () => finish({action: 'skip'})}, '건너뛰기 (그대로 올리기)');
  const applyB = h('button', {type: 'button', id: 'editor-apply', class: 'primary', onclick: () => apply()}, '적용하고 올리기');
  const el = h('dialog', {id: 'editor', class: 'editor', 'aria-labelledby': 'editor-title', 'aria-describedby': 'editor-file'},
    title, fileLine,
    h('div', {class: 'row editor-tools'},
      h('div', {class: 'row', role: 'group', 'aria-label': '그리기 도구'}, ...toolButtons),
      h('div', {class: 'row'}, rotateB, undoB, resetB)),
    stage, summaryEl, status, keys,
    h('div', {class: 'row end'}, cancelB, skipB, applyB));

  let file = null;
  let bmp = null;
  let maxBytes = 0;
  let resolve = () => {};
  let tool = 'cover';
  let st = {rot: 0, regions: [], crop: null}; // in the turned image's pixels
  let history = [];
  let draft = null; // the rectangle being drawn or moved with the keys
  let k = 1; // canvas pixels per image pixel
  let base = null; // the turned, edited photo at the canvas's size, drawn again only on a change
  let busy = false;
  let replacing = false; // editing a registered image: no "send as it is"

  const dims = () => (st.rot % 2 ? [bmp.height, bmp.width] : [bmp.width, bmp.height]);
  const clone = (s) => ({rot: s.rot, regions: s.regions.map((r) => ({...r})), crop: s.crop && {...s.crop}});

  function summary() {
    const n = (m) => st.regions.filter((r) => r.mode === m).length;
    const [W, H] = dims();
    return `가리기 ${n('cover')}곳 · 모자이크 ${n('pixelate')}곳 · 회전 ${st.rot * 90}° · ` +
      (st.crop ? `자르기 ${st.crop.w}×${st.crop.h}` : `자르지 않음 (${W}×${H})`);
  }
  function say(text) {
    summaryEl.textContent = summary();
    status.textContent = text;
    undoB.disabled = history.length === 0;
  }
  function change(fn, text) {
    history.push(clone(st));
    fn();
    draft = null;
    redraw(true);
    say(text);
  }

  function setTool(t) {
    tool = t;
    for (const b of toolButtons) b.setAttribute('aria-pressed', String(b.dataset.tool === t));
    canvas.dataset.tool = t;
    say(`도구: ${TOOLS[t]}.`);
  }

  // A clockwise quarter turn of a rectangle in an image W wide and H high.
  const turn = (r, H) => ({...r, x: H - r.y - r.h, y: r.x, w: r.h, h: r.w});
  function rotate() {
    change(() => {
      const [, H] = dims();
      st.regions = st.regions.map((r) => turn(r, H));
      if (st.crop) st.crop = turn(st.crop, H);
      st.rot = (st.rot + 1) % 4;
      fit();
    }, `시계 방향으로 90° 돌렸습니다.`);
  }
  function undo() {
    if (!history.length) return;
    st = history.pop();
    draft = null;
    fit();
    say('마지막 편집을 되돌렸습니다.');
  }
  function reset() {
    if (!history.length && !draft) return;
    history.push(clone(st));
    st = {rot: 0, regions: [], crop: null};
    draft = null;
    fit();
    say('편집을 모두 지웠습니다.');
  }

  function commit(r) {
    const [W, H] = dims();
    const c = clampRect(r, W, H);
    if (c.w < 2 || c.h < 2) return;
    if (tool === 'crop') {
      change(() => { st.crop = c; }, `${c.w}×${c.h}로 자릅니다.`);
    } else {
      change(() => { st.regions.push({...c, mode: tool}); }, `${TOOLS[tool]} 1곳을 더했습니다 (${where(c)}).`);
    }
  }
  const pct = (v, of) => Math.round((v / of) * 100);
  function where(r) {
    const [W, H] = dims();
    return `왼쪽에서 ${pct(r.x, W)}%, 위에서 ${pct(r.y, H)}%, 크기 ${pct(r.w, W)}%×${pct(r.h, H)}%`;
  }

  // render draws the turned photo with its covers and pixelations at scale s onto a new canvas.
  function render(s) {
    const [W, H] = dims();
    const c = document.createElement('canvas');
    c.width = Math.max(1, Math.round(W * s));
    c.height = Math.max(1, Math.round(H * s));
    const ctx = c.getContext('2d', {willReadFrequently: true});
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.save();
    if (st.rot === 1) ctx.translate(c.width, 0);
    if (st.rot === 2) ctx.translate(c.width, c.height);
    if (st.rot === 3) ctx.translate(0, c.height);
    ctx.rotate((st.rot * Math.PI) / 2);
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bmp, 0, 0, bmp.width * s, bmp.height * s);
    ctx.restore();
    const B = blockSize(W, H);
    for (const r of st.regions) {
      if (r.mode === 'cover') {
        ctx.fillStyle = '#000';
        ctx.fillRect(Math.floor(r.x * s), Math.floor(r.y * s), Math.ceil(r.w * s) + 1, Math.ceil(r.h * s) + 1);
      } else {
        // Whole blocks of the photo's pixels, grown from the rectangle, at the canvas's scale.
        const nx = Math.ceil(r.w / B);
        const ny = Math.ceil(r.h / B);
        pixelate(ctx, r.x * s, r.y * s, nx * B * s, ny * B * s, nx, ny);
      }
    }
    return c;
  }

  // fit sizes the canvas to what the screen leaves for it, then draws.
  function fit() {
    if (!bmp) return;
    const [W, H] = dims();
    canvas.style.width = '0px';
    canvas.style.height = '0px';
    const others = el.offsetHeight;
    const availW = Math.max(100, stage.clientWidth);
    const availH = Math.max(140, window.innerHeight * 0.96 - others - 8);
    const css = Math.min(availW / W, availH / H, 2);
    const dpr = window.devicePixelRatio || 1;
    canvas.style.width = `${Math.round(W * css)}px`;
    canvas.style.height = `${Math.round(H * css)}px`;
    canvas.width = Math.max(1, Math.round(W * css * dpr));
    canvas.height = Math.max(1, Math.round(H * css * dpr));
    k = canvas.width / W;
    canvas.setAttribute('aria-label', `편집할 사진 (${W}×${H})`);
    redraw(true);
  }

  function redraw(again) {
    if (!bmp) return;
    if (again || !base) base = render(k);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(base, 0, 0, canvas.width, canvas.height);
    const line = Math.max(1, Math.round(canvas.width / 400));
    if (st.crop) {
      const c = st.crop;
      ctx.fillStyle = 'rgba(0, 0, 0, .55)';
      ctx.beginPath();
      ctx.rect(0, 0, canvas.width, canvas.height);
      ctx.rect(c.x * k, c.y * k, c.w * k, c.h * k);
      ctx.fill('evenodd');
      ctx.strokeStyle = '#fff';
      ctx.lineWidth = line * 2;
      ctx.setLineDash([]);
      ctx.strokeRect(c.x * k, c.y * k, c.w * k, c.h * k);
    }
    const [W0, H0] = dims();
    const B = blockSize(W0, H0);
    for (const r of st.regions) {
      const grow = (v) => (r.mode === 'pixelate' ? Math.ceil(v / B) * B : v);
      ctx.strokeStyle = r.mode === 'cover' ? '#f59e0b' : '#38bdf8';
      ctx.lineWidth = line;
      ctx.setLineDash([]);
      ctx.strokeRect(r.x * k, r.y * k, grow(r.w) * k, grow(r.h) * k);
    }
    if (draft) {
      const [W, H] = dims();
      const d = clampRect(draft, W, H);
      ctx.lineWidth = line * 2;
      ctx.setLineDash([line * 6, line * 4]);
      ctx.strokeStyle = '#fff';
      ctx.strokeRect(d.x * k, d.y * k, d.w * k, d.h * k);
      ctx.lineDashOffset = line * 5;
      ctx.strokeStyle = '#000';
      ctx.strokeRect(d.x * k, d.y * k, d.w * k, d.h * k);
      ctx.lineDashOffset = 0;
    }
  }

  // Pointer: mouse, pen or finger draws a rectangle; it is applied when let go.
  let start = null;
  const at = (e) => {
    const b = canvas.getBoundingClientRect();
    const [W, H] = dims();
    return [clamp(((e.clientX - b.left) / b.width) * W, 0, W), clamp(((e.clientY - b.top) / b.height) * H, 0, H)];
  };
  canvas.addEventListener('pointerdown', (e) => {
    if (!bmp || busy || e.button > 0) return;
    e.preventDefault();
    canvas.focus({preventScroll: true});
    try { canvas.setPointerCapture(e.pointerId); } catch { /* a synthetic pointer */ }
    start = at(e);
    draft = {x: start[0], y: start[1], w: 0, h: 0};
    redraw(false);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!start) return;
    const [x, y] = at(e);
    draft = {x: Math.min(x, start[0]), y: Math.min(y, start[1]), w: Math.abs(x - start[0]), h: Math.abs(y - start[1])};
    redraw(false);
  });
  const end = (e) => {
    if (!start) return;
    const [x, y] = at(e);
    const r = {x: Math.min(x, start[0]), y: Math.min(y, start[1]), w: Math.abs(x - start[0]), h: Math.abs(y - start[1])};
    start = null;
    draft = null;
    const [W, H] = dims();
    if (r.w >= Math.max(W, H) / 200 && r.h >= Math.max(W, H) / 200) commit(r);
    else redraw(false);
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', () => { start = null; draft = null; redraw(false); });

  // Keyboard: arrows make, move and (with Shift) resize the rectangle; Enter applies it.
  canvas.addEventListener('keydown', (e) => {
    if (!bmp || busy) return;
    const [W, H] = dims();
    const step = Math.max(1, Math.round(Math.max(W, H) / 80));
    const arrows = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1]};
    if (arrows[e.key]) {
      e.preventDefault();
      if (!draft) {
        draft = {x: Math.round(W * 3 / 8), y: Math.round(H * 3 / 8), w: Math.round(W / 4), h: Math.round(H / 4)};
      } else {
        const [dx, dy] = arrows[e.key];
        if (e.shiftKey) {
          draft.w = clamp(draft.w + dx * step, step, W - draft.x);
          draft.h = clamp(draft.h + dy * step, step, H - draft.y);
        } else {
          draft.x = clamp(draft.x + dx * step, 0, W - draft.w);
          draft.y = clamp(draft.y + dy * step, 0, H - draft.h);
        }
      }
      redraw(false);
      status.textContent = `네모: ${where(draft)}. Enter로 ${TOOLS[tool]}.`;
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      if (draft) commit(draft);
    } else if (e.key === 'Backspace' || e.key === 'Delete' || (e.key === 'z' && (e.ctrlKey || e.metaKey))) {
      e.preventDefault();
      undo();
    }
  });

  window.addEventListener('resize', () => { if (el.open) fit(); });
  el.addEventListener('cancel', (e) => { e.preventDefault(); if (!busy) finish({action: 'cancel'}); });

  async function apply() {
    if (busy) return;
    if (!history.length && !st.regions.length) {
      // Nothing was changed: the photo goes as it is.
      finish({action: 'skip'});
      return;
    }
    busy = true;
    for (const b of el.querySelectorAll('button')) b.disabled = true;
    status.textContent = '편집한 사진을 만드는 중…';
    try {
      const full = render(1);
      let out = full;
      if (st.crop) {
        const c = st.crop;
        out = document.createElement('canvas');
        out.width = c.w;
        out.height = c.h;
        out.getContext('2d').drawImage(full, c.x, c.y, c.w, c.h, 0, 0, c.w, c.h);
      }
      const blob = await encodeToFit(out, maxBytes);
      const edited = new File([blob], jpgName(file.name), {type: 'image/jpeg', lastModified: file.lastModified});
      finish({action: 'apply', file: edited, note: `편집해서 올렸습니다 (${summary()}).`});
    } catch (e) {
      status.textContent = e.message;
    } finally {
      busy = false;
      for (const b of el.querySelectorAll('button')) b.disabled = false;
      undoB.disabled = history.length === 0;
    }
  }

  function finish(result) {
    if (el.open) el.close();
    if (bmp) bmp.close();
    bmp = null;
    base = null;
    const r = resolve;
    resolve = () => {};
    r(result);
  }

  return {
    el,
    async edit(f, opts) {
      let b;
      try {
        b = await createImageBitmap(f, {imageOrientation: 'from-image'});
      } catch {
        return {action: 'skip', note: '사진을 열 수 없어 편집하지 못했습니다.'};
      }
      file = f;
      bmp = b;
      maxBytes = opts.maxBytes;
      st = {rot: 0, regions: [], crop: null};
      history = [];
      draft = null;
      replacing = !!opts.replace;
      title.textContent = opts.count > 1 ? `사진 편집 (${opts.index}/${opts.count})` : '사진 편집';
      fileLine.textContent = replacing
        ? `${f.name} · 등록된 사진을 편집합니다. 적용하면 편집한 사진으로 바꿀지 묻습니다.`
        : `${f.name} · 올리기 전에 가리거나 자르세요. 원본은 올라가지 않습니다.`;
      skipB.hidden = replacing;
      cancelB.textContent = replacing ? '취소' : '올리지 않기';
      applyB.textContent = replacing ? '적용' : '적용하고 올리기';
      keyEsc.textContent = replacing ? 'Esc는 편집을 취소합니다.' : 'Esc는 이 사진을 올리지 않고 닫습니다.';
      setTool('cover');
      el.showModal();
      fit();
      say(`${f.name}을(를) 열었습니다. 도구: ${TOOLS[tool]}.`);
      canvas.focus({preventScroll: true});
      return new Promise((res) => { resolve = res; });
    },
  };
}

function clamp(v, lo, hi) { return Math.min(hi, Math.max(lo, v)); }

// clampRect rounds a rectangle to whole pixels inside the image.
function clampRect(r, W, H) {
  const x = clamp(Math.round(r.x), 0, W);
  const y = clamp(Math.round(r.y), 0, H);
  return {x, y, w: clamp(Math.round(r.x + r.w), x, W) - x, h: clamp(Math.round(r.y + r.h), y, H) - y};
}

// pixelate replaces each of nx×ny blocks of the rectangle by its average colour. The blocks
// start at the rectangle's corner; the canvas's edge may cut the last ones.
export function pixelate(ctx, x, y, w, hgt, nx, ny) {
  const X = Math.round(x);
  const Y = Math.round(y);
  const R = Math.min(ctx.canvas.width, Math.round(x + w));
  const Bt = Math.min(ctx.canvas.height, Math.round(y + hgt));
  if (R <= X || Bt <= Y) return;
  const iw = R - X;
  const img = ctx.getImageData(X, Y, iw, Bt - Y);
  const d = img.data;
  const edge = (i, n, from, len) => Math.round(from + (i * len) / n);
  for (let j = 0; j < ny; j++) {
    const y0 = edge(j, ny, y, hgt) - Y;
    const y1 = Math.min(Bt, edge(j + 1, ny, y, hgt)) - Y;
    for (let i = 0; i < nx; i++) {
      const x0 = edge(i, nx, x, w) - X;
      const x1 = Math.min(R, edge(i + 1, nx, x, w)) - X;
      if (x1 <= x0 || y1 <= y0) continue;
      let r = 0; let g = 0; let b = 0; let n = 0;
      for (let yy = y0; yy < y1; yy++) {
        for (let xx = x0; xx < x1; xx++) {
          const p = (yy * iw + xx) * 4;
          r += d[p]; g += d[p + 1]; b += d[p + 2]; n++;
        }
      }
      r = Math.round(r / n); g = Math.round(g / n); b = Math.round(b / n);
      for (let yy = y0; yy < y1; yy++) {
        for (let xx = x0; xx < x1; xx++) {
          const p = (yy * iw + xx) * 4;
          d[p] = r; d[p + 1] = g; d[p + 2] = b; d[p + 3] = 255;
        }
      }
    }
  }
  ctx.putImageData(img, X, Y);
}
