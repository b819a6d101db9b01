// The professor/admin view of one scenario: upload (pick, drop, paste, or the phone's camera),
// name and caption each image (captions save themselves), arrange them (drag and drop, move
// up/down, or select several and move them to the top or the bottom), pin the representative,
// open any image large, delete one or several to the trash with one undo, and restore from it.
import {h, announce, errorBox, formatBytes, formatDate, josa, srOnly} from './dom.js';
import {request, listImages, scenarioPath, setToken, setReauth, onTokenChange} from './api.js';
import {fileRules} from './files.js';
import {uploadList, backoff, transient} from './uploads.js';
import {viewerDialog, imageName} from './viewer.js';
import {signInForm} from './signin.js';
import {editorDialog, canEdit} from './editor.js';

const REFRESH_MS = 3000;
// A caption saves itself this long after the last keystroke, and at once when the field is left.
const CAPTION_DEBOUNCE_MS = 1500;
// Bulk deletes and restores: one request per image, this many at a time.
const BULK_CONCURRENCY = 4;
const CAPTION_TEXT = {dirty: '저장하지 않음', saving: '저장 중…', saved: '저장됨', error: '저장하지 못함'};

// policy is the upload rules /patient-images/me returned.
export function renderProfessor(main, id, policy) {
  document.title = `시나리오 ${id} 이미지 관리 · medicpx`;
  const err = errorBox();
  const rules = fileRules(policy);
  const uploads = uploadList(id, () => reload(), rules);
  const input = h('input', {type: 'file', id: 'file-input', class: 'file-input', multiple: true, accept: rules.accept,
    'aria-describedby': 'upload-help'});
  // On phones the camera opens straight away; capture is ignored where there is no camera.
  const touch = matchMedia('(pointer: coarse)').matches || navigator.maxTouchPoints > 0;
  const camera = touch ? h('input', {type: 'file', id: 'camera-input', class: 'file-input', accept: 'image/*', capture: 'environment',
    'aria-label': '사진 촬영'}) : null;
  const drop = h('div', {class: 'drop', id: 'drop-zone'},
    h('p', {class: 'drop-title'}, touch ? '사진을 찍거나 파일을 고르세요' : '이미지 파일을 여기로 끌어다 놓거나 붙여 넣거나(Ctrl+V)'),
    input, camera,
    h('div', {class: 'row center'},
      h('label', {for: 'file-input', id: 'file-pick', class: 'button primary'}, '파일 선택 (여러 개 가능)'),
      touch ? h('label', {for: 'camera-input', id: 'camera-pick', class: 'button'}, '사진 촬영') : null),
    h('p', {id: 'upload-help', class: 'hint'}, rules.hint),
    h('label', {class: 'check', for: 'edit-before-upload'},
      h('input', {type: 'checkbox', id: 'edit-before-upload', 'aria-describedby': 'edit-help'}),
      '올리기 전에 사진 편집(가리기·자르기)'),
    h('p', {id: 'edit-help', class: 'hint'}, '켜면 고른 사진마다 편집 창이 열립니다. 편집한 사진만 올라가고, 원본은 이 브라우저를 떠나지 않습니다.'));
  const editor = editorDialog();
  const count = h('span', {id: 'image-count'});
  const gridErr = errorBox();
  const grid = h('ol', {id: 'images', class: 'grid', 'aria-labelledby': 'images-title'});
  // Several images at once: select them on their cards, then move or delete them together.
  const selectAll = h('input', {type: 'checkbox', id: 'select-all'});
  const selCount = h('span', {id: 'selection-count', class: 'selection-count'});
  const bulkTop = h('button', {type: 'button', id: 'bulk-top', class: 'small', 'aria-describedby': 'selection-count'}, '맨 위로');
  const bulkBottom = h('button', {type: 'button', id: 'bulk-bottom', class: 'small', 'aria-describedby': 'selection-count'}, '맨 아래로');
  const bulkDelete = h('button', {type: 'button', id: 'bulk-delete', class: 'small danger', 'aria-describedby': 'selection-count'}, '선택 삭제');
  const bulkClear = h('button', {type: 'button', id: 'bulk-clear', class: 'small'}, '선택 해제');
  const bulk = h('div', {id: 'bulk-bar', class: 'bulk-bar row', hidden: true},
    h('label', {class: 'check', for: 'select-all'}, selectAll, '모두 선택'), selCount,
    h('div', {class: 'row bulk-actions'}, bulkTop, bulkBottom, bulkDelete, bulkClear));
  const confirm = confirmDialog();
  const viewer = viewerDialog(refreshOne, {scenario: id, staff: true});
  const toast = h('div', {id: 'toast', class: 'toast', role: 'status', hidden: true});
  const trash = trashView(id, () => reload(), confirm);
  const reauth = reauthDialog(uploads);

  main.replaceChildren(
    h('p', {class: 'crumbs'}, h('a', {href: '/'}, '← 시나리오 선택')),
    h('h1', {}, `시나리오 ${id} 환자 이미지 관리`),
    err.el,
    h('section', {'aria-labelledby': 'upload-title'}, h('h2', {id: 'upload-title'}, '이미지 올리기'), drop, ...uploads.nodes),
    h('section', {'aria-labelledby': 'images-title'},
      h('h2', {id: 'images-title', tabindex: -1}, '등록된 이미지 ', count),
      h('p', {class: 'hint', id: 'order-help'}, '학생에게도 이 순서로 보입니다. 카드를 끌어 옮기거나 "위로"/"아래로" 단추로 순서를 바꾸세요. 여러 장은 "선택"한 뒤 한꺼번에 옮기거나 삭제할 수 있습니다.'),
      bulk, gridErr.el, grid),
    trash.el,
    confirm.el, viewer.el, reauth.el, editor.el, toast);
  setReauth(reauth.ask);

  let images = [];
  let repKey = '';
  const drafts = new Map(); // unsaved caption edits, by key: a redraw must not lose them
  const cardErrors = new Map(); // errors shown next to a card's controls, by key
  const deleting = new Set(); // keys whose delete is on its way
  const selected = new Set(); // keys selected for a bulk action
  const captionStates = new Map(); // key → 'dirty' | 'saving' | 'saved' | 'error', kept across redraws
  const captionJobs = new Map(); // key → {timer, inflight, again, failed}: one save at a time per image
  let refreshTimer = 0;
  let listFailures = 0; // listings in a row that met no connection
  let loading = Promise.resolve();

  // load lists the images and the representative together and redraws the grid.
  async function load() {
    clearTimeout(refreshTimer);
    grid.setAttribute('aria-busy', 'true');
    try {
      const [list, rep] = await Promise.all([
        listImages(id),
        request('GET', `${scenarioPath(id)}/image`),
      ]);
      err.clear();
      images = list.images || [];
      repKey = rep.image ? rep.image.s3_key : '';
      // Gone meanwhile (deleted in another tab): nothing to select or to save for it.
      const listed = new Set(images.map((im) => im.s3_key));
      for (const k of [...selected]) if (!listed.has(k)) selected.delete(k);
      for (const k of [...drafts.keys()]) if (!listed.has(k)) drafts.delete(k);
      draw();
      // Someone's upload is still being checked: look again shortly so it turns ready by itself.
      if (images.some((im) => im.status !== 'ready')) refreshTimer = setTimeout(reload, REFRESH_MS);
      listFailures = 0;
    } catch (e) {
      // Offline, the upload list already says so (and that it goes on by itself).
      if (!(transient(e) && !navigator.onLine)) err.show(e.message);
      // No connection or the server busy: look again by itself (backing off), so the banner and
      // the "확인 중…" cards do not stay after the network came back.
      if (transient(e)) refreshTimer = setTimeout(reload, backoff(Math.min(listFailures++, 4)));
    } finally {
      if (!saving) grid.setAttribute('aria-busy', 'false');
    }
  }
  window.addEventListener('online', () => reload());
  // reload runs loads one after another: a load that started before a change finishes first,
  // and the one asked for after the change then shows it.
  function reload() {
    loading = loading.then(load);
    return loading;
  }

  async function refreshOne(im) {
    await reload();
    return images.find((x) => x.s3_key === im.s3_key && x.status === 'ready') || null;
  }

  // numbered gives ready images their place among ready images: the same numbers students see.
  function numbered() {
    let n = 0;
    return images.map((im) => ({...im, number: im.status === 'ready' ? ++n : 0}));
  }

  function draw() {
    // Keep the keyboard where it was: the same control of the same card after the redraw.
    const active = document.activeElement;
    const focusKey = active && active.closest && active.closest('#images [data-key]') ? active.closest('[data-key]').dataset.key : '';
    const focusControl = active && active.dataset ? active.dataset.control : '';
    const sel = active && active.tagName === 'TEXTAREA' ? [active.selectionStart, active.selectionEnd] : null;

    const items = numbered();
    count.textContent = `(${items.length}개)`;
    if (items.length === 0) {
      grid.replaceChildren(h('li', {class: 'empty'}, '이 시나리오에는 아직 이미지가 없습니다. 위에서 이미지를 올려 주세요. (다른 시나리오를 열려던 것이라면 시나리오 ID를 확인해 주세요.)'));
    } else {
      grid.replaceChildren(...items.map((im, i) => card(im, i, items)));
    }
    updateBulk();
    if (focusKey && focusControl) {
      const again = grid.querySelector(`[data-key="${CSS.escape(focusKey)}"] [data-control="${focusControl}"]`);
      if (again) {
        again.focus({preventScroll: true});
        if (sel && again.setSelectionRange) again.setSelectionRange(sel[0], sel[1]);
      }
    }
  }

  function labelOf(im) { return im.number ? `이미지 ${im.number}` : '확인 중인 이미지'; }

  function showCardError(key, text) {
    cardErrors.set(key, text);
    const slot = grid.querySelector(`[data-key="${CSS.escape(key)}"] .card-error`);
    if (slot) {
      slot.textContent = text;
      slot.hidden = false;
    }
  }

  // Captions save themselves: CAPTION_DEBOUNCE_MS after the last keystroke and when the field is
  // left (blur), one request at a time per image; text typed while one is on its way is sent after
  // it. The card says "저장하지 않음", "저장 중…", "저장됨" or, with the API's reason beside the
  // controls, "저장하지 못함" (a refused text is not sent again by itself until it changes).
  function setCaptionState(key, state) {
    if (state) captionStates.set(key, state);
    else captionStates.delete(key);
    const li = grid.querySelector(`li[data-key="${CSS.escape(key)}"]`);
    if (!li) return;
    const span = li.querySelector('.caption-state');
    span.textContent = CAPTION_TEXT[state] || '';
    span.dataset.state = state || '';
    li.querySelector('[data-control=save-caption]').disabled = !drafts.has(key);
  }
  function captionJob(key) {
    if (!captionJobs.has(key)) captionJobs.set(key, {timer: 0, inflight: null, again: false, failed: null});
    return captionJobs.get(key);
  }
  function scheduleCaption(key) {
    const job = captionJob(key);
    clearTimeout(job.timer);
    job.timer = setTimeout(() => saveCaptionNow(key, false), CAPTION_DEBOUNCE_MS);
  }
  function saveCaptionNow(key, force) {
    const job = captionJob(key);
    clearTimeout(job.timer);
    if (job.inflight) {
      job.again = true;
      return job.inflight;
    }
    if (!drafts.has(key)) return Promise.resolve();
    const text = drafts.get(key);
    if (!force && job.failed === text) return Promise.resolve();
    const im = images.find((x) => x.s3_key === key);
    if (!im) return Promise.resolve();
    setCaptionState(key, 'saving');
    job.inflight = (async () => {
      try {
        const r = await request('PATCH', `${scenarioPath(id)}/images/${encodeURIComponent(im.filename)}`, {caption: text});
        job.failed = null;
        const i = images.findIndex((x) => x.s3_key === key);
        if (i >= 0) images[i] = {...images[i], caption: r.image.caption, label: r.image.label};
        if (drafts.get(key) === text) drafts.delete(key);
        if (cardErrors.delete(key)) {
          const slot = grid.querySelector(`[data-key="${CSS.escape(key)}"] .card-error`);
          if (slot) slot.hidden = true;
        }
        setCaptionState(key, drafts.has(key) ? 'dirty' : 'saved');
        announce('캡션을 저장했습니다.');
      } catch (e) {
        job.failed = text;
        setCaptionState(key, 'error');
        showCardError(key, e.message);
      } finally {
        job.inflight = null;
      }
      if (job.again) {
        job.again = false;
        await saveCaptionNow(key, false);
      }
    })();
    return job.inflight;
  }
  const captionsPending = () => drafts.size > 0 || [...captionJobs.values()].some((j) => j.inflight);
  // Unsaved caption text: the browser asks before the page is left; a page sent to the background
  // (a phone switching apps) saves it first.
  window.addEventListener('beforeunload', (e) => {
    if (!captionsPending()) return;
    e.preventDefault();
    e.returnValue = '';
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') for (const k of drafts.keys()) saveCaptionNow(k, false);
  });

  // The bulk bar: shown once there are images, its actions enabled while some are selected.
  function updateBulk() {
    const n = images.filter((im) => selected.has(im.s3_key)).length;
    bulk.hidden = images.length === 0;
    bulk.classList.toggle('active', n > 0);
    selCount.textContent = n ? `${n}개 선택됨` : '선택한 이미지 없음';
    for (const b of [bulkTop, bulkBottom, bulkDelete, bulkClear]) b.disabled = n === 0;
    selectAll.checked = n > 0 && n === images.length;
    selectAll.indeterminate = n > 0 && n < images.length;
  }
  function setSelection(keys) {
    selected.clear();
    for (const k of keys) selected.add(k);
    for (const li of grid.querySelectorAll('li[data-key]')) {
      const on = selected.has(li.dataset.key);
      li.classList.toggle('selected', on);
      const box = li.querySelector('input.pick');
      if (box) box.checked = on;
    }
    updateBulk();
  }
  selectAll.addEventListener('change', () => setSelection(selectAll.checked ? images.map((im) => im.s3_key) : []));
  bulkClear.addEventListener('click', () => { setSelection([]); selectAll.focus(); });
  const moveSelected = (toTop) => async () => {
    const picked = images.filter((im) => selected.has(im.s3_key)).map((im) => im.s3_key);
    if (picked.length === 0) return;
    const rest = images.map((im) => im.s3_key).filter((k) => !selected.has(k));
    await saveOrder(toTop ? [...picked, ...rest] : [...rest, ...picked],
      `선택한 이미지 ${picked.length}개를 맨 ${toTop ? '위로' : '아래로'} 옮겼습니다.`, '');
  };
  bulkTop.addEventListener('click', moveSelected(true));
  bulkBottom.addEventListener('click', moveSelected(false));
  // One confirmation for all; one request per image, BULK_CONCURRENCY at a time; one undo for
  // all that went to the trash. Images that could not be deleted stay, selected, with the reason.
  bulkDelete.addEventListener('click', async () => {
    const targets = images.filter((im) => selected.has(im.s3_key) && !deleting.has(im.s3_key));
    if (targets.length === 0) return;
    const first = images.find((x) => x.status === 'ready' && !selected.has(x.s3_key));
    if (!(await confirm.askMany(targets, targets.some((im) => im.s3_key === repKey), first ? imageName(first) : ''))) {
      bulkDelete.focus();
      return;
    }
    for (const im of targets) deleting.add(im.s3_key);
    bulkDelete.disabled = true;
    const results = await eachLimited(targets, BULK_CONCURRENCY,
      (im) => request('DELETE', `/patient-images/${encodeURIComponent(id)}?s3_key=${encodeURIComponent(im.s3_key)}`));
    const done = [];
    const failed = [];
    targets.forEach((im, i) => {
      deleting.delete(im.s3_key);
      if (results[i].ok) {
        done.push(im.s3_key);
        selected.delete(im.s3_key);
        drafts.delete(im.s3_key);
        cardErrors.delete(im.s3_key);
      } else {
        failed.push(results[i].error.message);
        cardErrors.set(im.s3_key, `삭제하지 못했습니다: ${results[i].error.message}`);
      }
    });
    await reload();
    trash.refresh();
    if (failed.length) {
      gridErr.show(`${targets.length}개 중 ${done.length}개를 휴지통으로 옮겼고, ${failed.length}개는 삭제하지 못했습니다: ${[...new Set(failed)].join(' / ')} 삭제하지 못한 이미지는 선택된 채로 남아 있습니다.`);
    } else {
      gridErr.clear();
    }
    if (done.length) showToast(`이미지 ${done.length}개를 휴지통으로 옮겼습니다.`, done, null);
    else bulkDelete.focus();
  });

  function card(im, index, items) {
    const key = im.s3_key;
    const label = labelOf(im);
    const name = imageName(im);
    const ready = im.status === 'ready';
    const isRep = key === repKey;
    const control = (c) => ({key, control: c});
    const alt = im.caption ? `${name}: ${im.caption}` : name;
    // The list as it is when opened: a caption saved since the last redraw is shown.
    const openLarge = (e) => {
      const list = numbered().filter((x) => x.status === 'ready');
      viewer.show(list, Math.max(0, list.findIndex((x) => x.s3_key === key)), e.currentTarget);
    };
    const pic = ready
      ? h('button', {type: 'button', class: 'pic', dataset: control('view'), onclick: openLarge},
        thumb(im.thumbnail_url, alt, () => reloadSoon()), srOnly(` 크게 보기`))
      : h('div', {class: 'placeholder'}, '확인 중…');

    const pin = h('button', {type: 'button', class: 'pin', dataset: control('pin'), disabled: !ready,
      'aria-pressed': isRep ? 'true' : 'false', 'aria-disabled': isRep ? 'true' : null,
      onclick: async () => {
        if (isRep || !ready) return;
        try {
          await request('PUT', `${scenarioPath(id)}/image`, {s3_key: key});
          cardErrors.delete(key);
          announce(`${josa(label, '을', '를')} 대표 이미지로 지정했습니다.`);
          await reload();
        } catch (e) {
          showCardError(key, e.message);
        }
      }}, isRep ? '대표 이미지' : '대표로 지정', srOnly(` (${label})`));

    const move = (delta) => async () => {
      const to = index + delta;
      if (to < 0 || to >= images.length) return;
      const keys = images.map((x) => x.s3_key);
      keys.splice(index, 1);
      keys.splice(to, 0, key);
      await saveOrder(keys, `${josa(name, '을', '를')} ${delta < 0 ? '위로' : '아래로'} 옮겼습니다.`, key);
    };
    const up = h('button', {type: 'button', class: 'move', dataset: control('up'), 'aria-disabled': index === 0 ? 'true' : null,
      onclick: move(-1)}, '↑ 위로', srOnly(` (${name})`));
    const down = h('button', {type: 'button', class: 'move', dataset: control('down'), 'aria-disabled': index === images.length - 1 ? 'true' : null,
      onclick: move(1)}, '↓ 아래로', srOnly(` (${name})`));

    const del = h('button', {type: 'button', class: 'danger delete', dataset: control('delete'), onclick: async () => {
      if (deleting.has(key)) return; // a second click while the first delete is on its way
      const next = images.find((x) => x.status === 'ready' && x.s3_key !== key);
      if (!(await confirm.ask(im, label, isRep, next ? imageName(next) : ''))) return;
      deleting.add(key);
      try {
        await request('DELETE', `/patient-images/${encodeURIComponent(id)}?s3_key=${encodeURIComponent(key)}`);
        cardErrors.delete(key);
        drafts.delete(key);
        // The same place in the list keeps the keyboard: the card that moved up into it.
        const pos = images.findIndex((x) => x.s3_key === key);
        await reload();
        const follower = grid.querySelectorAll('li[data-key] button.delete')[Math.min(pos, images.length - 1)];
        showToast(`${josa(`'${name}'`, '을', '를')} 휴지통으로 옮겼습니다.`, [key], follower);
        trash.refresh();
      } catch (e) {
        showCardError(key, e.message);
        del.focus();
      } finally {
        deleting.delete(key);
      }
    }}, '삭제', srOnly(` (${label})`));

    const captionId = `caption-${im.etag || index}-${index}`;
    const area = h('textarea', {id: captionId, class: 'caption-input', rows: 2, maxlength: policy.max_caption_chars, dataset: control('caption'),
      placeholder: '캡션 없음 (예: 촬영 부위, 소견)'});
    area.value = drafts.has(key) ? drafts.get(key) : (im.caption || '');
    const state = captionStates.get(key) || '';
    const saveCaption = h('button', {type: 'button', class: 'small', dataset: control('save-caption'), disabled: !drafts.has(key)},
      '캡션 저장', srOnly(` (${name})`));
    const captionState = h('span', {class: 'hint caption-state', dataset: {state}}, CAPTION_TEXT[state] || '');
    area.addEventListener('input', () => {
      const now = images.find((x) => x.s3_key === key);
      if (area.value === ((now && now.caption) || '')) drafts.delete(key);
      else drafts.set(key, area.value);
      setCaptionState(key, drafts.has(key) ? 'dirty' : '');
      scheduleCaption(key);
    });
    area.addEventListener('blur', () => saveCaptionNow(key, false));
    area.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); saveCaptionNow(key, true); }
    });
    saveCaption.addEventListener('click', () => saveCaptionNow(key, true));

    const pickId = `pick-${index}`;
    const pick = h('input', {type: 'checkbox', id: pickId, class: 'pick', dataset: control('select'), checked: selected.has(key)});
    pick.addEventListener('change', () => {
      if (pick.checked) selected.add(key);
      else selected.delete(key);
      pick.closest('li').classList.toggle('selected', pick.checked);
      updateBulk();
    });

    // Not for a GIF: the editor's JPEG would lose its animation.
    const editable = ready && !/\.gif$/i.test(im.filename || key);
    const edit = editable ? h('button', {type: 'button', class: 'edit', dataset: control('edit'),
      onclick: () => replaceEdited(im, label, isRep)}, '편집', srOnly(` (${label})`)) : null;

    const errText = cardErrors.get(key) || '';
    const li = h('li', {class: `tile${isRep ? ' rep' : ''}${selected.has(key) ? ' selected' : ''}`, draggable: 'true',
      dataset: {key, status: im.status, rep: String(isRep), number: String(im.number || '')}},
    pic,
    isRep ? h('span', {class: 'badge'}, '★ 대표') : null,
    h('label', {class: 'check pick-label', for: pickId}, pick, '선택', srOnly(` (${name})`)),
    h('p', {class: 'title'}, h('strong', {}, im.number ? `${im.number}. ` : ''), h('span', {class: 'name'}, name)),
    h('p', {class: 'meta hint'}, `${formatBytes(im.file_size)} · ${ready ? '확인 완료' : '확인 중'} · ${formatDate(im.last_modified)}`),
    h('label', {for: captionId, class: 'caption-label'}, '캡션', srOnly(` (${name})`)),
    area,
    h('div', {class: 'row caption-row'}, saveCaption, captionState),
    h('p', {class: 'error card-error', role: 'alert', hidden: !errText}, errText),
    h('div', {class: 'row actions'}, pin, up, down, edit, del));
    dragAndDrop(li, key);
    return li;
  }

  // replaceEdited opens a ready image's original in the editor; the edited photo is uploaded as a
  // new image that takes the old one's caption, note, place and pin, and the old one is deleted for good.
  const replacing = new Set();
  async function replaceEdited(im, label, isRep) {
    const oldKey = im.s3_key;
    if (replacing.has(oldKey)) return;
    const name = imageName(im);
    const focusBack = () => {
      const b = grid.querySelector(`[data-key="${CSS.escape(oldKey)}"] [data-control="edit"]`);
      if (b) b.focus();
    };
    let file;
    try {
      const res = await fetch(im.url);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const blob = await res.blob();
      file = new File([blob], name, {type: (blob.type || '').split(';')[0]});
    } catch {
      showCardError(oldKey, '원본을 불러오지 못해 편집할 수 없습니다. 페이지를 새로 고친 뒤 다시 시도해 주세요.');
      return;
    }
    if (!canEdit(file, rules)) {
      showCardError(oldKey, '이 형식의 이미지는 편집할 수 없습니다 (JPEG, PNG, WebP만 편집할 수 있습니다).');
      return;
    }
    const r = await editor.edit(file, {maxBytes: rules.maxBytes, replace: true});
    if (r.action !== 'apply') { focusBack(); return; }
    if (!(await confirm.askReplace(im, label, isRep))) { focusBack(); return; }
    replacing.add(oldKey);
    try {
      const {key: newKey, image} = await uploads.upload(r.file, r.note);
      // The caption and the staff note go with the image (one PATCH for both).
      const keep = {};
      if (im.caption) keep.caption = im.caption;
      if (im.note) keep.note = im.note;
      if (Object.keys(keep).length) {
        const fname = image && image.filename ? image.filename : newKey.slice(newKey.lastIndexOf('/') + 1);
        await request('PATCH', `${scenarioPath(id)}/images/${encodeURIComponent(fname)}`, keep);
      }
      await reload();
      const keys = images.map((x) => x.s3_key).filter((k) => k !== newKey);
      keys.splice(keys.indexOf(oldKey) + 1, 0, newKey);
      await request('PUT', `${scenarioPath(id)}/order`, {s3_keys: keys});
      if (isRep) await request('PUT', `${scenarioPath(id)}/image`, {s3_key: newKey});
      await request('DELETE', `/patient-images/${encodeURIComponent(id)}?s3_key=${encodeURIComponent(oldKey)}&permanent=true`);
      cardErrors.delete(oldKey);
      drafts.delete(oldKey);
      await reload();
      announce(`${josa(label, '을', '를')} 편집한 사진으로 바꿨습니다.`);
      const b = grid.querySelector(`[data-key="${CSS.escape(newKey)}"] [data-control="edit"]`);
      if (b) b.focus();
    } catch (e) {
      showCardError(oldKey, `편집한 사진으로 바꾸지 못했습니다: ${e.message}`);
      err.show(`편집한 사진으로 바꾸지 못했습니다: ${e.message}`);
      focusBack();
    } finally {
      replacing.delete(oldKey);
    }
  }

  function thumb(src, alt, onGone) {
    const img = h('img', {src, alt, loading: 'lazy', draggable: 'false'});
    // Never a broken icon: an expired or deleted image says so, and the list is asked again.
    img.addEventListener('error', () => {
      img.replaceWith(h('span', {class: 'placeholder'}, '이미지를 다시 불러오는 중…'));
      onGone();
    }, {once: true});
    return img;
  }

  let soon = 0;
  function reloadSoon() {
    if (soon) return;
    soon = setTimeout(() => { soon = 0; reload(); }, 500);
  }

  let saving = 0;
  async function saveOrder(keys, message, focusKey) {
    const before = images;
    saving++;
    grid.setAttribute('aria-busy', 'true');
    images = keys.map((k) => images.find((x) => x.s3_key === k)).filter(Boolean);
    draw();
    try {
      await request('PUT', `${scenarioPath(id)}/order`, {s3_keys: keys});
      gridErr.clear();
      announce(message);
      await reload();
    } catch (e) {
      images = before;
      draw();
      if (focusKey) showCardError(focusKey, e.message);
      else gridErr.show(e.message);
    } finally {
      if (--saving === 0) grid.setAttribute('aria-busy', 'false');
    }
  }

  // Drag and drop among cards. Touch screens use the move buttons: a drag there scrolls.
  let dragged = '';
  function dragAndDrop(li, key) {
    li.addEventListener('dragstart', (e) => {
      if (e.target.closest('textarea, button')) { e.preventDefault(); return; }
      dragged = key;
      e.dataTransfer.effectAllowed = 'move';
      e.dataTransfer.setData('application/x-medicpx-key', key);
      li.classList.add('dragging');
    });
    li.addEventListener('dragend', () => { dragged = ''; li.classList.remove('dragging'); clearMarks(); });
    li.addEventListener('dragover', (e) => {
      if (!dragged || dragged === key) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'move';
      clearMarks();
      li.classList.add(after(li, e) ? 'drop-after' : 'drop-before');
    });
    li.addEventListener('drop', (e) => {
      if (!dragged || dragged === key) return;
      e.preventDefault();
      e.stopPropagation();
      const keys = images.map((x) => x.s3_key).filter((k) => k !== dragged);
      const at = keys.indexOf(key) + (after(li, e) ? 1 : 0);
      keys.splice(at, 0, dragged);
      const moved = images.find((x) => x.s3_key === dragged);
      dragged = '';
      clearMarks();
      saveOrder(keys, `${josa(moved ? imageName(moved) : '이미지', '을', '를')} 옮겼습니다.`, '');
    });
  }
  const after = (li, e) => {
    const r = li.getBoundingClientRect();
    return e.clientX > r.left + r.width / 2;
  };
  const clearMarks = () => grid.querySelectorAll('.drop-before, .drop-after').forEach((x) => x.classList.remove('drop-before', 'drop-after'));

  // showToast offers to undo a delete, for as long as the person keeps it open.
  let toastTimer = 0;
  const hideToastLater = () => {
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { if (!toast.contains(document.activeElement)) toast.hidden = true; }, 20000);
  };
  toast.addEventListener('focusout', hideToastLater);
  function showToast(text, keys, focusAfter) {
    clearTimeout(toastTimer);
    const undo = h('button', {type: 'button', id: 'undo-delete', class: 'small primary'}, '되돌리기');
    const close = h('button', {type: 'button', class: 'small', 'aria-label': '알림 닫기'}, '닫기');
    const err2 = h('span', {class: 'toast-error', role: 'alert'});
    toast.replaceChildren(h('span', {}, text), undo, close, err2);
    toast.hidden = false;
    let left = keys.slice(); // what the undo has still to bring back
    undo.addEventListener('click', async () => {
      undo.disabled = true;
      const results = await eachLimited(left, BULK_CONCURRENCY,
        (key) => request('POST', `${scenarioPath(id)}/trash/restore`, {s3_key: key}));
      const back = left.filter((_, i) => results[i].ok);
      const failed = results.filter((r) => !r.ok).map((r) => r.error.message);
      left = left.filter((_, i) => !results[i].ok);
      await reload();
      trash.refresh();
      if (failed.length === 0) {
        toast.hidden = true;
        announce(keys.length === 1 && results[0] ? (results[0].value.message || '되살렸습니다.') : `이미지 ${keys.length}개를 되살렸습니다.`);
        const again = grid.querySelector(`[data-key="${CSS.escape(keys[0])}"] [data-control="delete"]`);
        if (again) again.focus();
        return;
      }
      undo.disabled = false;
      err2.textContent = keys.length === 1
        ? failed[0]
        : `${keys.length}개 중 ${keys.length - left.length}개를 되살렸고, ${left.length}개는 되살리지 못했습니다: ${[...new Set(failed)].join(' / ')} "되돌리기"를 다시 누르면 남은 것만 다시 시도합니다.`;
      if (back.length) announce(err2.textContent);
    });
    close.addEventListener('click', () => { toast.hidden = true; (focusAfter || document.getElementById('images-title')).focus(); });
    hideToastLater();
    if (focusAfter && focusAfter.isConnected) focusAfter.focus();
    else undo.focus();
  }

  // Files from the picker, the camera, a drop or a paste. With "edit before upload" on, each photo
  // opens in the editor in turn and is sent when it is applied or skipped (not when cancelled);
  // files the editor cannot open go as they are.
  let editing = Promise.resolve();
  function take(list) {
    const files = [...list];
    const editBox = document.getElementById('edit-before-upload');
    if (!editBox.checked || !files.some((f) => canEdit(f, rules))) { uploads.take(files); return; }
    editing = editing.then(async () => {
      uploads.take(files.filter((f) => !canEdit(f, rules)));
      const photos = files.filter((f) => canEdit(f, rules));
      for (const [i, f] of photos.entries()) {
        const r = await editor.edit(f, {maxBytes: rules.maxBytes, index: i + 1, count: photos.length});
        if (r.action === 'apply') uploads.take([r.file], r.note);
        else if (r.action === 'skip') uploads.take([f], r.note || '');
        else announce(`${f.name}: 올리지 않았습니다.`);
      }
      editBox.focus();
    }).catch((e) => err.show(e.message));
  }
  input.addEventListener('change', () => { take(input.files); input.value = ''; });
  if (camera) camera.addEventListener('change', () => { take(camera.files); camera.value = ''; });
  for (const ev of ['dragenter', 'dragover']) {
    drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add('over'); });
  }
  drop.addEventListener('dragleave', (e) => { if (!drop.contains(e.relatedTarget)) drop.classList.remove('over'); });
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    take(e.dataTransfer.files);
  });
  // A file dropped next to the zone must not replace the page with the image.
  for (const ev of ['dragover', 'drop']) window.addEventListener(ev, (e) => { if (!dragged) e.preventDefault(); });
  // A screenshot or a copied image, pasted anywhere on the page but into a text field.
  document.addEventListener('paste', (e) => {
    if (e.target.closest && e.target.closest('textarea, input')) return;
    const files = [...(e.clipboardData ? e.clipboardData.files : [])];
    if (files.length === 0) return;
    e.preventDefault();
    const stamp = localStamp(new Date());
    take(files.map((f, i) => {
      // Pasted images are all called "image.png": give each a name a person can tell apart.
      if (f.name && f.name !== 'image.png') return f;
      const ext = (f.type.split('/')[1] || 'png').replace('jpeg', 'jpg');
      return new File([f], `붙여넣은 이미지 ${stamp}${files.length > 1 ? ` (${i + 1})` : ''}.${ext}`, {type: f.type});
    }));
  });

  onTokenChange((t) => { if (t) reauth.tokenArrived(t); });

  reload();
  uploads.showRejections().catch((e) => err.show(e.message));
}

// localStamp is the time as the person's own clock shows it (a Seoul browser's screenshot is
// named in Seoul time), in a form a file name can hold: 2026-12-02 12-05-09.
export function localStamp(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
}

// eachLimited runs fn on every item, at most limit at a time, and resolves (never rejects) to
// one {ok, value} or {ok: false, error} per item, in the items' order.
async function eachLimited(list, limit, fn) {
  const out = new Array(list.length);
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const i = next++;
      try {
        out[i] = {ok: true, value: await fn(list[i])};
      } catch (error) {
        out[i] = {ok: false, error};
      }
    }
  };
  await Promise.all(Array.from({length: Math.min(limit, list.length)}, worker));
  return out;
}

// reauthDialog asks for a new sign-in on the page when the token expires mid-batch: uploads on
// their way to S3 finish first (their URLs need no token), then the dialog opens; the list, its
// results and the queue stay, and the requests that were refused are sent again.
function reauthDialog(uploads) {
  const msg = h('p', {id: 'reauth-text'});
  const body = h('div', {class: 'reauth-body'});
  const el = h('dialog', {id: 'reauth', 'aria-labelledby': 'reauth-title', 'aria-describedby': 'reauth-text'},
    h('h2', {id: 'reauth-title'}, '다시 로그인해 주세요'), msg, body);
  el.addEventListener('cancel', (e) => e.preventDefault()); // nothing can continue without it
  let pending = null;
  let resolve = () => {};
  const done = (tok) => {
    setToken(tok);
    if (el.open) el.close();
    announce('다시 로그인했습니다. 남은 업로드를 계속합니다.');
    const r = resolve;
    pending = null;
    r();
  };
  return {
    el,
    ask(detail) {
      if (pending) return pending;
      pending = new Promise((res) => { resolve = res; });
      const open = async () => {
        if (uploads.running()) {
          // Shown, not announced: the dialog's description says the token expired when it opens,
          // and a screen reader hearing it twice is what issue 10 asked to end.
          uploads.notice('로그인이 만료되었습니다. 저장소로 가는 중인 업로드를 마친 뒤 다시 로그인을 요청합니다.');
          await uploads.putsIdle();
          uploads.notice('');
        }
        if (!pending) return; // another tab signed in meanwhile
        msg.textContent = `${detail} 올리던 파일과 결과는 이 페이지에 그대로 남아 있고, 로그인하면 이어서 진행합니다.`;
        body.replaceChildren(...signInForm((tok) => done(tok), 'reauth-').parts);
        el.showModal();
        const first = el.querySelector('textarea');
        if (first) first.focus();
      };
      open();
      return pending;
    },
    tokenArrived(tok) { if (pending) done(tok); },
  };
}

// confirmDialog asks before deleting (to the trash, or for good from it) and before an edited
// photo replaces a registered one, with the image shown; Esc or 취소 keeps it.
function confirmDialog() {
  const title = h('h2', {id: 'confirm-title'}, '이미지를 삭제할까요?');
  const ok = h('button', {type: 'submit', value: 'delete', id: 'confirm-ok', class: 'danger'}, '삭제');
  const pic = h('div', {class: 'confirm-pic'});
  const text = h('p', {id: 'confirm-text'});
  const warn = h('p', {id: 'confirm-rep', class: 'notice warn'});
  const el = h('dialog', {id: 'confirm-delete', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text confirm-rep'},
    h('form', {method: 'dialog'},
      title,
      pic, text, warn,
      h('div', {class: 'row end'},
        h('button', {type: 'submit', value: 'cancel', id: 'confirm-cancel', autofocus: true}, '취소'),
        ok)));
  let current = null;
  return {
    el,
    ask(im, label, isRep, nextName, permanent = false) {
      if (el.open) return Promise.resolve(false); // one question at a time
      const name = imageName(im);
      title.textContent = permanent ? '이미지를 완전히 삭제할까요?' : '이미지를 삭제할까요?';
      ok.textContent = permanent ? '완전히 삭제' : '삭제';
      text.textContent = permanent
        ? `${josa(label, '을', '를')} 완전히 삭제합니다. 원본과 썸네일, 이름과 캡션이 모두 지워지고 되돌릴 수 없습니다.`
        : `${josa(label, '을', '를')} 휴지통으로 옮깁니다. 30일 안에는 되돌릴 수 있습니다.`;
      warn.hidden = !isRep;
      warn.textContent = isRep
        ? (nextName ? `이 이미지는 대표 이미지입니다. 삭제하면 목록의 첫 이미지('${nextName}')가 대표 이미지가 됩니다.`
          : '이 이미지는 대표 이미지입니다. 삭제하면 대표 이미지가 없어집니다.')
        : '';
      pic.replaceChildren(im.thumbnail_url ? h('img', {src: im.thumbnail_url, alt: name}) : '', h('p', {class: 'hint'}, name));
      return open();
    },
    // askMany asks once before several images go to the trash.
    askMany(list, hasRep, nextName) {
      if (el.open) return Promise.resolve(false);
      title.textContent = `이미지 ${list.length}개를 삭제할까요?`;
      ok.textContent = `${list.length}개 삭제`;
      text.textContent = list.length === 1
        ? '선택한 이미지 1개를 휴지통으로 옮깁니다. 30일 안에는 되돌릴 수 있습니다.'
        : `선택한 이미지 ${list.length}개를 휴지통으로 옮깁니다. 30일 안에는 되돌릴 수 있고, 삭제한 뒤 "되돌리기" 한 번으로 모두 되살릴 수 있습니다.`;
      warn.hidden = !hasRep;
      warn.textContent = hasRep
        ? (nextName ? `선택한 이미지 중 대표 이미지가 있습니다. 삭제하면 남은 첫 이미지('${nextName}')가 대표 이미지가 됩니다.`
          : '선택한 이미지 중 대표 이미지가 있습니다. 삭제하면 대표 이미지가 없어집니다.')
        : '';
      const shown = list.slice(0, 8);
      pic.replaceChildren(h('ul', {class: 'confirm-many'}, shown.map((im) => h('li', {},
        im.thumbnail_url ? h('img', {src: im.thumbnail_url, alt: imageName(im)}) : h('span', {class: 'placeholder'}, imageName(im))))),
      h('p', {class: 'hint'}, list.length > shown.length ? `${shown.map(imageName).join(', ')} 외 ${list.length - shown.length}개` : list.map(imageName).join(', ')));
      return open();
    },
    // askReplace asks before an edited photo replaces a registered one.
    askReplace(im, label, isRep) {
      if (el.open) return Promise.resolve(false);
      const name = imageName(im);
      title.textContent = '편집한 사진으로 바꿀까요?';
      ok.textContent = '바꾸기';
      text.textContent = `편집한 사진을 새로 올리고 ${label}의 캡션과 순서${isRep ? ', 대표 이미지 지정' : ''}을 옮긴 뒤, 원래 사진은 완전히 삭제합니다. 되돌릴 수 없습니다.`;
      warn.hidden = false;
      warn.textContent = '원래 사진의 링크(s3_url)는 더 이상 열리지 않습니다. 그 링크를 다른 곳에 붙여 두었다면 새 링크로 바꿔야 합니다.';
      pic.replaceChildren(im.thumbnail_url ? h('img', {src: im.thumbnail_url, alt: name}) : '', h('p', {class: 'hint'}, name));
      return open();
    },
  };
  // open shows the question and resolves to whether it was confirmed.
  function open() {
    el.returnValue = '';
    el.showModal();
    const question = {};
    current = question;
    return new Promise((resolve) => {
      const onClose = () => {
        // The close event is queued: one from a previous question can arrive after this one
        // opened. Only a close that left the dialog shut answers a question, and only the
        // current one: an earlier question whose close came late was cancelled (answering it
        // "delete" too would send the delete twice).
        if (el.open) return;
        el.removeEventListener('close', onClose);
        resolve(question === current && el.returnValue === 'delete');
      };
      el.addEventListener('close', onClose);
    });
  }
}

// trashView lists deleted images (kept 30 days), restores them, and deletes them for good.
function trashView(id, onRestored, confirm) {
  const list = h('ul', {id: 'trash-list', class: 'trash'});
  const err = errorBox();
  const toggle = h('button', {type: 'button', id: 'trash-toggle', 'aria-expanded': 'false', 'aria-controls': 'trash-body'}, '휴지통 보기');
  const body = h('div', {id: 'trash-body', hidden: true}, h('p', {class: 'hint'}, '삭제한 이미지는 30일 동안 여기에 남고, 그 뒤에 완전히 지워집니다.'), err.el, list);
  const el = h('section', {'aria-labelledby': 'trash-title', class: 'trash-section'}, h('h2', {id: 'trash-title'}, '휴지통'), toggle, body);
  let open = false;
  async function refresh() {
    if (!open) return;
    try {
      const data = await request('GET', `${scenarioPath(id)}/trash`);
      err.clear();
      toggle.textContent = `휴지통 닫기 (${data.total_count}개)`;
      if (!data.images.length) {
        list.replaceChildren(h('li', {class: 'empty'}, '휴지통이 비어 있습니다.'));
        return;
      }
      list.replaceChildren(...data.images.map((im) => {
        const name = imageName(im);
        const restore = h('button', {type: 'button', class: 'small', dataset: {key: im.s3_key, control: 'restore'}}, '되살리기', srOnly(` (${name})`));
        const rowErr = h('p', {class: 'error', role: 'alert', hidden: true});
        restore.addEventListener('click', async () => {
          restore.disabled = true;
          try {
            const r = await request('POST', `${scenarioPath(id)}/trash/restore`, {s3_key: im.s3_key});
            announce(r.message);
            await onRestored();
            await refresh();
            toggle.focus();
          } catch (e) {
            restore.disabled = false;
            rowErr.textContent = e.message;
            rowErr.hidden = false;
          }
        });
        const purge = h('button', {type: 'button', class: 'small danger', dataset: {key: im.s3_key, control: 'purge'}}, '완전히 삭제', srOnly(` (${name})`));
        purge.addEventListener('click', async () => {
          if (!(await confirm.ask(im, name, false, '', true))) {
            purge.focus();
            return;
          }
          purge.disabled = true;
          try {
            const r = await request('DELETE', `${scenarioPath(id)}/trash?s3_key=${encodeURIComponent(im.s3_key)}`);
            announce(r.message);
            await refresh();
            toggle.focus();
          } catch (e) {
            purge.disabled = false;
            rowErr.textContent = e.message;
            rowErr.hidden = false;
          }
        });
        return h('li', {class: 'trash-item', dataset: {key: im.s3_key}},
          im.thumbnail_url ? h('img', {src: im.thumbnail_url, alt: name, loading: 'lazy'}) : h('span', {class: 'placeholder'}, '미리보기 없음'),
          h('div', {},
            h('p', {class: 'title'}, name),
            im.caption ? h('p', {class: 'hint'}, im.caption) : null,
            h('p', {class: 'hint'}, `${formatDate(im.deleted_at)} 삭제 · ${formatDate(im.expires_at)}에 완전히 지워짐`),
            h('div', {class: 'row'}, restore, purge), rowErr));
      }));
    } catch (e) {
      err.show(e.message);
    }
  }
  toggle.addEventListener('click', () => {
    open = !open;
    toggle.setAttribute('aria-expanded', String(open));
    body.hidden = !open;
    toggle.textContent = open ? '휴지통 닫기' : '휴지통 보기';
    refresh();
  });
  return {el, refresh};
}
